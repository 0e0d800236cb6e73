"""source hint: the feed's own refresh hint kept on its subscription, for the 304s that carry no body

``sources.hint_seconds`` is how long the feed's last full answer asked to be left alone (RSS
``<ttl>``, ``sy:updatePeriod``/``sy:updateFrequency``). A 304 has no body to read it from, so the
refresh after one waits as long as the stored hint says instead of falling back to the source's
interval. Existing sources start without one; their next full answer fills it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("sources", sa.Column("hint_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("sources", "hint_seconds")
