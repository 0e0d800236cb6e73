"""The build's state: what the last build made, in one SQLite file beside the site.

A build reads it to learn what changed and writes it as it goes, so that the next build touches
only what a change reaches. Tables:

* ``items``: one compact row per published item: its fingerprint (what it was made from), the URL
  it asked for (``claim``) and the one it got, its view digest, its sort key (newest last), its
  hash bucket (search shard and sitemap part), its rendered listing card and its search row;
* ``members``: which listing (archive, community, topic, source) holds which item, in listing order;
* ``listings``: each listing's title, description and size, as its pages show them;
* ``aliases``: every former address an item names;
* ``files``: every file the builds wrote, with the digest of its inputs and who owns it (an
  item, a listing, the search index...), so that a page whose digest holds is never rendered again
  and a file no longer made is removed, and only such a file.

It lives beside the output directory, not in it (``site/`` has ``.site.medcurate-state.sqlite``),
so it is neither served nor deployed. Listings, feeds, the search index and the sitemaps are read
back from it in output order, so no build holds every item at once. The file only saves work:
one that cannot be read is replaced and the site is built in full. Plain SQL through the standard
library's ``sqlite3``: it is the build's own cache, not the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_SUFFIX = ".medcurate-state.sqlite"
SCHEMA_VERSION = "2"
FETCH_ROWS = 2000  # rows read per round trip while streaming
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE items (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, claim TEXT NOT NULL,"
    " url TEXT NOT NULL, title TEXT NOT NULL, digest TEXT NOT NULL, sort TEXT NOT NULL,"
    " lastmod TEXT NOT NULL, bucket INTEGER NOT NULL, card TEXT NOT NULL, search TEXT NOT NULL)",
    "CREATE INDEX items_claim ON items (claim, key)",
    "CREATE INDEX items_url ON items (url)",
    # Covering the sitemap's columns: a sitemap part is read from the index alone.
    "CREATE INDEX items_bucket ON items (bucket, url, lastmod)",
    "CREATE TABLE members (listing TEXT NOT NULL, sort TEXT NOT NULL, key TEXT NOT NULL,"
    " kind TEXT NOT NULL, label TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (listing, sort))"
    " WITHOUT ROWID",
    "CREATE INDEX members_key ON members (key)",
    "CREATE TABLE listings (url TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,"
    " description TEXT NOT NULL, count INTEGER NOT NULL, newest TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE aliases (path TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (path, key)) WITHOUT ROWID",
    "CREATE INDEX aliases_key ON aliases (key)",
    "CREATE TABLE files (path TEXT PRIMARY KEY, digest TEXT NOT NULL, owner TEXT NOT NULL,"
    " page INTEGER NOT NULL, gen INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX files_owner ON files (owner, page)",
)
_ITEM_TABLES = ("items", "members", "listings", "aliases")


def state_path(out_dir: Path) -> Path:
    """Where the state of ``out_dir`` lives: a hidden file beside it."""
    resolved = out_dir.resolve()
    return resolved.parent / f".{resolved.name}{STATE_SUFFIX}"


@dataclass(frozen=True, slots=True)
class ItemRow:
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


@dataclass(frozen=True, slots=True)
class Member:
    """An item's place in one listing."""

    listing: str
    sort: str
    key: str
    kind: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ListingRow:
    """A listing as its pages show it."""

    url: str
    kind: str
    title: str
    description: str
    count: int
    newest: str


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A written file: its path, the digest of its inputs, its owner and its page in that owner."""

    path: str
    digest: str
    owner: str
    page: int = 0


class SiteState:
    """The state file of one site, open for a build; ``close`` commits and closes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError:
            path.unlink(missing_ok=True)  # damaged or not ours: the site is built in full
            self._db = self._open(path)
        self.generation = int(self.meta("generation") or 0)

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
            self._db.execute("COMMIT" if commit else "ROLLBACK")
        self._db.close()

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
        self.generation += 1
        self.set_meta("generation", str(self.generation))

    # -- items ------------------------------------------------------------------------------------

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        """Every item's key and fingerprint, by key."""
        return self._stream("SELECT key, fingerprint FROM items ORDER BY key")

    def item_count(self) -> int:
        """How many items the state holds."""
        return int(self._db.execute("SELECT count(*) FROM items").fetchone()[0])

    def items(self, keys: Sequence[str]) -> dict[str, ItemRow]:
        """The rows of the items with these keys."""
        return {row[0]: ItemRow(*row) for row in self._where_in("SELECT * FROM items WHERE key", keys)}

    def claimants(self, claim: str) -> list[tuple[str, str]]:
        """The keys and URLs of the items that ask for URL ``claim``, by key."""
        return self._db.execute(
            "SELECT key, url FROM items WHERE claim = ? ORDER BY key", (claim,)
        ).fetchall()

    def taken_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of ``urls`` where an item's page is."""
        return {url for (url,) in self._where_in("SELECT url FROM items WHERE url", urls)}

    def put_items(
        self, rows: Iterable[ItemRow], members: Iterable[Member], aliases: Iterable[tuple[str, str]]
    ) -> None:
        """Add or replace items with their listing places and aliases (replacing earlier ones)."""
        rows = list(rows)
        keys = [(row.key,) for row in rows]
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
        self._db.executemany(
            "INSERT OR IGNORE INTO members VALUES (?, ?, ?, ?, ?, ?)",
            [(m.listing, m.sort, m.key, m.kind, m.label, m.note) for m in members],
        )
        self._db.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?)", aliases)

    def delete_items(self, keys: Sequence[str]) -> None:
        """Forget these items, their listing places and their aliases."""
        rows = [(key,) for key in keys]
        for table in ("items", "members", "aliases"):
            self._db.executemany(f"DELETE FROM {table} WHERE key = ?", rows)

    def memberships(self, keys: Sequence[str]) -> list[Member]:
        """The listing places of these items."""
        query = "SELECT listing, sort, key, kind, label, note FROM members WHERE key"
        return [Member(*row) for row in self._where_in(query, keys)]

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
        for batch in _batches(sorted(paths)):
            marks = ", ".join("?" * len(batch))
            where = f"WHERE path IN ({marks})"
            for path, url, title, taken in self._db.execute(query.format(where=where), batch).fetchall():
                yield path, None if taken else url, title

    # -- listings ---------------------------------------------------------------------------------

    def refresh_listings(self, urls: Iterable[str] | None = None) -> None:
        """Recompute the title, size and newest date of listings (all of them when ``urls`` is None).

        A listing's title is the label most of its items give it (ties: the first in code point
        order), its description the largest note among those items: both depend on the members
        alone, so an incremental build finds what a full build finds.
        """
        if urls is None:
            self._db.execute("DELETE FROM listings")
            self._summarise("", ())
            return
        for url in urls:
            self._db.execute("DELETE FROM listings WHERE url = ?", (url,))
            self._summarise("WHERE listing = ?", (url,))

    def _summarise(self, where: str, params: Sequence[str]) -> None:
        query = (
            "SELECT listing, kind, label, max(note), count(*), max(sort) FROM members "
            f"{where} GROUP BY listing, label"
        )
        best: dict[str, tuple[int, str, str, str]] = {}
        totals: dict[str, tuple[int, str]] = {}
        for listing, kind, label, note, count, newest in self._db.execute(query, params):
            total, latest = totals.get(listing, (0, ""))
            totals[listing] = (total + count, max(latest, newest))
            held = best.get(listing)
            if held is None or count > held[0] or (count == held[0] and label < held[1]):
                best[listing] = (count, label, note, kind)
        self._db.executemany(
            "INSERT INTO listings VALUES (?, ?, ?, ?, ?, ?)",
            [
                (url, kind, label, note, totals[url][0], totals[url][1].split("\t", 1)[0])
                for url, (_count, label, note, kind) in best.items()
            ],
        )

    def listing(self, url: str) -> ListingRow | None:
        """One listing, if it has items."""
        row = self._db.execute("SELECT * FROM listings WHERE url = ?", (url,)).fetchone()
        return None if row is None else ListingRow(*row)

    def listings(self, kind: str | None = None) -> list[ListingRow]:
        """Every listing (of one kind), by URL."""
        if kind is None:
            rows = self._db.execute("SELECT * FROM listings ORDER BY url")
        else:
            rows = self._db.execute("SELECT * FROM listings WHERE kind = ? ORDER BY url", (kind,))
        return [ListingRow(*row) for row in rows]

    def rank(self, listing: str, sort: str) -> int:
        """How many items of ``listing`` sort before ``sort``."""
        query = "SELECT count(*) FROM members WHERE listing = ? AND sort < ?"
        return int(self._db.execute(query, (listing, sort)).fetchone()[0])

    def listing_cards(
        self, listing: str, offset: int = 0, limit: int = -1
    ) -> Iterator[tuple[str, str, str, str]]:
        """The key, digest, last change and card of a listing's items, oldest first, from ``offset``."""
        return self._stream(
            # The page's keys first, from the index alone: joined in one query, the rows skipped by
            # the offset would each be looked up in ``items`` too.
            "SELECT i.key, i.digest, i.lastmod, i.card FROM (SELECT key, sort FROM members"
            " WHERE listing = ? ORDER BY sort LIMIT ? OFFSET ?) m JOIN items i ON i.key = m.key"
            " ORDER BY m.sort",
            (listing, limit, offset),
        )

    def newest(self, listing: str, count: int) -> list[tuple[str, str, str]]:
        """The key, URL and digest of a listing's ``count`` newest items, newest first."""
        return self._db.execute(
            "SELECT i.key, i.url, i.digest FROM members m JOIN items i ON i.key = m.key "
            "WHERE m.listing = ? ORDER BY m.sort DESC LIMIT ?",
            (listing, count),
        ).fetchall()

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
        return int(self._db.execute("SELECT count(*) FROM files").fetchone()[0])

    def record_files(self, records: Iterable[FileRecord]) -> None:
        """Record written (or confirmed) files as this build's."""
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
        self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def _where_in(self, query: str, values: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` (which ends with a column) for the values ``IN`` a list, in batches."""
        for batch in _batches(values):
            yield from self._db.execute(f"{query} IN ({', '.join('?' * len(batch))})", batch).fetchall()

    def _stream(self, query: str, params: Sequence[object] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self._db.execute(query, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows


def _batches(keys: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]
