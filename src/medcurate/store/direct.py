"""Bare DB-API connections: reads for a command that must start fast, without SQLAlchemy.

``medcurate site build`` runs in a new process after every publish (from cron, a hook, a
terminal) and reads two narrow queries. Importing SQLAlchemy and its ORM, then opening an engine,
cost that command 0.2 to 0.3 s before it read a row: more than the build of 1,000 items itself.
Here the database is opened with its own driver (the standard library's ``sqlite3``, or
``psycopg``, which SQLAlchemy uses for PostgreSQL too) and the queries are plain SQL that both
understand. A database that is not at ``SCHEMA_HEAD`` (new, or older than this release) is left
to ``medcurate.store.db``, which migrates it. Nothing here imports SQLAlchemy, so a warm process
(the web app) hands over one of its engine's pooled connections through ``Reader`` just the same.

Hand-written because no library offers "open this SQLAlchemy URL with the DB-API driver alone":
only the two URL forms medcurate documents are taken, anything else goes through SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from medcurate.errors import StorageError

# The newest revision under ``migrations/versions`` (a test holds them equal): a database already there
# opens without importing Alembic, and is read here without SQLAlchemy.
SCHEMA_HEAD = "0006"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
# WAL lets the web app read while a batch writes; foreign keys are off in SQLite unless asked. The
# default 2 MB page cache is far smaller than a site's database; memory-mapped reads are several
# times faster for search and listing, and cost nothing until pages are touched.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}",
)
_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass
class Reader:
    """Read queries through one DB-API connection, written with ``?`` for their parameters.

    ``marker`` is the driver's own placeholder (``?`` for sqlite3, ``%s`` for psycopg); ``errors``
    the driver's error class, turned into ``StorageError``. JSON columns come back as text from
    SQLite and decoded from PostgreSQL: ``json_value`` takes both.
    """

    connection: Any
    marker: str = "?"
    errors: tuple[type[Exception], ...] = field(default=())

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query; ``StorageError`` when the database refuses it."""
        if self.marker != "?":
            sql = sql.replace("?", self.marker)
        try:
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql, tuple(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        except self.errors as exc:
            raise StorageError(f"cannot read the database: {exc}") from exc

    def placeholders(self, count: int) -> str:
        """``?, ?, ...``: the parameters of an ``IN`` list."""
        return ", ".join("?" * count)

    @staticmethod
    def json_value(value: Any) -> Any:
        """A JSON column's value: decoded by the driver, or text to decode."""
        return json.loads(value) if isinstance(value, str | bytes) else value


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL; None for any other URL, in-memory or with options."""
    if not url.startswith(_SQLITE_PREFIX) or "?" in url:
        return None
    path = unquote(url[len(_SQLITE_PREFIX) :])
    return path if path and path != ":memory:" else None


def postgres_conninfo(url: str) -> str | None:
    """The libpq URI of a ``postgresql://`` (or ``postgresql+psycopg://``) URL; None for others."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return None


def open_reader(url: str) -> Reader | None:
    """A reader on the database at ``url``; None when it does not exist yet or takes SQLAlchemy.

    Raises ``StorageError`` when the database exists but cannot be opened.
    """
    path = sqlite_path(url)
    if path is not None:
        import os
        import sqlite3

        if not os.path.isfile(path):
            return None  # a new site: ``open_database`` creates and migrates it
        try:
            # Autocommit: each read sees the latest committed data, and no transaction stays open.
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from exc
        return Reader(connection, errors=(sqlite3.Error,))
    conninfo = postgres_conninfo(url)
    if conninfo is not None:
        import psycopg

        try:
            return Reader(psycopg.connect(conninfo, autocommit=True), marker="%s", errors=(psycopg.Error,))
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to the database: {exc}") from exc
    return None


def schema_revision(reader: Reader) -> str | None:
    """The database's Alembic revision; None when it has none (new, or never migrated)."""
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except StorageError:
        return None  # no version table yet: Alembic creates it
    return str(found[0][0]) if found else None


@contextmanager
def reader_at_head(url: str) -> Iterator[Reader | None]:
    """A reader on a database already at ``SCHEMA_HEAD``, closed at the end; else None."""
    reader = open_reader(url)
    if reader is None:
        yield None
        return
    try:
        yield reader if schema_revision(reader) == SCHEMA_HEAD else None
    finally:
        reader.connection.close()
