"""Subscriptions' SQL: adding and pausing sources, claiming due refreshes, entry memory, health.

Exactly once: :func:`claim_due` takes a due source with one conditional ``UPDATE ... WHERE
next_refresh_at <= now AND (lease_until IS NULL OR lease_until < now)``; the database lets one
writer through and the others update no row, on SQLite (one writer at a time) and PostgreSQL (the
row lock re-checks the condition) alike. The lease carries a random token: a refresher reports its
result only while the token is still the source's (:func:`finish_refresh`), so one whose lease ran
out and was taken over cannot overwrite the newer result.

Scheduled publishing claims items the same way (:func:`claim_due_publications`).
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from medcurate.errors import InvalidInput, NotFound
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord, SourceEntryRecord, SourceRecord

# Entries remembered per source: far more than any feed lists at once (feeds keep 10 to 100).
ENTRY_MEMORY = 2_000
HEALTH_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A due source one refresher holds until ``lease_until``: what it needs to refresh it."""

    source_id: int
    token: str
    kind: str
    location: str
    community: str | None
    topics: tuple[str, ...]
    refresh_minutes: int
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    first_fetch: bool
    hint_seconds: int | None = None  # the feed's refresh hint from its last full answer


@dataclass(frozen=True, kw_only=True)
class SeenEntry:
    """An entry to remember: its key (GUID or URL), URL and date."""

    key: str
    url: str | None
    published: datetime | None


@dataclass(frozen=True, kw_only=True)
class RefreshResult:
    """What one refresh did, to be written back on the source (``finish_refresh``)."""

    next_refresh_at: datetime
    error: str | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    hint_seconds: int | None = None  # the answer's refresh hint; a 304 keeps the one stored
    new_entries: int = 0
    drafts: int = 0
    pause_after: int = 10


@dataclass(frozen=True, kw_only=True)
class SourceHealth:
    """One source as /sources shows it."""

    source: SourceRecord
    drafts_30d: int
    published_30d: int
    median_delay: timedelta | None


def entry_key(guid_or_url: str) -> str:
    """The remembered form of an entry's GUID or URL: its sha256, fixed in size."""
    return hashlib.sha256(guid_or_url.encode("utf-8", "surrogatepass")).hexdigest()


def add_subscription(
    session: Session,
    *,
    kind: str,
    location: str,
    title: str | None,
    refresh_minutes: int,
    community: str | None,
    topics: Sequence[str],
    now: datetime,
) -> SourceRecord:
    """Follow a source, due at once; ``InvalidInput`` when it is already followed."""
    if session.scalar(select(SourceRecord.id).where(SourceRecord.location == location)) is not None:
        raise InvalidInput(f"{location} is already followed")
    source = SourceRecord(
        kind=kind,
        location=location,
        title=title,
        refresh_minutes=refresh_minutes,
        community=community,
        topics=list(topics),
        enabled=True,
        next_refresh_at=now,
    )
    session.add(source)
    session.flush()
    return source


def get_subscription(session: Session, source_id: int) -> SourceRecord:
    """The source, or ``NotFound``."""
    source = session.get(SourceRecord, source_id)
    if source is None:
        raise NotFound(f"no source {source_id}")
    return source


def list_subscriptions(session: Session) -> list[SourceRecord]:
    """Every source, by title then location."""
    return list(session.scalars(select(SourceRecord).order_by(SourceRecord.title, SourceRecord.location)))


def pause_subscription(session: Session, source_id: int, *, reason: str) -> SourceRecord:
    """Stop refreshing a source, saying why."""
    source = get_subscription(session, source_id)
    source.enabled = False
    source.paused_reason = reason
    return source


def resume_subscription(session: Session, source_id: int, *, now: datetime) -> SourceRecord:
    """Refresh a paused source again, at once, with its failure count and back-off reset."""
    source = get_subscription(session, source_id)
    source.enabled = True
    source.paused_reason = None
    source.consecutive_failures = 0
    source.next_refresh_at = now
    return source


