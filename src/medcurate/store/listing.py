"""Item lists that cost the same on page 1 and page 4,000: keyset pages, slim rows, cheap totals.

1. Order. Lists run newest first on ``(sort_at, id)``, a key that is never null, so one index walk
   serves every list (``store/models.py`` names the indexes; ``tests/store/test_store_plans.py`` proves
   the plans). A topic's list walks ``item_topics``' own ``(label_key, sort_at, item_id)`` index.
2. Pages. A page starts after (or before) the key of a row the reader saw: an opaque cursor, so a
   deep page reads one page of index entries, where an offset reads and drops every row before it.
   Offsets stay for the first pages only (``MAX_OFFSET``).
3. Rows. A list reads the columns a list shows (``ItemRow``), never the body, text or front matter,
   and the page's topic labels in one more query.
4. Totals. Counted exactly up to ``DEFAULT_EXACT_COUNT``; beyond, an estimate (``Total.exact`` is
   False, shown as "about 12,400"): PostgreSQL's planner estimate, or on SQLite an exact count kept
   ``COUNT_TTL_SECONDS`` per filter in the process (SQLite has no estimate to ask for). A filter
   whose estimate (or SQLite's kept count) is far past the bound is not counted at all; on SQLite,
   words alone are counted in the FTS5 index.
5. Search. Ranked by relevance over a first cut of candidates (``search.ranked_candidates``), paged by
   offset within that cut; ``sort="newest"`` pages all matches by keyset like any list.

Cursors are URL-safe base64 of a small JSON document; they are opaque to clients, not secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, func, literal, select, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime

from medcurate.errors import InvalidInput
from medcurate.models import normalize_label
from medcurate.store.models import ItemRecord, ItemTopic
from medcurate.store.repository import ItemQuery, item_conditions
from medcurate.store.search import (
    DEFAULT_SEARCH_CANDIDATES,
    fts_matches,
    match_condition,
    parse_terms,
    ranked_candidates,
)

K = TypeVar("K")
V = TypeVar("V")

MAX_OFFSET = 1_000
DEFAULT_EXACT_COUNT = 1_000
# A search newest first sorts its matches when they are fewer; with more, it walks the date index.
MANY_MATCHES = 2_000
COUNT_TTL_SECONDS = 60.0
# A filter whose estimate (PostgreSQL) or recent count (SQLite) is this many times the bound is not counted.
TRUST_ESTIMATE_FACTOR = 10

_LIST_COLUMNS: tuple[Any, ...] = (
    ItemRecord.id,
    ItemRecord.md_name,
    ItemRecord.variant,
    ItemRecord.title,
    ItemRecord.url,
    ItemRecord.brand,
    ItemRecord.community,
    ItemRecord.state,
    ItemRecord.published_at,
    ItemRecord.updated_at,
    ItemRecord.sort_at,
    ItemRecord.source_name,
    ItemRecord.assigned_to,
)


@dataclass(frozen=True)
class ItemRow:
    """What a list shows of an item."""

    id: int
    md_name: str
    variant: str
    title: str
    url: str | None
    brand: str | None
    community: str | None
    state: str
    published_at: datetime | None
    updated_at: datetime
    sort_at: datetime
    source_name: str | None = None
    assigned_to: str | None = None
    topics: tuple[str, ...] = ()

    @property
    def source(self) -> str | None:
        """The source's name as its pages give it, else its registrable domain."""
        return self.source_name or self.brand


@dataclass(frozen=True)
class ItemPage:
    """One page of a list and the cursors of its neighbours (None at either end)."""

    rows: tuple[ItemRow, ...]
    next: str | None
    prev: str | None


@dataclass(frozen=True)
class Total:
    """How many items match: exact, or an estimate to be shown as "about"."""

    value: int
    exact: bool


