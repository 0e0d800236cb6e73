"""The view cache: every item's cleaned view by its fingerprint, in SQLite beside the site.

A new process reuses the views of unchanged items from here instead of cleaning 10,000 items again,
and a rebuild that plans only the pages of a few changed items reads just the views those pages
show, one row each, instead of the whole cache. It lives beside the output directory, not in it
(``site/`` has ``.site.medcurate-views.sqlite``), so it is neither served nor deployed.

Rows are JSON (``views.view_to_data``), never pickle: whoever can write the file can change the
pages it feeds, but not run code in the build. A row is found only by its fingerprint, so a stale
row is never used, only wasted, and each build deletes the rows it no longer needs. The cache only
saves time: one that cannot be read is replaced, and one that cannot be written is skipped, never
an error. It is written without waiting for the disk (``synchronous=OFF``): a crash can at worst
leave a file that is then replaced.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path

VIEWS_SUFFIX = ".medcurate-views.sqlite"
SCHEMA_VERSION = "1"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS views (fingerprint TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID",
)


def view_cache_path(out_dir: Path) -> Path:
    """Where the view cache of ``out_dir`` lives by default: a hidden file beside it."""
    resolved = out_dir.resolve()
    return resolved.parent / f".{resolved.name}{VIEWS_SUFFIX}"


class ViewCache:
    """The cached view rows made under one ``context`` (the configuration and output version)."""

    def __init__(self, path: Path, context: str) -> None:
        self.path = path
        self.context = context
        self._db: sqlite3.Connection | None = None
        self._unusable = False

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None and not self._unusable:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError:
                # Not a database (or a damaged one): start a new cache in its place.
                with suppress(OSError):
                    self.path.unlink()
                try:
                    self._db = self._open()
                except (sqlite3.Error, OSError):
                    self._unusable = True
            except (sqlite3.Error, OSError):
                self._unusable = True
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=OFF")
            for statement in _SCHEMA:
                db.execute(statement)
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
            if meta != {"version": SCHEMA_VERSION, "context": self.context}:
                # Views made under another configuration or version are never used: drop them.
                db.execute("BEGIN")
                db.execute("DELETE FROM views")
                db.execute("DELETE FROM meta")
                db.executemany(
                    "INSERT INTO meta (name, value) VALUES (?, ?)",
                    [("version", SCHEMA_VERSION), ("context", self.context)],
                )
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def rows(self) -> dict[str, str]:
        """Every row (JSON text) by fingerprint; empty when the cache cannot be read."""
        db = self._connection()
        if db is None:
            return {}
        try:
            return dict(db.execute("SELECT fingerprint, row FROM views").fetchall())
        except sqlite3.Error:
            return {}

    def row(self, fingerprint: str) -> str | None:
        """One row, or None."""
        db = self._connection()
        if db is None:
            return None
        try:
            found = db.execute("SELECT row FROM views WHERE fingerprint = ?", (fingerprint,)).fetchone()
        except sqlite3.Error:
            return None
        return None if found is None else str(found[0])

    def fingerprints(self) -> set[str]:
        """The fingerprints of every row."""
        db = self._connection()
        if db is None:
            return set()
        try:
            return {str(f) for (f,) in db.execute("SELECT fingerprint FROM views")}
        except sqlite3.Error:
            return set()

    def update(self, add: Mapping[str, str], remove: Iterable[str], *, replace_all: bool = False) -> bool:
        """Add or replace rows and delete others (all others with ``replace_all``); False on failure."""
        db = self._connection()
        if db is None:
            return False
        try:
            db.execute("BEGIN")
            if replace_all:
                db.execute("DELETE FROM views")
            else:
                db.executemany("DELETE FROM views WHERE fingerprint = ?", ((f,) for f in remove))
            db.executemany("INSERT OR REPLACE INTO views (fingerprint, row) VALUES (?, ?)", add.items())
            db.execute("COMMIT")
        except sqlite3.Error:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            return False
        return True

    def close(self) -> None:
        """Close the database, if it was opened."""
        if self._db is not None:
            self._db.close()
            self._db = None
