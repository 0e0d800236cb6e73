"""list sort keys: a non-null ``sort_at`` on items and item_topics, and the indexes lists walk

``items.sort_at`` is the item's published date, else its creation date; ``item_topics.sort_at``
copies its item's. Lists order by ``(sort_at, id)`` descending: with no null to place, every list
(all items; by state, source, community, topic; and state with source or community) is one walk of
one index, on SQLite and PostgreSQL alike, and a keyset page starts where the index says.

Columns are added in place (``ALTER TABLE``, no batch copy, so the ``items_fts_*`` triggers of 0002
stay): SQLite adds a NOT NULL column only with a default, which the update right after replaces.
The single-column indexes on state, brand and community are dropped: the composites start with them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EPOCH = "1970-01-01 00:00:00.000000"
NEW_INDEXES = {
    "items": {
        "ix_items_sort": ["sort_at", "id"],
        "ix_items_state_sort": ["state", "sort_at", "id"],
        "ix_items_brand_sort": ["brand", "sort_at", "id"],
        "ix_items_community_sort": ["community", "sort_at", "id"],
        "ix_items_state_brand_sort": ["state", "brand", "sort_at", "id"],
        "ix_items_state_community_sort": ["state", "community", "sort_at", "id"],
    },
    "item_topics": {"ix_item_topics_label_sort": ["label_key", "sort_at", "item_id"]},
}
OLD_INDEXES = {
    "items": {
        "ix_items_state_published": ["state", "published_at", "id"],
        "ix_items_state": ["state"],
        "ix_items_brand": ["brand"],
        "ix_items_community": ["community"],
    },
    "item_topics": {"ix_item_topics_label_key": ["label_key"]},
}


def _add_sort_columns(dialect: str) -> None:
    for table in ("items", "item_topics"):
        if dialect == "sqlite":
            op.execute(f"ALTER TABLE {table} ADD COLUMN sort_at DATETIME NOT NULL DEFAULT '{EPOCH}'")
        else:
            op.add_column(table, sa.Column("sort_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE items SET sort_at = coalesce(published_at, created_at)")
    op.execute(
        "UPDATE item_topics SET sort_at = (SELECT sort_at FROM items WHERE items.id = item_topics.item_id)"
    )
    if dialect != "sqlite":
        for table in ("items", "item_topics"):
            op.alter_column(table, "sort_at", nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    dialect = op.get_bind().dialect.name
    _add_sort_columns(dialect)
    for table, indexes in OLD_INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
    for table, indexes in NEW_INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    op.execute("ANALYZE")  # the planner learns the new indexes' selectivity now, not after the next import


def downgrade() -> None:
    """Revert this revision."""
    for table, indexes in NEW_INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
    for table, indexes in OLD_INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    for table in ("items", "item_topics"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN sort_at")  # in place on SQLite 3.35+ too