def encode_cursor(payload: dict[str, Any]) -> str:
    """An opaque cursor for ``payload``."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The payload of a cursor this module made, or ``InvalidInput``."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput("not a page cursor: pass the `next` or `prev` value of a list answer") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("not a page cursor: pass the `next` or `prev` value of a list answer")
    return payload


def _key_cursor(row: ItemRow) -> str:
    return encode_cursor({"k": [row.sort_at.isoformat(), row.id]})


def _cursor_key(cursor: str) -> tuple[datetime, int]:
    payload = decode_cursor(cursor)
    try:
        moment, item_id = payload["k"]
        return datetime.fromisoformat(moment), int(item_id)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("this cursor belongs to a search ranked by relevance, not to this list") from exc


def _cursor_offset(cursor: str) -> int:
    payload = decode_cursor(cursor)
    offset = payload.get("o")
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("this cursor belongs to a list in date order, not to a ranked search")
    return offset


def check_offset(offset: int) -> None:
    """Refuse an offset past ``MAX_OFFSET``, saying how to page instead."""
    if offset > MAX_OFFSET:
        raise InvalidInput(
            f"offset {offset} is past {MAX_OFFSET}: page with after=<cursor>, the `next` value of the "
            "previous page's answer, which costs the same at any depth"
        )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _url(session: Session) -> str:
    """Which database a session reads, as a memo key."""
    return str(session.get_bind().engine.url)


def _many_matches(session: Session, text: str | None) -> bool:
    """SQLite: whether ``text`` matches more items than a sort of all its matches should handle."""
    counting = fts_matches(text or "", at_most=MANY_MATCHES) if _dialect(session) == "sqlite" else None
    return counting is not None and int(session.scalar(counting) or 0) >= MANY_MATCHES


def _keyed(
    query: ItemQuery, dialect: str, *, many: bool = False
) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The filtered ids' select and the two columns its order walks (an index's, on both databases)."""
    columns: Select[Any] = select(*_LIST_COLUMNS)
    sort_at: ColumnElement[Any]
    item_id: ColumnElement[Any]
    rest = replace(query, text=None, topic=None)
    if query.topic:
        topic = ItemTopic.__table__.alias("topic")
        statement = columns.join(topic, topic.c.item_id == ItemRecord.id).where(
            topic.c.label_key == normalize_label(query.topic)
        )
        # The bounds again on the topic's copy of the key: they become the index walk's range.
        if query.since:
            statement = statement.where(topic.c.sort_at >= query.since)
        if query.until:
            statement = statement.where(topic.c.sort_at < query.until)
        sort_at, item_id = topic.c.sort_at, topic.c.item_id
    else:
        statement, sort_at, item_id = columns, ItemRecord.__table__.c.sort_at, ItemRecord.__table__.c.id
    statement = statement.where(*item_conditions(rest))
    matching = match_condition(query.text, dialect=dialect, many=many)
    if matching is not None:
        statement = statement.where(matching)
    return statement, sort_at, item_id


def _rows(session: Session, statement: Select[Any]) -> list[ItemRow]:
    found: list[tuple[Any, ...]] = [tuple(row[: len(_LIST_COLUMNS)]) for row in session.execute(statement)]
    labels: dict[int, list[str]] = {}
    if found:
        for item_id, label in session.execute(
            select(ItemTopic.item_id, ItemTopic.label)
            .where(ItemTopic.item_id.in_([row[0] for row in found]))
            .order_by(ItemTopic.item_id, ItemTopic.position)
        ):
            labels.setdefault(item_id, []).append(label)
    return [ItemRow(*row, *[tuple(labels.get(row[0], ()))]) for row in found]


def _keyset_page(session: Session, query: ItemQuery, *, after: str | None, before: str | None) -> ItemPage:
    many = bool(query.text) and _many_matches(session, query.text)
    statement, sort_at, item_id = _keyed(query, _dialect(session), many=many)
    key = tuple_(sort_at, item_id)
    backwards = before is not None and after is None
    if backwards:
        moment, row_id = _cursor_key(before or "")
        bound = tuple_(literal(moment, DateTime(timezone=True)), literal(row_id, Integer))
        statement = statement.where(key > bound)
        statement = statement.order_by(sort_at.asc(), item_id.asc())
    else:
        if after is not None:
            moment, row_id = _cursor_key(after)
            bound = tuple_(literal(moment, DateTime(timezone=True)), literal(row_id, Integer))
            statement = statement.where(key < bound)
        statement = statement.order_by(sort_at.desc(), item_id.desc())
    rows = _rows(session, statement.limit(query.limit + 1).offset(query.offset))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if backwards:
        rows.reverse()
        has_prev, has_next = more, True
    else:
        has_prev, has_next = after is not None or query.offset > 0, more
    return ItemPage(
        rows=tuple(rows),
        next=_key_cursor(rows[-1]) if rows and has_next else None,
        prev=_key_cursor(rows[0]) if rows and has_prev else None,
    )


