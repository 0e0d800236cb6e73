"""Following sources: the rules every shell applies (``medcurate sources``, /sources, /api/sources).

The CLI and the web app translate their input and call these; the checks live here once: a
location is an http(s) URL, the kind one the scheduler can refresh, the interval at least a
minute, the community one the site configures, and every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from medcurate.config import SiteConfig
from medcurate.errors import ConfigError, InvalidInput
from medcurate.ingest.sources import SourceKind
from medcurate.store.db import Database
from medcurate.store.models import SourceRecord
from medcurate.store.repository import record_audit
from medcurate.store.subscriptions import (
    add_subscription,
    pause_subscription,
    remove_subscription,
    resume_subscription,
)

# What a subscription can be: a document that lists articles and changes over time.
FOLLOWED_KINDS = (SourceKind.FEED, SourceKind.OPML, SourceKind.SITEMAP)
DEFAULT_REFRESH_MINUTES = 30
MAX_REFRESH_MINUTES = 7 * 24 * 60


def _checked_kind(kind: str) -> str:
    if kind not in {k.value for k in FOLLOWED_KINDS}:
        names = ", ".join(k.value for k in FOLLOWED_KINDS)
        raise InvalidInput(f"a followed source is one of: {names}; not {kind!r}")
    return kind


def _checked_topics(topics: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in topics if t.strip()))
    if any(len(t) > 400 for t in cleaned):
        raise InvalidInput("a topic is at most 400 characters")
    return cleaned


def follow_source(
    database: Database,
    *,
    location: str,
    actor: str,
    now: datetime,
    config: SiteConfig,
    kind: str = SourceKind.FEED.value,
    title: str | None = None,
    refresh_minutes: int = DEFAULT_REFRESH_MINUTES,
    community: str | None = None,
    topics: Sequence[str] = (),
) -> SourceRecord:
    """Follow a feed, OPML list or sitemap; refreshed at once, then every ``refresh_minutes``."""
    location = location.strip()
    if not location.startswith(("http://", "https://")):
        raise InvalidInput("a source's location is an http(s) URL")
    if not 1 <= refresh_minutes <= MAX_REFRESH_MINUTES:
        raise InvalidInput(
            f"the refresh interval is 1 to {MAX_REFRESH_MINUTES} minutes, not {refresh_minutes}"
        )
    if community:
        try:
            community = config.community(community).key
        except ConfigError as exc:
            raise InvalidInput(str(exc)) from exc
    with database.session() as session:
        source = add_subscription(
            session,
            kind=_checked_kind(kind),
            location=location,
            title=(title or "").strip() or None,
            refresh_minutes=refresh_minutes,
            community=community or None,
            topics=_checked_topics(topics),
            now=now,
        )
        record_audit(
            session,
            actor=actor,
            action="source.add",
            entity_type="source",
            entity_id=source.id,
            detail={"location": location, "kind": kind, "refresh_minutes": refresh_minutes},
        )
        session.expunge(source)
    return source


def pause_source(database: Database, *, source_id: int, actor: str, reason: str = "") -> SourceRecord:
    """Stop refreshing a source, with the reason shown on /sources."""
    with database.session() as session:
        source = pause_subscription(session, source_id, reason=reason.strip() or f"paused by {actor}")
        record_audit(session, actor=actor, action="source.pause", entity_type="source", entity_id=source_id)
        session.flush()
        session.expunge(source)
    return source


def resume_source(database: Database, *, source_id: int, actor: str, now: datetime) -> SourceRecord:
    """Refresh a paused source again, at once."""
    with database.session() as session:
        source = resume_subscription(session, source_id, now=now)
        record_audit(session, actor=actor, action="source.resume", entity_type="source", entity_id=source_id)
        session.flush()
        session.expunge(source)
    return source


def unfollow_source(database: Database, *, source_id: int, actor: str) -> None:
    """Stop following a source and forget its entries."""
    with database.session() as session:
        source = remove_subscription(session, source_id)
        record_audit(
            session,
            actor=actor,
            action="source.remove",
            entity_type="source",
            entity_id=source_id,
            detail={"location": source.location},
        )
