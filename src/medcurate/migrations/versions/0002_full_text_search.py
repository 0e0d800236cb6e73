"""full-text search over items

SQLite: a contentless FTS5 table ``items_fts`` (title, description, body, text) and the triggers that
keep it in step with ``items``. PostgreSQL: a generated ``tsvector`` column ``items.search_vector``
with a GIN index. Both are filled from the rows already stored. ``medcurate.store.search`` queries
them; the DDL is written out here, not imported, so this revision stays what it was when applied.

SQLite's batch mode rebuilds a table by copying it, which drops its triggers: a later revision that
alters ``items`` through ``batch_alter_table`` must create the three ``items_fts_*`` triggers again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The description lives in the front matter JSON; json_valid guards the triggers against a row whose
# JSON SQLite cannot read (NaN, say), which would otherwise make the write itself fail.
_SQLITE_DESCRIPTION = (
    "CASE WHEN json_valid({row}.front_matter) THEN json_extract({row}.front_matter, '$.description') END"
)


def _sqlite_values(row: str) -> str:
    return f"{row}.id, {row}.title, {_SQLITE_DESCRIPTION.format(row=row)}, {row}.body, {row}.text"


SQLITE_UPGRADE = [
    "CREATE VIRTUAL TABLE items_fts USING fts5("
    "title, description, body, text, content='', tokenize='porter unicode61 remove_diacritics 2')",
    # A contentless table forgets what it indexed: deleting a row means handing back the very
    # values it was indexed with, which the triggers have as old.*.
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, description, body, text) "
    f"VALUES ({_sqlite_values('new')}); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, description, body, text) "
    f"VALUES ('delete', {_sqlite_values('old')}); END",
    # Only the indexed columns: a state change (the inbox's busiest write) leaves the index alone.
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF id, title, front_matter, body, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, description, body, text) "
    f"VALUES ('delete', {_sqlite_values('old')}); "
    "INSERT INTO items_fts(rowid, title, description, body, text) "
    f"VALUES ({_sqlite_values('new')}); END",
    "INSERT INTO items_fts(rowid, title, description, body, text) "
    "SELECT id, title, "
    f"{_SQLITE_DESCRIPTION.format(row='items')}, body, text FROM items",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS items_fts_update",
    "DROP TRIGGER IF EXISTS items_fts_delete",
    "DROP TRIGGER IF EXISTS items_fts_insert",
    "DROP TABLE IF EXISTS items_fts",
]

# tsvector values are capped at 1 MB; the long fields are cut well below that so an outsized article
# can never make its own insert fail. Positions past 16,383 are not kept anyway.
POSTGRESQL_UPGRADE = [
    "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(front_matter ->> 'description', '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, left(coalesce(body, ''), 100000)), 'B') || "
    "setweight(to_tsvector('english'::regconfig, left(coalesce(text, ''), 100000)), 'C')"
    ") STORED",
    "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
]
POSTGRESQL_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_items_search_vector",
    "ALTER TABLE items DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    """Apply this revision."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UPGRADE)
    elif dialect == "postgresql":
        _run(POSTGRESQL_UPGRADE)  # adding a stored generated column computes it for every row


def downgrade() -> None:
    """Revert this revision."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
    elif dialect == "postgresql":
        _run(POSTGRESQL_DOWNGRADE)
