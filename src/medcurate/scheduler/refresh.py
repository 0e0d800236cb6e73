"""Refresh one claimed subscription: a conditional request, the new entries, their drafts, the outcome.

1. fetch: ``If-None-Match``/``If-Modified-Since`` from the validators of the last answer; a 304
   ends the refresh there, with no parsing, the next one as far off as the feed's hint (``<ttl>``,
   ``sy:updatePeriod``) from its last full answer asked. No retries inside the request: a failure is the
   scheduler's to retry later, with back-off (``policy``), so a worker never sleeps on one feed.
2. read: ``sources.collect`` on the fetched bytes (an OPML list's feeds and a sitemap index's
   sitemaps are fetched and read there).
3. select: the entries the source has not seen (GUID, else URL); a new source's first refresh
   keeps only the newest K (``Settings.feed_first_entries``) and remembers the rest unread.
4. ingest: the selected entries through ``pipeline.ingest_entries``, with the source's community
   and default topics.
5. remember and report: the entries and the drafts they made, the validators, the next refresh;
   written only while this refresher still holds the claim.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx

from medcurate.batchrun import IngestOptions
from medcurate.errors import HTTPStatusError, MedcurateError
from medcurate.ingest.fetch import fetch_feed_bytes, fetch_feed_response
from medcurate.ingest.robots import RobotsRules
from medcurate.ingest.sources import SourceEntry, SourceInput, SourceKind, collect
from medcurate.scheduler import policy
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.subscriptions import Claim, RefreshResult, SeenEntry, finish_refresh, remember, unseen

LOGGER = logging.getLogger(__name__)
ACTOR = "scheduler"
# Outcomes of the pipeline that made a draft the source can count as its own.
_DRAFTED = frozenset({"created", "duplicate"})
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class RefreshReport:
    """What one refresh did, for logs, the CLI and tests."""

    source_id: int
    location: str
    not_modified: bool = False
    new_entries: int = 0
    drafts: int = 0
    error: str | None = None
    recorded: bool = True


def _kind(claim: Claim) -> SourceKind | None:
    """The source's kind as the readers know it; None lets ``collect`` sniff."""
    return SourceKind(claim.kind) if claim.kind in set(SourceKind) else None


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The certifi roots loaded once per process: loading them took 74 ms, half of a 304's cost."""
    return httpx.create_ssl_context(True, trust_env=False)


def select_new(
    entries: Sequence[SourceEntry], fresh: set[str], *, first_fetch: bool, first: int
) -> list[SourceEntry]:
    """The entries to draft: the unseen ones, and on a first refresh only the newest ``first``."""
    chosen = [e for e in entries if e.memory_key in fresh]
    if not first_fetch:
        return chosen
    # Feeds list newest first, sitemaps are sorted so by their reader; a date, where given, decides.
    ranked = sorted(chosen, key=lambda e: e.published or _OLDEST, reverse=True)
    return ranked[:first]


def ingest_options(settings: Settings, claim: Claim, base: IngestOptions | None = None) -> IngestOptions:
    """The pipeline's options for a source's drafts: its community and default topics on ``base``."""
    from medcurate.pipeline import default_options

    options = base or default_options(settings)
    return replace(options, community=claim.community or options.community, topics=claim.topics)


def _ingest(
    database: Database, settings: Settings, options: IngestOptions, entries: Sequence[SourceEntry]
) -> dict[str, int]:
    """Run the entries through the pipeline; the item each made, by its entry's URL."""
    if not entries:
        return {}
    from medcurate.pipeline import clean_url, ingest_entries

    report = ingest_entries(
        database,
        entries,
        settings=settings,
        actor=ACTOR,
        options=options,
        description=f"refresh of {entries[0].origin}",
    )
    drafted = {o.url: o.item_id for o in report.outcomes if o.status in _DRAFTED and o.item_id is not None}
    # The pipeline reports each link cleaned of tracking parameters: look the entries up the same way.
    return {e.url: drafted[clean_url(e.url)] for e in entries if e.url and clean_url(e.url) in drafted}


