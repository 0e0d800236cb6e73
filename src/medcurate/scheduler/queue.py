"""The scheduler on RQ (``MEDCURATE_QUEUE_URL``): a tick job that RQ's own scheduler runs every minute.

``medcurate worker --with-scheduler`` starts RQ's worker with its scheduler (``with_scheduler=True``):
RQ elects one scheduler among the workers and moves jobs scheduled with ``enqueue_at`` onto the
queue when their time comes. The tick job claims the due subscriptions in the database and
enqueues one refresh job per claim, so that the refreshes spread over every worker; then it
publishes the items due, and schedules the next tick.

Each tick has a job id made from its minute (``medcurate-tick-<epoch minute>``): every worker that
starts, and every tick, schedules the next one under the same id, so there is one tick a minute
however many workers there are (RQ keeps one job per id). A duplicate tick would do no harm
anyway: the database claims make each refresh happen once.

A tick given ``now`` (tests, ``medcurate watch --once --at``) runs at that time and schedules nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from medcurate.scheduler.publishing import publish_due
from medcurate.scheduler.refresh import refresh_claim
from medcurate.scheduler.ticker import CLAIMS_PER_TICK, DEFAULT_LEASE
from medcurate.settings import Settings, make_settings
from medcurate.store.subscriptions import Claim, claim_due

LOGGER = logging.getLogger(__name__)
TICK = timedelta(minutes=1)
TICK_PREFIX = "medcurate-tick-"
REFRESH_TIMEOUT = int(DEFAULT_LEASE.total_seconds())


def _queue(settings: Settings) -> Any:
    from redis import Redis
    from rq import Queue

    if not settings.queue_url:
        raise ValueError("the queue scheduler needs MEDCURATE_QUEUE_URL")
    return Queue(settings.queue_name, connection=Redis.from_url(settings.queue_url))


def _moment(iso: str | None) -> datetime:
    return datetime.fromisoformat(iso) if iso else datetime.now(UTC)


def schedule_next_tick(queue: Any, *, now: datetime) -> str:
    """Schedule the tick of the next minute (idempotent: the id is the minute's)."""
    minute = int(now.timestamp() // TICK.total_seconds()) + 1
    at = datetime.fromtimestamp(minute * TICK.total_seconds(), tz=UTC)
    job_id = f"{TICK_PREFIX}{minute}"
    queue.enqueue_at(at, tick_job, job_id=job_id, result_ttl=600, failure_ttl=3600)
    return job_id


def schedule_first_tick(settings: Settings) -> str:
    """Schedule the next minute's tick on the site's queue: what ``worker --with-scheduler`` does first."""
    return schedule_next_tick(_queue(settings), now=datetime.now(UTC))


def tick_job(now_iso: str | None = None) -> dict[str, int]:
    """Claim the due subscriptions and queue their refreshes, publish due items, schedule the next tick."""
    from medcurate.jobs import process_database

    settings = make_settings()
    database = process_database(settings.database)
    queue = _queue(settings)
    now = _moment(now_iso)
    claimed = 0
    while claims := claim_due(database, now=now, lease=DEFAULT_LEASE, limit=CLAIMS_PER_TICK):
        for claim in claims:
            queue.enqueue(refresh_job, claim, now_iso, job_timeout=REFRESH_TIMEOUT, result_ttl=600)
        claimed += len(claims)
    published = publish_due(database, settings, now=now)
    if now_iso is None:
        schedule_next_tick(queue, now=now)
    LOGGER.info("tick: %d refreshes queued, %d items published", claimed, len(published))
    return {"refreshes": claimed, "published": len(published)}


def refresh_job(claim: Claim, now_iso: str | None = None) -> dict[str, Any]:
    """Refresh one claimed subscription on a worker."""
    from medcurate.jobs import process_database

    settings = make_settings()
    database = process_database(settings.database)
    report = refresh_claim(database, settings, claim, now=_moment(now_iso))
    return {
        "source_id": report.source_id,
        "not_modified": report.not_modified,
        "new_entries": report.new_entries,
        "drafts": report.drafts,
        "error": report.error,
        "recorded": report.recorded,
    }
