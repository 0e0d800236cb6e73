"""The editor's desk: a draft's assignee, editors' notes, and the source's name as its pages give it

Two columns on ``items``: ``assigned_to`` (the username a draft is given to, indexed with the
list order for "Assigned to me") and ``source_name`` (``og:site_name`` or the JSON-LD publisher,
shown where the registrable domain ``brand`` was). One table, ``item_notes``: free-text notes,
part of an item's history and never published. Rows already stored keep no name (their pages are
not read again): they show their domain as before. Columns are added and dropped in place
(``ALTER TABLE``, no batch copy): on SQLite the ``items_fts_*`` triggers of 0002 stay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("items", sa.Column("source_name", sa.String(length=255), nullable=True))
    op.add_column("items", sa.Column("assigned_to", sa.String(length=120), nullable=True))
    op.create_index("ix_items_assigned_sort", "items", ["assigned_to", "sort_at", "id"])
    op.create_table(
        "item_notes",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_item_notes_item_id", "item_notes", ["item_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_item_notes_item_id", table_name="item_notes")
    op.drop_table("item_notes")
    op.drop_index("ix_items_assigned_sort", table_name="items")
    op.drop_column("items", "assigned_to")
    op.drop_column("items", "source_name")
