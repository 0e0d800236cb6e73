"""item revisions: what a site build reads to tell changed items from unchanged ones

Two columns on ``items``: ``revision``, a digest of the item's content (variant, front matter, body),
and ``featured_image``, the file name its front matter gives its featured image. The application
sets both with the content (``medcurate.store.repository``); this revision fills them for the rows
already stored, with its own copy of the digest so that it stays what it was when applied. The
stored front matter is hashed as stored (dates in their tagged JSON form): a row's revision only has
to change when its content does, and the next save of a row computes it the application's way.

Columns are added and dropped in place (``ALTER TABLE``, no batch copy): on SQLite the
``items_fts_*`` triggers of 0002 stay as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:30:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 500


def _revision(variant: str, front_matter: Any, body: str) -> str:
    digest = hashlib.blake2b(repr((variant, front_matter)).encode("utf-8"), digest_size=16)
    digest.update(body.encode("utf-8"))
    return digest.hexdigest()


def _featured_image(front_matter: Any) -> str | None:
    image = front_matter.get("featuredImage") if isinstance(front_matter, Mapping) else None
    href = image.get("href") if isinstance(image, Mapping) else None
    return href if isinstance(href, str) and href else None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("items", sa.Column("revision", sa.String(length=32), nullable=True))
    op.add_column("items", sa.Column("featured_image", sa.Text(), nullable=True))
    connection = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer()),
        sa.column("variant", sa.String()),
        sa.column("front_matter", sa.Text()),
        sa.column("body", sa.Text()),
        sa.column("revision", sa.String()),
        sa.column("featured_image", sa.Text()),
    )
    # The JSON column read as text on both databases: decoded here, never by the dialect's JSON type.
    front_matter_text = sa.cast(items.c.front_matter, sa.Text())
    last_id = None
    while True:
        query = sa.select(items.c.id, items.c.variant, front_matter_text, items.c.body).order_by(items.c.id)
        if last_id is not None:
            query = query.where(items.c.id > last_id)
        rows = connection.execute(query.limit(BATCH_ROWS)).all()
        if not rows:
            break
        values = []
        for item_id, variant, front_matter_json, body in rows:
            try:
                front_matter = json.loads(front_matter_json) if front_matter_json else {}
            except ValueError:
                front_matter = front_matter_json
            values.append(
                {
                    "row_id": item_id,
                    "revision": _revision(variant or "", front_matter, body or ""),
                    "featured_image": _featured_image(front_matter),
                }
            )
        connection.execute(
            items.update()
            .where(items.c.id == sa.bindparam("row_id"))
            .values(revision=sa.bindparam("revision"), featured_image=sa.bindparam("featured_image")),
            values,
        )
        last_id = rows[-1][0]


def downgrade() -> None:
    """Revert this revision."""
    # In place on SQLite too (3.35 and later): a batch copy of the table would drop 0002's triggers.
    op.drop_column("items", "featured_image")
    op.drop_column("items", "revision")