def refresh_claim(
    database: Database,
    settings: Settings,
    claim: Claim,
    *,
    now: datetime,
    options: IngestOptions | None = None,
    robots: dict[str, RobotsRules] | None = None,
) -> RefreshReport:
    """Refresh one claimed source and record the outcome on it (see the module's steps).

    ``options`` are the pipeline's (``default_options(settings)`` when omitted); the request for the
    source itself is made without retries: a failure is retried by the schedule, with back-off.
    ``robots`` is the tick's robots.txt rules by host, shared by its refreshes and their drafts.
    """
    interval = timedelta(minutes=claim.refresh_minutes)
    ingesting = ingest_options(settings, claim, options)
    if robots is not None:
        ingesting = replace(ingesting, fetch=replace(ingesting.fetch, robots_cache=robots))
    verify = shared_tls_context() if ingesting.fetch.verify is True else ingesting.fetch.verify
    fetch_options = replace(ingesting.fetch, max_retries=0, verify=verify)
    try:
        response = fetch_feed_response(
            claim.location, fetch_options, etag=claim.etag, last_modified=claim.last_modified
        )
        if response.not_modified:
            # No body to read the hint from: the one the last full answer gave still holds.
            known = timedelta(seconds=claim.hint_seconds) if claim.hint_seconds else None
            result = RefreshResult(
                next_refresh_at=policy.after_success(now, interval=interval, hint=known), not_modified=True
            )
            return _finish(database, claim, result, now=now)
        collection = collect(
            [SourceInput(location=claim.location, kind=_kind(claim), data=response.body)],
            fetch=lambda url: fetch_feed_bytes(url, fetch_options),
            max_entries=settings.feed_max_entries,
        )
        if not collection.reports:
            raise MedcurateError("; ".join(collection.problems) or "nothing readable")
        entries = [e for e in collection.entries if e.memory_key]
        with database.session() as session:
            fresh = unseen(session, claim.source_id, [e.memory_key for e in entries if e.memory_key])
        chosen = select_new(entries, fresh, first_fetch=claim.first_fetch, first=settings.feed_first_entries)
        drafted = _ingest(database, settings, ingesting, chosen)
    except MedcurateError as exc:
        return _failed(database, settings, claim, exc, now=now, interval=interval)
    # One row per key, even when a feed repeats a GUID.
    firsts = {e.memory_key: e for e in reversed(entries) if e.memory_key in fresh}
    seen = [SeenEntry(key=k, url=e.url, published=e.published) for k, e in reversed(firsts.items())]
    drafts = {e.memory_key: drafted[e.url] for e in chosen if e.url in drafted and e.memory_key}
    hint = policy.feed_hint(response.body)
    result = RefreshResult(
        next_refresh_at=policy.after_success(now, interval=interval, hint=hint),
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        hint_seconds=round(hint.total_seconds()) if hint is not None else None,
        new_entries=len(seen),
        drafts=len(drafts),
    )
    return _finish(database, claim, result, now=now, seen=seen, drafts=drafts)


def _failed(
    database: Database,
    settings: Settings,
    claim: Claim,
    exc: MedcurateError,
    *,
    now: datetime,
    interval: timedelta,
) -> RefreshReport:
    """Record a failed refresh: back off, honour Retry-After, pause past the limit."""
    retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
    failures = claim.consecutive_failures + 1
    result = RefreshResult(
        next_refresh_at=policy.after_failure(
            now, interval=interval, failures=failures, retry_after=retry_after
        ),
        error=str(exc),
        pause_after=settings.feed_pause_after,
    )
    LOGGER.info("refresh of %s failed (%d in a row): %s", claim.location, failures, exc)
    return _finish(database, claim, result, now=now)


def _finish(
    database: Database,
    claim: Claim,
    result: RefreshResult,
    *,
    now: datetime,
    seen: Sequence[SeenEntry] = (),
    drafts: dict[str, int] | None = None,
) -> RefreshReport:
    """Remember the entries and write the outcome, in one transaction, if the claim still holds."""
    with database.session() as session:
        recorded = finish_refresh(session, claim, result, now=now)
        if recorded and seen:
            remember(session, claim.source_id, seen, drafts=drafts or {}, now=now)
    if not recorded:
        LOGGER.warning("refresh of %s finished after its lease was taken over: not recorded", claim.location)
    return RefreshReport(
        source_id=claim.source_id,
        location=claim.location,
        not_modified=result.not_modified,
        new_entries=result.new_entries,
        drafts=result.drafts,
        error=result.error,
        recorded=recorded,
    )
