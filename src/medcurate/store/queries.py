"""Read-side queries the item repository lacks: facets, suggestions, batches, audit pages, stats.

(The web app's reads; they live in ``store/`` with all SQL, and the web translates their results.)

Each query is one or two statements whatever the page size (no per-row queries), and aggregates
are computed in SQL; the dashboard's week buckets are filled in Python because week truncation is
spelled differently by every database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from medcurate.errors import NotFound
from medcurate.models import EntryStatus, ItemState
from medcurate.store.listing import TtlMemo
from medcurate.store.models import (
    AuditRecord,
    BatchEntryRecord,
    BatchRecord,
    ItemRecord,
    ItemTopic,
    SourceRecord,
    SuggestionRecord,
)

DEFAULT_FACET_LIMIT = 300
DEFAULT_DASHBOARD_WEEKS = 12
DEFAULT_TOP_TOPICS = 5
DEFAULT_TOP_SOURCES = 10
FACETS_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class Facets:
    """The values the inbox's filters offer, most frequent first."""

    states: tuple[str, ...]
    brands: tuple[str, ...]
    communities: tuple[str, ...]
    topics: tuple[str, ...]
    # The name each brand (registrable domain) goes by, where its pages give one.
    source_names: dict[str, str] = field(default_factory=dict)

    def source_name(self, brand: str) -> str:
        """What the filter shows for ``brand``: the source's name, else the domain."""
        return self.source_names.get(brand) or brand


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's figures: items per week by state, top topics per week, top sources."""

    weeks: tuple[datetime, ...]
    per_week: dict[str, tuple[int, ...]]
    topics: dict[str, tuple[int, ...]]
    sources: tuple[tuple[str, int], ...]
    totals: dict[str, int]


_FACETS: TtlMemo[tuple[str, int], Facets] = TtlMemo(FACETS_TTL_SECONDS)


def _top(session: Session, column: InstrumentedAttribute[str | None], limit: int) -> tuple[str, ...]:
    statement = (
        select(column).where(column.isnot(None)).group_by(column).order_by(func.count().desc()).limit(limit)
    )
    return tuple(str(v) for v in session.scalars(statement) if v)


def item_facets(session: Session, *, limit: int = DEFAULT_FACET_LIMIT) -> Facets:
    """States, brands, communities and topic labels to filter by (kept a minute: each is a scan)."""
    return _FACETS.get((str(session.get_bind().engine.url), limit), lambda: _facets(session, limit))


