"""Where ingestion jobs run: threads in this process (the embedded default) or an RQ queue on Redis
served by ``medcurate worker`` processes on as many machines as needed (``MEDCURATE_QUEUE_URL``).

Same code, a setting apart: a job is the same call to ``medcurate.pipeline.ingest_urls`` either way,
and its progress never lives in the runner. The pipeline writes every link's outcome to the batch's
rows in the shared database, which any process (the web app, the CLI) reads by batch key. Workers
build their settings from their own environment, so they must point at the same database
(PostgreSQL, once there is more than one machine) and the same configuration.

RQ is used rather than written: it is small, runs on the Redis the deployment already has, and its
workers survive a job's crash.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from medcurate.errors import ConfigError
from medcurate.settings import Settings, make_settings
from medcurate.store.db import Database, open_database

LOGGER = logging.getLogger(__name__)
DEFAULT_THREADS = 2
DEFAULT_JOB_TIMEOUT = 3600


@dataclass(frozen=True, kw_only=True)
class IngestJob:
    """One ingestion: the links, who asked, and the batch key progress is read under."""

    urls: tuple[str, ...]
    actor: str
    batch_key: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class JobStatus:
    """Where a job stands: queued, running, finished or failed (with the error)."""

    job_id: str
    state: str
    error: str | None = None


class JobRunner(Protocol):
    """Runs ingestion jobs somewhere and says how they stand."""

    def submit(self, job: IngestJob) -> str:
        """Start (or queue) a job; returns its id."""
        ...

    def status(self, job_id: str) -> JobStatus:
        """How the job stands."""
        ...


def run_ingest_job(
    job: IngestJob, settings: Settings | None = None, database: Database | None = None
) -> dict[str, int]:
    """Run one job to the end; what a thread or a queue worker executes. Returns counts by status."""
    from medcurate.ops.logs import bind
    from medcurate.ops.metrics import JOBS
    from medcurate.pipeline import ingest_urls

    settings = settings or make_settings()
    own_database = database is None
    outcome = "failed"
    with bind(job_id=_current_job_id() or job.batch_key):
        database = database or open_database(settings.database)
        try:
            LOGGER.info("ingest job: %d links for %s (batch %s)", len(job.urls), job.actor, job.batch_key)
            report = ingest_urls(
                database,
                list(job.urls),
                settings=settings,
                actor=job.actor,
                batch_key=job.batch_key,
                description=job.description,
            )
            outcome = "finished"
            LOGGER.info("ingest job finished: %s", dict(report.counts))
            return dict(report.counts)
        finally:
            JOBS.labels("ingest", outcome).inc()
            if own_database:
                database.dispose()


def _current_job_id() -> str | None:
    """The RQ job this code runs in, if any."""
    from rq import get_current_job

    current = get_current_job()
    return str(current.id) if current is not None else None


class ThreadRunner:
    """Jobs on a small pool of threads in this process."""

    def __init__(self, settings: Settings, database: Database, *, threads: int = DEFAULT_THREADS) -> None:
        self._settings = settings
        self._database = database
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="medcurate-job")
        self._futures: dict[str, Future[dict[str, int]]] = {}
        self._lock = threading.Lock()

    def submit(self, job: IngestJob) -> str:
        """Start the job on a pool thread."""
        job_id = uuid.uuid4().hex
        future = self._pool.submit(run_ingest_job, job, self._settings, self._database)
        with self._lock:
            self._futures[job_id] = future
        return job_id

    def status(self, job_id: str) -> JobStatus:
        """Running, finished, or failed with the error's message."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is None:
            return JobStatus(job_id=job_id, state="unknown")
        if not future.done():
            return JobStatus(job_id=job_id, state="running")
        error = future.exception()
        if error is not None:
            return JobStatus(job_id=job_id, state="failed", error=f"{type(error).__name__}: {error}")
        return JobStatus(job_id=job_id, state="finished")

    def shutdown(self) -> None:
        """Wait for running jobs and stop the threads."""
        self._pool.shutdown(wait=True)


def _redis(url: str) -> Any:
    from redis import Redis

    return Redis.from_url(url)


class QueueRunner:
    """Jobs on an RQ queue in Redis, run by ``medcurate worker`` processes anywhere."""

    def __init__(self, settings: Settings) -> None:
        if not settings.queue_url:
            raise ConfigError("a queue runner needs MEDCURATE_QUEUE_URL (a redis:// URL)")
        from rq import Queue

        self._connection = _redis(settings.queue_url)
        self._queue = Queue(settings.queue_name, connection=self._connection)

    def submit(self, job: IngestJob) -> str:
        """Put the job on the queue."""
        queued = self._queue.enqueue(run_ingest_job, job, job_timeout=DEFAULT_JOB_TIMEOUT)
        return str(queued.id)

    def status(self, job_id: str) -> JobStatus:
        """The job's RQ status, and the last line of its error when it failed."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            queued = Job.fetch(job_id, connection=self._connection)
        except NoSuchJobError:
            return JobStatus(job_id=job_id, state="unknown")
        raw = queued.get_status(refresh=True)
        state = str(getattr(raw, "value", raw))
        state = {"started": "running", "deferred": "queued", "scheduled": "queued"}.get(state, state)
        error = None
        if state == "failed":
            result = queued.latest_result()
            lines = (result.exc_string or "").strip().splitlines() if result is not None else []
            error = lines[-1] if lines else "failed"
        return JobStatus(job_id=job_id, state=state, error=error)


def make_runner(settings: Settings, database: Database) -> JobRunner:
    """The queue runner when a queue is configured, else threads in this process."""
    if settings.queue_url:
        return QueueRunner(settings)
    return ThreadRunner(settings, database)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Serve the queue until stopped (or, with ``burst``, until it is empty)."""
    if not settings.queue_url:
        raise ConfigError("`medcurate worker` needs MEDCURATE_QUEUE_URL (a redis:// URL)")
    from rq import Queue, Worker

    connection = _redis(settings.queue_url)
    queue = Queue(settings.queue_name, connection=connection)
    Worker([queue], connection=connection).work(burst=burst)