def _few_matches(session: Session, query: ItemQuery, candidates: int) -> bool:
    """PostgreSQL: whether the planner expects few enough matches to gather them all from the index.

    Gathering reads each match once; walking the newest first reads ``candidates`` out of every
    ``matches / rows`` rows it passes, each one's ``tsvector`` checked. They cost about the same
    when the matches number ``sqrt(2 * candidates * rows)`` (10,000 of 100,000 items).
    """
    if _dialect(session) != "postgresql":
        return False
    return _estimate(session, query) < math.sqrt(2 * candidates * _estimate(session, ItemQuery()))


def _match_ids(query: ItemQuery, dialect: str) -> Select[Any]:
    """The ids of the items matching ``query``'s filters and words (no order, no page)."""
    if query.topic and replace(query, topic=None, since=None, until=None, limit=0) == ItemQuery(limit=0):
        # A topic (and dates) alone: its own index holds the answer, no row of items is needed.
        topic = ItemTopic.__table__
        statement = select(topic.c.item_id).where(topic.c.label_key == normalize_label(query.topic))
        if query.since:
            statement = statement.where(topic.c.sort_at >= query.since)
        if query.until:
            statement = statement.where(topic.c.sort_at < query.until)
        return statement
    statement, _, item_id = _keyed(query, dialect)
    return statement.with_only_columns(item_id)


def _ranked_page(session: Session, query: ItemQuery, *, cursor: str | None, candidates: int) -> ItemPage:
    start = (_cursor_offset(cursor) if cursor else 0) + query.offset
    conditions = tuple(item_conditions(replace(query, text=None)))
    ranked = ranked_candidates(
        query.text,
        dialect=_dialect(session),
        conditions=conditions,
        candidates=candidates,
        few=_few_matches(session, query, candidates),
    )
    assert ranked is not None  # the caller checked that the text holds a word
    statement: Select[Any] = (
        select(*_LIST_COLUMNS, ranked.c.score)
        .join(ranked, ranked.c.item_id == ItemRecord.id)
        .order_by(ranked.c.score.desc(), ItemRecord.id.desc())
        .limit(query.limit + 1)
        .offset(start)
    )
    rows = _rows(session, statement)
    more = len(rows) > query.limit
    return ItemPage(
        rows=tuple(rows[: query.limit]),
        next=encode_cursor({"o": start + query.limit}) if more else None,
        prev=encode_cursor({"o": max(0, start - query.limit)}) if start > 0 else None,
    )


def item_page(
    session: Session,
    *,
    query: ItemQuery,
    after: str | None = None,
    before: str | None = None,
    candidates: int = DEFAULT_SEARCH_CANDIDATES,
) -> ItemPage:
    """One page of the items matching ``query`` and the cursors around it.

    Args:
        session: an open session.
        query: filters, page size (``limit``) and a small ``offset`` (at most ``MAX_OFFSET``).
        after: a ``next`` cursor of an earlier answer: the page that follows it.
        before: a ``prev`` cursor: the page that precedes it.
        candidates: a ranked search orders this many best candidates (``search.ranked_candidates``).

    Returns:
        The rows, newest first (best first for a ranked search), and the neighbours' cursors.
    """
    check_offset(query.offset)
    if query.sort in (None, "relevance") and parse_terms(query.text) is not None:
        return _ranked_page(session, query, cursor=after or before, candidates=candidates)
    return _keyset_page(session, query, after=after, before=before)