def _facets(session: Session, limit: int) -> Facets:
    topic_rows = session.execute(
        select(func.min(ItemTopic.label), func.count())
        .group_by(ItemTopic.label_key)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    brands = _top(session, ItemRecord.brand, limit)
    named = session.execute(
        select(ItemRecord.brand, func.max(ItemRecord.source_name))
        .where(ItemRecord.brand.in_(brands), ItemRecord.source_name.isnot(None))
        .group_by(ItemRecord.brand)
    ).all()
    return Facets(
        states=tuple(s.value for s in ItemState),
        brands=brands,
        communities=_top(session, ItemRecord.community, limit),
        topics=tuple(str(row[0]) for row in topic_rows),
        source_names={str(brand): str(name) for brand, name in named if brand and name},
    )


def suggestions_for(session: Session, *, item_id: int, kind: str | None = None) -> list[SuggestionRecord]:
    """An item's stored suggestions, best first within each kind."""
    statement = select(SuggestionRecord).where(SuggestionRecord.item_id == item_id)
    if kind:
        statement = statement.where(SuggestionRecord.kind == kind)
    statement = statement.order_by(
        SuggestionRecord.kind, SuggestionRecord.rank, SuggestionRecord.score.desc()
    )
    return list(session.scalars(statement))


def batch_by_key(session: Session, *, key: str) -> BatchRecord | None:
    """A batch and its entries, by key."""
    return session.scalar(
        select(BatchRecord).where(BatchRecord.key == key).options(selectinload(BatchRecord.entries))
    )


def get_batch(session: Session, *, batch_id: int) -> BatchRecord:
    """A batch and its entries, by id, or ``NotFound``."""
    batch = session.get(BatchRecord, batch_id, options=[selectinload(BatchRecord.entries)])
    if batch is None:
        raise NotFound(f"no batch {batch_id}")
    return batch


def list_batches(
    session: Session, *, limit: int, offset: int = 0
) -> tuple[list[tuple[BatchRecord, int, int]], int]:
    """Batches newest first, each with its entry count and how many are no longer pending; and the total."""
    done = func.sum(case((BatchEntryRecord.status != EntryStatus.PENDING, 1), else_=0))
    counts = (
        select(BatchEntryRecord.batch_id, func.count().label("total"), done.label("done"))
        .group_by(BatchEntryRecord.batch_id)
        .subquery()
    )
    rows = session.execute(
        select(BatchRecord, counts.c.total, counts.c.done)
        .outerjoin(counts, counts.c.batch_id == BatchRecord.id)
        .order_by(BatchRecord.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = int(session.scalar(select(func.count(BatchRecord.id))) or 0)
    return [(row[0], int(row[1] or 0), int(row[2] or 0)) for row in rows], total


def list_sources(session: Session) -> list[tuple[SourceRecord, int]]:
    """Followed sources, each with how many stored items came from its host."""
    sources = list(session.scalars(select(SourceRecord).order_by(SourceRecord.title, SourceRecord.location)))
    by_brand = dict(
        session.execute(
            select(ItemRecord.brand, func.count())
            .where(ItemRecord.brand.isnot(None))
            .group_by(ItemRecord.brand)
        ).all()
    )
    result = []
    for source in sources:
        host = source.location.split("//", 1)[-1].split("/", 1)[0].removeprefix("www.")
        count = sum(n for brand, n in by_brand.items() if brand and host.endswith(str(brand)))
        result.append((source, int(count)))
    return result


def audit_page(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditRecord], int]:
    """Audit events, newest first, filtered; and how many match."""
    conditions = []
    if entity_type:
        conditions.append(AuditRecord.entity_type == entity_type)
    if entity_id is not None:
        conditions.append(AuditRecord.entity_id == entity_id)
    if actor:
        conditions.append(AuditRecord.actor == actor)
    rows = session.scalars(
        select(AuditRecord)
        .where(*conditions)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    count = session.scalar(select(func.count(AuditRecord.id)).where(*conditions))
    return list(rows), int(count or 0)


def _week_start(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def dashboard(
    session: Session,
    *,
    now: datetime | None = None,
    weeks: int = DEFAULT_DASHBOARD_WEEKS,
    top_topics: int = DEFAULT_TOP_TOPICS,
    top_sources: int = DEFAULT_TOP_SOURCES,
) -> Dashboard:
    """Items per week by state, the top topics week by week, and the top sources, over ``weeks`` weeks.

    An item counts in the week of its date (``published_at``), or of its creation when it has none.
    The window ends with the week of the newest item (not today), so a site of older items still
    shows its history.
    """
    when = func.coalesce(ItemRecord.published_at, ItemRecord.created_at)
    newest = session.scalar(select(func.max(when)))
    if isinstance(newest, str):  # SQLite may hand back the aggregate as text
        newest = datetime.fromisoformat(newest)
    last = _week_start(now or newest or datetime.now(UTC))
    starts = tuple(last - timedelta(weeks=weeks - 1 - i) for i in range(weeks))
    index = {start: i for i, start in enumerate(starts)}
    per_week: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    item_week: dict[int, int] = {}
    for item_id, moment, state in session.execute(
        select(ItemRecord.id, when, ItemRecord.state).where(when >= starts[0])
    ):
        if isinstance(moment, str):  # SQLite may hand back the coalesced value as text
            moment = datetime.fromisoformat(moment)
        slot = index.get(_week_start(moment))
        if slot is not None:
            per_week[state][slot] += 1
            item_week[item_id] = slot
    labels: Counter[str] = Counter()
    topic_weeks: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    if item_week:
        for item_id, label in session.execute(
            select(ItemTopic.item_id, ItemTopic.label)
            .join(ItemRecord, ItemRecord.id == ItemTopic.item_id)
            .where(when >= starts[0])
        ):
            slot = item_week.get(item_id)
            if slot is not None:
                labels[label] += 1
                topic_weeks[label][slot] += 1
    sources = session.execute(
        select(func.coalesce(func.max(ItemRecord.source_name), ItemRecord.brand), func.count())
        .where(ItemRecord.brand.isnot(None))
        .group_by(ItemRecord.brand)
        .order_by(func.count().desc())
        .limit(top_sources)
    ).all()
    totals = dict(session.execute(select(ItemRecord.state, func.count()).group_by(ItemRecord.state)).all())
    return Dashboard(
        weeks=starts,
        per_week={state: tuple(counts) for state, counts in per_week.items()},
        topics={label: tuple(topic_weeks[label]) for label, _ in labels.most_common(top_topics)},
        sources=tuple((str(brand), int(n)) for brand, n in sources),
        totals={str(k): int(v) for k, v in totals.items()},
    )


# What an editor's day is made of, by the audit event that records each (``web.services``, ``batchrun``).
EDITOR_ACTIONS = {
    "item.ingest": "added",
    "item.approve": "approved",
    "item.publish": "published",
    "item.reject": "rejected",
}


@dataclass(frozen=True)
class ActionWeeks:
    """Editors' actions per week, counted by the date of the action (not the article's date)."""

    weeks: tuple[datetime, ...]
    counts: dict[str, tuple[int, ...]]


def editor_actions(
    session: Session, *, now: datetime | None = None, weeks: int = DEFAULT_DASHBOARD_WEEKS
) -> ActionWeeks:
    """Items added, approved, published and rejected per week, by the week the action was taken.

    The window ends with the week of ``now``, else of the newest action, so that it is the same
    whenever it is read.
    """
    kinds = list(EDITOR_ACTIONS)
    newest = now or session.scalar(select(func.max(AuditRecord.at)).where(AuditRecord.action.in_(kinds)))
    if isinstance(newest, str):  # SQLite may hand back the aggregate as text
        newest = datetime.fromisoformat(newest)
    last = _week_start(newest or datetime.now(UTC))
    starts = tuple(last - timedelta(weeks=weeks - 1 - i) for i in range(weeks))
    index = {start: i for i, start in enumerate(starts)}
    counts: dict[str, list[int]] = {name: [0] * weeks for name in EDITOR_ACTIONS.values()}
    statement = select(AuditRecord.action, AuditRecord.at).where(
        AuditRecord.action.in_(kinds), AuditRecord.at >= starts[0]
    )
    for action, moment in session.execute(statement):
        slot = index.get(_week_start(moment))
        if slot is not None:
            counts[EDITOR_ACTIONS[action]][slot] += 1
    return ActionWeeks(weeks=starts, counts={name: tuple(c) for name, c in counts.items() if any(c)})


def duplicate_origins(session: Session, *, item_ids: Sequence[int]) -> dict[int, int]:
    """The item each of these near-duplicates copies (``items.duplicate_of_id``), by id."""
    if not item_ids:
        return {}
    statement = select(ItemRecord.id, ItemRecord.duplicate_of_id).where(
        ItemRecord.id.in_(list(item_ids)), ItemRecord.duplicate_of_id.isnot(None)
    )
    return {int(item_id): int(origin) for item_id, origin in session.execute(statement) if origin is not None}
