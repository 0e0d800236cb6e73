"""The listings' part of the build state (``state.SiteState``): members, tallies and summaries.

``members`` holds which listing holds which item, in listing order; ``tallies`` counts a listing's
members by the label and note they give it, so that a listing's title, description and size are
read from a few rows instead of counted over every member: a change to one item adjusts its
listings' tallies (``tally``) and the listings' summaries are made again from them alone. A full
build fills ``members`` without counting and makes every tally at once (``refresh_listings()``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

LISTING_SCHEMA = (
    "CREATE TABLE members (listing TEXT NOT NULL, sort TEXT NOT NULL, key TEXT NOT NULL,"
    " kind TEXT NOT NULL, label TEXT NOT NULL, note TEXT NOT NULL, PRIMARY KEY (listing, sort))"
    " WITHOUT ROWID",
    "CREATE INDEX members_key ON members (key)",
    "CREATE TABLE tallies (listing TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,"
    " note TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (listing, kind, label, note))"
    " WITHOUT ROWID",
    "CREATE TABLE listings (url TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,"
    " description TEXT NOT NULL, count INTEGER NOT NULL, newest TEXT NOT NULL) WITHOUT ROWID",
)
LISTING_TABLES = ("members", "tallies", "listings")
FETCH_ROWS = 2000  # rows read per round trip while streaming
READER_CACHE_KIB = 16384  # a worker's page cache on the state: a listing's index and its cards


class Member(NamedTuple):
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


class ListingState:
    """The listing queries of the state file; ``SiteState`` opens the connection (``_db``)."""

    _db: sqlite3.Connection
    _bulk: bool  # members are being put without being tallied (a full build)

    def _stream(self, query: str, params: Sequence[object] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query``, read ``FETCH_ROWS`` at a time."""
        cursor = self._db.execute(query, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows

    def _where_in(self, query: str, values: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` (which ends with a column) for the values ``IN`` a list, in batches."""
        for batch in batches(values):
            yield from self._db.execute(f"{query} IN ({', '.join('?' * len(batch))})", batch).fetchall()

    def tally(self, members: Iterable[Member], sign: int) -> None:
        """Count members into their listings' tallies (``sign`` 1) or out of them (-1)."""
        counts = Counter((m.listing, m.kind, m.label, m.note) for m in members)
        self._db.executemany(
            "INSERT INTO tallies VALUES (?, ?, ?, ?, ?) ON CONFLICT (listing, kind, label, note)"
            " DO UPDATE SET count = count + excluded.count",
            [(*group, sign * count) for group, count in counts.items()],
        )

    def refresh_listings(self, urls: Iterable[str] | None = None) -> None:
        """Recompute the title, size and newest date of listings (all of them when ``urls`` is None).

        A listing's title is the label most of its items give it (ties: the first in code point
        order), its description the largest note among those items: both depend on the members
        alone, so an incremental build finds what a full build finds.
        """
        if urls is None:  # after every item was put: every tally is counted now
            self._bulk = False
            self._db.execute("DELETE FROM tallies")
            self._db.execute(
                "INSERT INTO tallies SELECT listing, kind, label, note, count(*) FROM members"
                " GROUP BY listing, kind, label, note"
            )
            self._db.execute("DELETE FROM listings")
            self._summarise("", ())
            return
        self._db.execute("DELETE FROM tallies WHERE count <= 0")
        for url in urls:
            self._db.execute("DELETE FROM listings WHERE url = ?", (url,))
            self._summarise("WHERE listing = ?", (url,))

    def _summarise(self, where: str, params: Sequence[str]) -> None:
        query = (
            f"SELECT listing, kind, label, max(note), sum(count) FROM tallies {where} GROUP BY listing, label"
        )
        best: dict[str, tuple[int, str, str, str]] = {}
        totals: Counter[str] = Counter()
        for listing, kind, label, note, count in self._db.execute(query, params).fetchall():
            totals[listing] += count
            held = best.get(listing)
            if held is None or count > held[0] or (count == held[0] and label < held[1]):
                best[listing] = (count, label, note, kind)
        self._db.executemany(
            "INSERT INTO listings VALUES (?, ?, ?, ?, ?, ?)",
            [
                (url, kind, label, note, totals[url], self._newest_date(url))
                for url, (_count, label, note, kind) in best.items()
                if totals[url] > 0
            ],
        )

    def _newest_date(self, listing: str) -> str:
        """The date of a listing's newest item (its sort key is the date, then the item's key)."""
        row = self._db.execute("SELECT max(sort) FROM members WHERE listing = ?", (listing,)).fetchone()
        return str(row[0] or "").split("\t", 1)[0]

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

    def memberships(self, keys: Sequence[str]) -> list[Member]:
        """The listing places of these items."""
        query = "SELECT listing, sort, key, kind, label, note FROM members WHERE key"
        return [Member(*row) for row in self._where_in(query, keys)]

    def rank(self, listing: str, sort: str) -> int:
        """How many items of ``listing`` sort before ``sort``."""
        query = "SELECT count(*) FROM members WHERE listing = ? AND sort < ?"
        return int(self._db.execute(query, (listing, sort)).fetchone()[0])

    def listing_cards(
        self, listing: str, offset: int = 0, limit: int = -1
    ) -> Iterator[tuple[str, str, str, str]]:
        """The key, digest, last change and card of a listing's items, oldest first, from ``offset``."""
        if offset == 0 and limit < 0:  # the whole listing: its index's order, no sort (a third faster)
            return self._stream(
                "SELECT i.key, i.digest, i.lastmod, i.card FROM members m JOIN items i ON i.key = m.key"
                " WHERE m.listing = ? ORDER BY m.sort",
                (listing,),
            )
        return self._stream(
            # The page's keys first, from the index alone: joined in one query, the rows skipped by
            # the offset would each be looked up in ``items`` too.
            "SELECT i.key, i.digest, i.lastmod, i.card FROM (SELECT key, sort FROM members"
            " WHERE listing = ? ORDER BY sort LIMIT ? OFFSET ?) m JOIN items i ON i.key = m.key"
            " ORDER BY m.sort",
            (listing, limit, offset),
        )

    def listing_digests(self, listing: str) -> Iterator[tuple[str, str]]:
        """The sort key and digest of a listing's items, oldest first: what its pages' digests need."""
        return self._stream(
            "SELECT m.sort, i.digest FROM members m JOIN items i ON i.key = m.key"
            " WHERE m.listing = ? ORDER BY m.sort",
            (listing,),
        )

    def newest(self, listing: str, count: int) -> list[tuple[str, str, str]]:
        """The key, URL and digest of a listing's ``count`` newest items, newest first."""
        return self._db.execute(
            "SELECT i.key, i.url, i.digest FROM members m JOIN items i ON i.key = m.key "
            "WHERE m.listing = ? ORDER BY m.sort DESC LIMIT ?",
            (listing, count),
        ).fetchall()


def batches(keys: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """``keys`` in slices of ``size``: SQLite's limit on a statement's parameters stays far away."""
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class CardReader:
    """A worker's read-only view of a build's state: the stored cards of a page of a listing.

    A worker reads them from the state file once the build's process has committed its items
    (``SiteState.commit_items``), so that the listing pages' cards do not travel through the pool.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        self._db.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")

    def cards(self, listing: str, first: str, last: str) -> list[str]:
        """The cards of ``listing``'s items with sort keys from ``first`` to ``last``, oldest first."""
        return [
            card
            for (card,) in self._db.execute(
                "SELECT i.card FROM members m JOIN items i ON i.key = m.key"
                " WHERE m.listing = ? AND m.sort >= ? AND m.sort <= ? ORDER BY m.sort",
                (listing, first, last),
            )
        ]

    def close(self) -> None:
        """Close the file."""
        self._db.close()
