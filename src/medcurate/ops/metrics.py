"""Prometheus metrics (prometheus-client), shared by every process of a site through its multiprocess mode.

``medcurate.ops.multiproc.prepare`` runs first in ``serve`` and ``worker``, before
prometheus-client is imported: it points ``PROMETHEUS_MULTIPROC_DIR`` at
``$MEDCURATE_HOME/run/metrics`` (unless the operator set it) so that every server process and every
worker of the site, and the job processes RQ forks, write their samples there, and any one of them
answers ``/metrics`` with the sum. The files of processes that ended stay (their counts were real)
except their live gauges.

Queue depth is read from Redis when ``/metrics`` is scraped (``QueueCollector``): the queue is the
truth, and no process has to keep a copy of it.
"""

from __future__ import annotations

import hmac
import os
import re
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from medcurate.ops.multiproc import MULTIPROC_ENV

if TYPE_CHECKING:
    from sqlalchemy import Engine

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED_ROUTE = "<unmatched>"
_REASON_HEAD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,40})(?::|$)")

_WATCHED: weakref.WeakSet[Engine] = weakref.WeakSet()
REQUEST_SECONDS = Histogram(
    "medcurate_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["method", "route", "status"],
)
JOBS = Counter("medcurate_jobs_total", "Queued jobs run, by kind and outcome.", ["kind", "outcome"])
LINKS = Counter(
    "medcurate_links_total",
    "Links worked through by ingestion, by source kind, outcome and reason.",
    ["source", "outcome", "reason"],
)
SUGGEST_SECONDS = Histogram("medcurate_suggestion_duration_seconds", "Time to suggest labels for one item.")
SITE_BUILD_SECONDS = Histogram(
    "medcurate_site_build_duration_seconds",
    "Time to build the static site.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf")),
)
SITE_FILES = Counter("medcurate_site_files_written_total", "Files the site builds wrote.")
POOL_IN_USE = Gauge(
    "medcurate_db_pool_connections_in_use",
    "Database connections checked out of the pools.",
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "medcurate_db_pool_connections_open",
    "Database connections the pools hold open.",
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> Path | None:
    """The directory the processes share samples through, when multiprocess mode is on."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def reason_class(reason: str | None, outcome: str) -> str:
    """A short, bounded label for a failure reason: its error class (``BlockedURL``), else the outcome."""
    if not reason:
        return outcome
    match = _REASON_HEAD.match(reason.strip())
    return match.group(1) if match else "other"


def record_link(*, source: str | None, outcome: str, reason: str | None) -> None:
    """Count one link's outcome."""
    LINKS.labels(source or "url", outcome, reason_class(reason, outcome)).inc()


def record_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """Observe one HTTP request."""
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def record_site_build(*, seconds: float, written: int) -> None:
    """Observe one site build."""
    SITE_BUILD_SECONDS.observe(seconds)
    SITE_FILES.inc(written)


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges in step with ``engine``'s pool."""
    from sqlalchemy import event

    if engine in _WATCHED:
        return
    _WATCHED.add(engine)

    def checkout(*_args: Any) -> None:
        POOL_IN_USE.inc()

    def checkin(*_args: Any) -> None:
        POOL_IN_USE.dec()

    def connect(*_args: Any) -> None:
        POOL_OPEN.inc()

    def close(*_args: Any) -> None:
        POOL_OPEN.dec()

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "connect", connect)
    event.listen(engine, "close", close)


class QueueCollector(Collector):
    """Jobs in the RQ queue by state, read from Redis at each scrape."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name

    def collect(self) -> Iterator[Metric]:
        """One gauge sample per state; none when Redis does not answer (readiness says so)."""
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue
        from rq.registry import (
            DeferredJobRegistry,
            FailedJobRegistry,
            FinishedJobRegistry,
            ScheduledJobRegistry,
            StartedJobRegistry,
        )

        family = GaugeMetricFamily("medcurate_queue_jobs", "Jobs in the queue, by state.", labels=["state"])
        connection = Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        try:
            queue = Queue(self.name, connection=connection)
            counts = {"queued": queue.count}
            for state, registry in (
                ("started", StartedJobRegistry),
                ("finished", FinishedJobRegistry),
                ("failed", FailedJobRegistry),
                ("deferred", DeferredJobRegistry),
                ("scheduled", ScheduledJobRegistry),
            ):
                counts[state] = registry(queue=queue).count
        except RedisError:
            return
        finally:
            connection.close()
        for state, count in counts.items():
            family.add_metric([state], count)
        yield family


def exposition(*, queue_url: str | None, queue_name: str) -> bytes:
    """The text format of every metric: all processes' in multiprocess mode, plus the queue's."""
    from prometheus_client import REGISTRY, multiprocess

    extra = CollectorRegistry(auto_describe=True)
    if queue_url:
        extra.register(QueueCollector(queue_url, queue_name))
    if multiprocess_dir() is not None:
        multiprocess.MultiProcessCollector(extra)  # type: ignore[no-untyped-call]
        return generate_latest(extra)
    return generate_latest(REGISTRY) + generate_latest(extra)


def token_allows(expected: str | None, authorization: str | None) -> bool:
    """True when no token is configured, or the ``Authorization: Bearer`` header carries it."""
    if not expected:
        return True
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def mark_process_dead(pid: int | None = None) -> None:
    """Drop this process's live gauges from the shared directory (at exit)."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
