"""The build's state: what the last build made, in one SQLite file beside the site.

A build reads it to learn what changed and writes it as it goes, so that the next build touches
only what a change reaches. Tables:

* ``items``: one compact row per published item: its fingerprint (what it was made from), the URL
  it asked for (``claim``) and the one it got, its view digest, its sort key (newest last), its
  hash bucket (search shard and sitemap part), its rendered listing card and its search row;
* ``members``, ``tallies``, ``listings`` (``liststate``): which listing (archive, community, topic,
  source) holds which item, in listing order; how many of a listing's items give it each title;
  each listing's title, description and size, as its pages show them;
* ``aliases``: every former address an item names;
* ``files``: every file the builds wrote, with the digest of its inputs and who owns it (an
  item, a listing, the search index...), so that a page whose digest holds is never rendered again
  and a file no longer made is removed, and only such a file.

It lives beside the output directory, not in it (``site/`` has ``.site.medcurate-state.sqlite``),
so it is neither served nor deployed. Listings, feeds, the search index and the sitemaps are read
back from it in output order, so no build holds every item at once. The file only saves work:
one that cannot be read is replaced and the site is built in full. Plain SQL through the standard
library's ``sqlite3``: it is the build's own cache, not the store.

A build writes it in one transaction, committed at its end (WAL: the web app and backups read it
meanwhile). A full build with workers commits once more, after the item pages, with the site marked
unfinished (``commit_items``): the workers then read the listing pages' cards from the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

from medcurate.publish.site.liststate import (
    LISTING_SCHEMA,
    LISTING_TABLES,
    ListingRow,
    ListingState,
    Member,
    batches,
)

__all__ = ["FileRecord", "KeptItem", "ListingRow", "Member", "SiteState", "state_path"]

STATE_SUFFIX = ".medcurate-state.sqlite"
SCHEMA_VERSION = "3"
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE items (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, claim TEXT NOT NULL,"
    " url TEXT NOT NULL, title TEXT NOT NULL, digest TEXT NOT NULL, sort TEXT NOT NULL,"
    " lastmod TEXT NOT NULL, bucket INTEGER NOT NULL, card TEXT NOT NULL, search TEXT NOT NULL)",
    "CREATE INDEX items_claim ON items (claim, key)",
    "CREATE INDEX items_url ON items (url)",
    # Covering the sitemap's columns: a sitemap part is read from the index alone.
    "CREATE INDEX items_bucket ON items (bucket, url, lastmod)",
    *LISTING_SCHEMA,
    "CREATE TABLE aliases (path TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (path, key)) WITHOUT ROWID",
    "CREATE INDEX aliases_key ON aliases (key)",
    "CREATE TABLE files (path TEXT PRIMARY KEY, digest TEXT NOT NULL, owner TEXT NOT NULL,"
    " page INTEGER NOT NULL, gen INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX files_owner ON files (owner, page)",
)
_ITEM_TABLES = ("items", "aliases", *LISTING_TABLES)


def state_path(out_dir: Path) -> Path:
    """Where the state of ``out_dir`` lives: a hidden file beside it."""
    resolved = out_dir.resolve()
    return resolved.parent / f".{resolved.name}{STATE_SUFFIX}"


class KeptItem(NamedTuple):
    """An item as the state keeps it (``items``)."""

    key: str
    fingerprint: str
    claim: str
    url: str
    title: str
    digest: str
    sort: str
    lastmod: str
    bucket: int
    card: str
    search: str


class FileRecord(NamedTuple):
    """A written file: its path, the digest of its inputs, its owner and its page in that owner."""

    path: str
    digest: str
    owner: str
    page: int = 0


class SiteState(ListingState):
    """The state file of one site, open for a build; ``close`` commits and closes it.

    It keeps how many items and files it holds in ``meta`` as it changes them:
    ``count(*)`` reads a whole table, and a build that changes one item asks several times.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError:
            path.unlink(missing_ok=True)  # damaged or not ours: the site is built in full
            self._db = self._open(path)
        self.generation = int(self.meta("generation") or 0)
        self._counts: dict[str, int] = {}
        # After ``reset_items`` the members are counted into tallies all at once, not item by item.
        self._bulk = False

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        # A crash can at worst leave a state that is replaced: no need to wait for the disk.
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA cache_size=-65536")  # 64 MB of pages: the indexes of a large site
        found = db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
        version = found and db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if not version or version[0] != SCHEMA_VERSION:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                db.execute(f'DROP TABLE IF EXISTS "{table}"')
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        db.execute("BEGIN")
        return db

    def close(self, *, commit: bool = True) -> None:
        """Commit (or roll back) what the build recorded and close the file."""
        with suppress(sqlite3.Error):
            if commit:
                self._keep_counts()
            self._db.execute("COMMIT" if commit else "ROLLBACK")
        self._db.close()

    def commit_items(self) -> None:
        """Commit what the build recorded so far, the site marked unfinished, and go on writing.

        Workers then read the items' cards from the file (``CardReader``). A build that stops before
        its end leaves the mark, and the next build is a full one.
        """
        self.set_meta("site", "")
        self._keep_counts()
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def _keep_counts(self) -> None:
        for table, count in self._counts.items():
            self.set_meta(f"count:{table}", str(count))

    def _count(self, table: str) -> int:
        """The rows of ``items`` or ``files``: as kept in ``meta``, counted once if it is not."""
        held = self._counts.get(table)
        if held is None:
            kept = self.meta(f"count:{table}")
            query = f"SELECT count(*) FROM {table}"
            held = int(kept) if kept is not None else int(self._db.execute(query).fetchone()[0])
            self._counts[table] = held
        return held

    def _counted(self, table: str, delta: int) -> None:
        self._counts[table] = self._count(table) + delta

    def _present(self, table: str, column: str, values: Iterable[str]) -> set[str]:
        """Those of ``values`` that ``table`` holds in its key ``column``."""
        query = f"SELECT {column} FROM {table} WHERE {column}"
        return {value for (value,) in self._where_in(query, sorted(set(values)))}

    # -- meta -------------------------------------------------------------------------------------

    def meta(self, name: str) -> str | None:
        """A value the last build recorded (``inputs``, ``warnings``...)."""
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        """Record a value for the next build."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def reset_items(self) -> None:
        """Forget every item, listing and alias (a full build); the files stay known until replaced."""
        for table in _ITEM_TABLES:
            self._db.execute(f"DELETE FROM {table}")
        self._counts["items"] = 0
        self._bulk = True
        self.generation += 1
        self.set_meta("generation", str(self.generation))

    # -- items ------------------------------------------------------------------------------------

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        """Every item's key and fingerprint, by key."""
        return self._stream("SELECT key, fingerprint FROM items ORDER BY key")

    def item_count(self) -> int:
        """How many items the state holds."""
        return self._count("items")

    def items(self, keys: Sequence[str]) -> dict[str, KeptItem]:
        """The rows of the items with these keys."""
        return {row[0]: KeptItem(*row) for row in self._where_in("SELECT * FROM items WHERE key", keys)}

    def claimants(self, claim: str) -> list[tuple[str, str]]:
        """The keys and URLs of the items that ask for URL ``claim``, by key."""
        return self._db.execute(
            "SELECT key, url FROM items WHERE claim = ? ORDER BY key", (claim,)
        ).fetchall()

    def taken_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of ``urls`` where an item's page is."""
        return {url for (url,) in self._where_in("SELECT url FROM items WHERE url", urls)}

    def put_items(
        self, rows: Iterable[KeptItem], members: Iterable[Member], aliases: Iterable[tuple[str, str]]
    ) -> None:
        """Add or replace items with their listing places and aliases (replacing earlier ones)."""
        rows = list(rows)
        new = {row.key for row in rows}
        if self._bulk:  # a full build after ``reset_items``: each item comes once, none is stored
            self._counted("items", len(new))
        else:
            keys = [(row.key,) for row in rows]
            self._counted("items", len(new) - len(self._present("items", "key", new)))
            self.tally(self.memberships([row.key for row in rows]), -1)
            self._db.executemany("DELETE FROM members WHERE key = ?", keys)
            self._db.executemany("DELETE FROM aliases WHERE key = ?", keys)
        self._db.executemany(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    *(r.key, r.fingerprint, r.claim, r.url, r.title, r.digest),
                    *(r.sort, r.lastmod, r.bucket, r.card, r.search),
                )
                for r in rows
            ],
        )
        # An item on one listing twice (two topics of one URL) is a member once, as the first.
        placed: dict[tuple[str, str], Member] = {}
        for member in members:
            placed.setdefault((member.listing, member.sort), member)
        self._db.executemany(
            "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)",
            [(m.listing, m.sort, m.key, m.kind, m.label, m.note) for m in placed.values()],
        )
        if not self._bulk:
            self.tally(placed.values(), 1)
        self._db.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?)", aliases)

    def delete_items(self, keys: Sequence[str]) -> None:
        """Forget these items, their listing places and their aliases."""
        rows = [(key,) for key in keys]
        self._counted("items", -len(self._present("items", "key", keys)))
        self.tally(self.memberships(keys), -1)
        for table in ("items", "members", "aliases"):
            self._db.executemany(f"DELETE FROM {table} WHERE key = ?", rows)

    def alias_paths(self, keys: Sequence[str]) -> set[str]:
        """The alias paths these items name."""
        return {path for (path,) in self._where_in("SELECT path FROM aliases WHERE key", keys)}

    def alias_pages(self, paths: Sequence[str] | None = None) -> Iterator[tuple[str, str | None, str]]:
        """Alias paths (all, or these), each with the URL and title of the item it sends readers to.

        Of the items that name a path, the first in key order has it; a path where an item's own
        page is sends nowhere (None).
        """
        query = (
            "SELECT a.path, i.url, i.title, (SELECT 1 FROM items o WHERE o.url = a.path LIMIT 1)"
            " FROM (SELECT path, min(key) AS key FROM aliases {where} GROUP BY path) a"
            " JOIN items i ON i.key = a.key ORDER BY a.path"
        )
        if paths is None:
            for path, url, title, taken in self._stream(query.format(where="")):
                yield path, None if taken else url, title
            return
        for batch in batches(sorted(paths)):
            marks = ", ".join("?" * len(batch))
            where = f"WHERE path IN ({marks})"
            for path, url, title, taken in self._db.execute(query.format(where=where), batch).fetchall():
                yield path, None if taken else url, title

    # -- search shards and sitemap parts ----------------------------------------------------------

    def bucket_rows(self, low: int, high: int, columns: str) -> list[tuple[str, ...]]:
        """``columns`` (``search``, or ``url, lastmod``) of the items whose bucket is in [low, high)."""
        query = f"SELECT {columns} FROM items WHERE bucket >= ? AND bucket < ?"
        return self._db.execute(query, (low, high)).fetchall()

    # -- files ------------------------------------------------------------------------------------

    def file_digest(self, path: str) -> str | None:
        """The input digest of a file the builds wrote."""
        row = self._db.execute("SELECT digest FROM files WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def file_count(self) -> int:
        """How many files the builds wrote."""
        return self._count("files")

    def record_files(self, records: Iterable[FileRecord]) -> None:
        """Record written (or confirmed) files as this build's."""
        records = list(records)
        paths = {r.path for r in records}
        self._counted("files", len(paths) - len(self._present("files", "path", paths)))
        self._db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
            [(r.path, r.digest, r.owner, r.page, self.generation) for r in records],
        )

    def owned(self, owner: str, from_page: int = 0) -> list[str]:
        """The files of ``owner`` from page ``from_page`` on."""
        query = "SELECT path FROM files WHERE owner = ? AND page >= ?"
        return [path for (path,) in self._db.execute(query, (owner, from_page))]

    def older_files(self) -> list[str]:
        """The files no build since the last full one recorded (after a full build: stale files)."""
        query = "SELECT path FROM files WHERE gen < ?"
        return [path for (path,) in self._db.execute(query, (self.generation,))]

    def forget_files(self, paths: Iterable[str]) -> None:
        """Forget files (removed from the site)."""
        paths = list(paths)
        self._counted("files", -len(self._present("files", "path", paths)))
        self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])