def remove_subscription(session: Session, source_id: int) -> SourceRecord:
    """Stop following a source; its entry memory goes with it."""
    source = get_subscription(session, source_id)
    session.execute(delete(SourceEntryRecord).where(SourceEntryRecord.source_id == source_id))
    session.delete(source)
    return source


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        SourceRecord.enabled.is_(True),
        or_(SourceRecord.next_refresh_at.is_(None), SourceRecord.next_refresh_at <= now),
        or_(SourceRecord.lease_until.is_(None), SourceRecord.lease_until < now),
    ]


def claim_due(database: Database, *, now: datetime, lease: timedelta, limit: int = 50) -> list[Claim]:
    """Claim up to ``limit`` due sources for ``lease``; each claim is its own short transaction."""
    with database.session() as session:
        candidates = list(
            session.scalars(
                select(SourceRecord.id)
                .where(*_due(now))
                .order_by(SourceRecord.next_refresh_at, SourceRecord.id)
                .limit(limit)
            )
        )
    claims = []
    for source_id in candidates:
        token = secrets.token_hex(16)
        with database.session() as session:
            taken = session.execute(
                update(SourceRecord)
                .where(SourceRecord.id == source_id, *_due(now))
                .values(lease_until=now + lease, lease_token=token)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another refresher got there first
            claims.append(_claim_of(session, get_subscription(session, source_id), token))
    return claims


def _claim_of(session: Session, source: SourceRecord, token: str) -> Claim:
    remembered = session.scalar(
        select(SourceEntryRecord.id).where(SourceEntryRecord.source_id == source.id).limit(1)
    )
    return Claim(
        source_id=source.id,
        token=token,
        kind=source.kind,
        location=source.location,
        community=source.community,
        topics=tuple(source.topics or ()),
        refresh_minutes=source.refresh_minutes,
        etag=source.etag,
        last_modified=source.last_modified,
        consecutive_failures=source.consecutive_failures,
        first_fetch=remembered is None,
        hint_seconds=source.hint_seconds,
    )


def finish_refresh(session: Session, claim: Claim, result: RefreshResult, *, now: datetime) -> bool:
    """Write a refresh's outcome on its source and release the lease; False if the lease was lost."""
    source = session.get(SourceRecord, claim.source_id)
    if source is None or source.lease_token != claim.token:
        return False
    source.lease_until = None
    source.lease_token = None
    source.last_checked_at = now
    source.refreshes += 1
    source.next_refresh_at = result.next_refresh_at
    if result.error is not None:
        source.last_error = result.error
        source.failures += 1
        source.consecutive_failures += 1
        if source.consecutive_failures >= result.pause_after:
            source.enabled = False
            source.paused_reason = (
                f"paused after {source.consecutive_failures} failures in a row; last: {result.error}"
            )
        return True
    source.last_error = None
    source.consecutive_failures = 0
    source.last_success_at = now
    source.not_modified += int(result.not_modified)
    if not result.not_modified:
        source.etag = result.etag
        source.last_modified = result.last_modified
        source.hint_seconds = result.hint_seconds
    source.entries_seen += result.new_entries
    source.drafts_made += result.drafts
    if result.new_entries:
        source.last_new_entry_at = now
    return True


def unseen(session: Session, source_id: int, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` (raw GUIDs or URLs) the source has not remembered yet."""
    by_hash = {entry_key(key): key for key in keys}
    if not by_hash:
        return set()
    known: set[str] = set()
    hashes = list(by_hash)
    for start in range(0, len(hashes), 500):
        known.update(
            session.scalars(
                select(SourceEntryRecord.entry_key).where(
                    SourceEntryRecord.source_id == source_id,
                    SourceEntryRecord.entry_key.in_(hashes[start : start + 500]),
                )
            )
        )
    return {key for digest, key in by_hash.items() if digest not in known}


def remember(
    session: Session,
    source_id: int,
    entries: Sequence[SeenEntry],
    *,
    drafts: dict[str, int],
    now: datetime,
) -> None:
    """Remember entries (with the draft each made, by key), then forget the oldest past the bound."""
    for entry in entries:
        item_id = drafts.get(entry.key)
        session.add(
            SourceEntryRecord(
                source_id=source_id,
                entry_key=entry_key(entry.key),
                url=entry.url,
                entry_published_at=entry.published,
                seen_at=now,
                item_id=item_id,
                drafted_at=now if item_id is not None else None,
            )
        )
    session.flush()
    cutoff = session.scalar(
        select(SourceEntryRecord.id)
        .where(SourceEntryRecord.source_id == source_id)
        .order_by(SourceEntryRecord.id.desc())
        .offset(ENTRY_MEMORY)
        .limit(1)
    )
    if cutoff is not None:
        session.execute(
            delete(SourceEntryRecord).where(
                SourceEntryRecord.source_id == source_id, SourceEntryRecord.id <= cutoff
            )
        )


def source_health(session: Session, *, now: datetime) -> list[SourceHealth]:
    """Every source with its drafts and publications of the last 30 days and its median delay."""
    since = now - timedelta(days=HEALTH_DAYS)
    rows = session.execute(
        select(
            SourceEntryRecord.source_id,
            SourceEntryRecord.entry_published_at,
            SourceEntryRecord.drafted_at,
            ItemRecord.state,
        )
        .join(ItemRecord, ItemRecord.id == SourceEntryRecord.item_id)
        .where(SourceEntryRecord.drafted_at >= since)
    ).all()
    drafts: dict[int, int] = {}
    published: dict[int, int] = {}
    delays: dict[int, list[float]] = {}
    for source_id, entry_date, drafted_at, state in rows:
        drafts[source_id] = drafts.get(source_id, 0) + 1
        published[source_id] = published.get(source_id, 0) + int(state == "published")
        if entry_date is not None and drafted_at is not None:
            delay = (_aware(drafted_at) - _aware(entry_date)).total_seconds()
            delays.setdefault(source_id, []).append(max(0.0, delay))
    return [
        SourceHealth(
            source=source,
            drafts_30d=drafts.get(source.id, 0),
            published_30d=published.get(source.id, 0),
            median_delay=timedelta(seconds=statistics.median(delays[source.id]))
            if source.id in delays
            else None,
        )
        for source in list_subscriptions(session)
    ]


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for aware columns: they are UTC."""
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def troubled_sources(
    session: Session, *, now: datetime, silent_days: int = 14
) -> tuple[list[SourceRecord], list[SourceRecord]]:
    """The failing sources (an error or paused by failures) and the silent ones (no new entry in days)."""
    failing = list(
        session.scalars(
            select(SourceRecord)
            .where(or_(SourceRecord.consecutive_failures > 0, SourceRecord.paused_reason.is_not(None)))
            .order_by(SourceRecord.id)
        )
    )
    quiet_since = now - timedelta(days=silent_days)
    silent = list(
        session.scalars(
            select(SourceRecord)
            .where(
                SourceRecord.enabled.is_(True),
                SourceRecord.consecutive_failures == 0,
                SourceRecord.created_at < quiet_since,
                or_(SourceRecord.last_new_entry_at.is_(None), SourceRecord.last_new_entry_at < quiet_since),
            )
            .order_by(SourceRecord.id)
        )
    )
    return failing, silent


def schedule_publication(session: Session, item_id: int, *, at: datetime | None) -> ItemRecord:
    """Set (or with None, clear) an item's "Publish at"."""
    item = session.get(ItemRecord, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    item.publish_at = at
    return item


def claim_due_publications(database: Database, *, now: datetime) -> list[int]:
    """Take the items whose "Publish at" has passed: each id is returned to one caller only."""
    with database.session() as session:
        due = list(
            session.scalars(
                select(ItemRecord.id)
                .where(ItemRecord.publish_at.is_not(None), ItemRecord.publish_at <= now)
                .order_by(ItemRecord.publish_at, ItemRecord.id)
            )
        )
    claimed = []
    for item_id in due:
        with database.session() as session:
            taken = session.execute(
                update(ItemRecord)
                .where(and_(ItemRecord.id == item_id, ItemRecord.publish_at <= now))
                .values(publish_at=None)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(item_id)
    return claimed


def count_entries(session: Session, source_id: int) -> int:
    """How many entries the source remembers."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(SourceEntryRecord)
            .where(SourceEntryRecord.source_id == source_id)
        )
        or 0
    )
