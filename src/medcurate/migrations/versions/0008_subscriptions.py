"""subscriptions: sources refresh on a schedule and remember their entries; items may be published later

The ``sources`` table grows the subscription (refresh interval, community, default topics, on/off
switch and the reason it paused), the schedule (when due, the claim's lease), the validators of the
last answer (ETag, Last-Modified), the back-off state and health counters. A new table,
``source_entries``, remembers the entries each source has seen (by a hash of the GUID or URL), so
that only new ones become drafts. ``items.publish_at`` is the editor's "Publish at".

Existing sources become enabled subscriptions due at once, every 30 minutes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("consecutive_failures", "refreshes", "not_modified", "failures", "entries_seen", "drafts_made")


def _source_columns() -> list[sa.Column[Any]]:
    moment = sa.DateTime(timezone=True)
    return [
        sa.Column("refresh_minutes", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("community", sa.String(length=120), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("next_refresh_at", moment, nullable=True),
        sa.Column("lease_until", moment, nullable=True),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("last_success_at", moment, nullable=True),
        sa.Column("last_new_entry_at", moment, nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in _COUNTERS),
    ]


def upgrade() -> None:
    """Apply this revision.

    Plain ``ADD COLUMN`` on both databases: a batch (table copy) on SQLite would drop the triggers
    that keep the full-text index of revision 0002 in step with ``items``.
    """
    for column in _source_columns():
        op.add_column("sources", column)
    op.create_index("ix_sources_due", "sources", ["enabled", "next_refresh_at"])
    op.create_table(
        "source_entries",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("entry_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "entry_key", name="uq_source_entries_key"),
    )
    op.create_index("ix_source_entries_seen", "source_entries", ["source_id", "seen_at"])
    op.add_column("items", sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_items_publish_at", "items", ["publish_at"])


def downgrade() -> None:
    """Revert this revision (``DROP COLUMN``: SQLite 3.35 or later, as on every supported system)."""
    op.drop_index("ix_items_publish_at", table_name="items")
    op.drop_column("items", "publish_at")
    op.drop_index("ix_source_entries_seen", table_name="source_entries")
    op.drop_table("source_entries")
    op.drop_index("ix_sources_due", table_name="sources")
    for column in reversed(_source_columns()):
        op.drop_column("sources", column.name)
