"""item identifiers: the DOIs, PMIDs, trial and FDA numbers an item carries, for filtering

One table, ``item_identifiers`` (item id, identifier key such as ``doi:10.1056/nejmoa2034577``),
kept in step with the ``identifiers`` front-matter field by ``medcurate.store.repository`` as the
topics are with ``item_topics``. This revision fills it for the rows already stored that carry the
field, with its own copy of the reading rule so that it stays what it was when applied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:45:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 500
KEY_SIZE = 300


def _keys(front_matter: Any) -> list[str]:
    raw = front_matter.get("identifiers") if isinstance(front_matter, dict) else None
    if not isinstance(raw, list):
        return []
    return list(dict.fromkeys(k[:KEY_SIZE] for k in raw if isinstance(k, str) and ":" in k))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "item_identifiers",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=KEY_SIZE), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "identifier"),
    )
    op.create_index("ix_item_identifiers_identifier", "item_identifiers", ["identifier"])
    connection = op.get_bind()
    items = sa.table("items", sa.column("id", sa.Integer()), sa.column("front_matter", sa.Text()))
    rows_table = sa.table("item_identifiers", sa.column("item_id", sa.Integer()), sa.column("identifier"))
    # The JSON column read as text on both databases; only rows that may carry the field are decoded.
    front_matter_text = sa.cast(items.c.front_matter, sa.Text())
    last_id = None
    while True:
        query = (
            sa.select(items.c.id, front_matter_text)
            .where(front_matter_text.like('%"identifiers"%'))
            .order_by(items.c.id)
        )
        if last_id is not None:
            query = query.where(items.c.id > last_id)
        rows = connection.execute(query.limit(BATCH_ROWS)).all()
        if not rows:
            break
        values: list[dict[str, Any]] = []
        for item_id, front_matter_json in rows:
            try:
                front_matter = json.loads(front_matter_json) if front_matter_json else {}
            except ValueError:
                continue
            values.extend({"item_id": item_id, "identifier": key} for key in _keys(front_matter))
        if values:
            connection.execute(rows_table.insert(), values)
        last_id = rows[-1][0]


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_item_identifiers_identifier", table_name="item_identifiers")
    op.drop_table("item_identifiers")