class TtlMemo(Generic[K, V]):
    """Values kept ``ttl`` seconds in this process: figures that may lag a minute behind writes."""

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._values: dict[K, tuple[float, V]] = {}

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``make()``'s, kept from now on."""
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
        if found is not None and now - found[0] < self._ttl:
            return found[1]
        value = make()
        with self._lock:
            if len(self._values) >= self._max_entries:
                self._values.clear()
            self._values[key] = (now, value)
        return value

    def peek(self, key: K) -> V | None:
        """The value kept for ``key`` if it is fresh, else None; nothing is made."""
        with self._lock:
            found = self._values.get(key)
        return found[1] if found is not None and time.monotonic() - found[0] < self._ttl else None


_COUNTS: TtlMemo[tuple[str, ItemQuery], int] = TtlMemo(COUNT_TTL_SECONDS)
# PostgreSQL's planner estimates, by filter: they change when ANALYZE runs, not with each write.
_ESTIMATES: TtlMemo[tuple[str, ItemQuery], int] = TtlMemo(COUNT_TTL_SECONDS)


def _estimate(session: Session, query: ItemQuery) -> int:
    """PostgreSQL: the planner's estimate of how many items match ``query`` (kept a minute)."""
    bare = replace(query, limit=0, offset=0, sort=None)

    def planned() -> int:
        statement = _match_ids(bare, "postgresql")
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
        document = plan if isinstance(plan, list) else json.loads(plan)
        return int(document[0]["Plan"]["Plan Rows"])

    return _ESTIMATES.get((_url(session), bare), planned)


def item_total(session: Session, *, query: ItemQuery, exact_up_to: int = DEFAULT_EXACT_COUNT) -> Total:
    """How many items match ``query``: exact up to ``exact_up_to``, else an estimate."""
    bare = replace(query, limit=0, offset=0, sort=None)
    dialect = _dialect(session)
    ids = _match_ids(bare, dialect)

    def counted(at_most: int | None) -> Select[Any]:
        if dialect == "sqlite" and bare == replace(ItemQuery(text=bare.text), limit=0):
            # Words alone: count the FTS5 index's matches, where "id IN (matches)" would first
            # gather every match (most of the store for a common word) to look each one up.
            fts_only = fts_matches(bare.text or "", at_most=at_most)
            if fts_only is not None:
                return fts_only
        return select(func.count()).select_from(ids.limit(at_most).subquery())

    # Far above the bound, "about" needs no count on any page: on PostgreSQL the planner's figure
    # (from the columns' and words' statistics, kept a minute); on SQLite the last full count of
    # this filter, kept a minute. Counting the first 1,001 of a filter that matches most of the
    # store cost more than its page (a search's matches are checked one by one on PostgreSQL).
    known = _COUNTS.peek((_url(session), bare)) if dialect == "sqlite" else None
    estimate = _estimate(session, bare) if dialect == "postgresql" else known
    if estimate is not None and estimate > TRUST_ESTIMATE_FACTOR * exact_up_to:
        return Total(estimate, exact=False)
    bounded = int(session.scalar(counted(exact_up_to + 1)) or 0)
    if bounded <= exact_up_to:
        return Total(bounded, exact=True)
    if dialect == "postgresql":
        return Total(max(exact_up_to + 1, estimate or 0), exact=False)
    value = _COUNTS.get((_url(session), bare), lambda: int(session.scalar(counted(None)) or 0))
    return Total(value, exact=False)


def about(total: Total) -> str:
    """A total as people read it: "12,400" or "about 12,400"."""
    if total.exact:
        return f"{total.value:,}"
    rounded = round(total.value, -2) if total.value >= 1_000 else total.value
    return f"about {rounded:,}"


def analyze(session: Session, *, tables: Sequence[str] = ("items", "item_topics")) -> None:
    """Refresh the planner's statistics after a bulk load, so it picks the indexes (both databases)."""
    if _dialect(session) == "sqlite":
        # A sample per index is enough for choosing plans, and keeps this quick at a million rows.
        session.execute(text("PRAGMA analysis_limit = 1000"))
    for table in tables:
        session.execute(text(f"ANALYZE {table}"))
