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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from medcurate.errors import ConfigError
from medcurate.settings import Settings, make_settings
from medcurate.store.db import Database, open_database
from medcurate.store.jobs import find_job, record_job, set_job_state

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
    job_id: str = ""


@dataclass(frozen=True, kw_only=True)
class JobStatus:
    """Where a job stands: queued, running, finished, failed (with the error) or unknown."""

    job_id: str
    state: str
    error: str | None = None
    batch_key: str = ""
    urls: tuple[str, ...] = ()
    actor: str = ""


class JobRunner(Protocol):
    """Runs ingestion jobs somewhere and says how they stand."""

    def submit(self, job: IngestJob) -> str:
        """Start (or queue) a job; returns its id."""
        ...

    def status(self, job_id: str) -> JobStatus:
        """How the job stands."""
        ...


_PROCESS_DATABASES: dict[str, Database] = {}
_PROCESS_DATABASES_LOCK = threading.Lock()


def process_database(url: str) -> Database:
    """The database at ``url``, opened once per process: a worker's jobs share its connection pool."""
    with _PROCESS_DATABASES_LOCK:
        if url not in _PROCESS_DATABASES:
            _PROCESS_DATABASES[url] = open_database(url)
        return _PROCESS_DATABASES[url]


def run_ingest_job(
    job: IngestJob, settings: Settings | None = None, database: Database | None = None
) -> dict[str, int]:
    """Run one job to the end; what a thread or a queue worker executes. Returns counts by status.

    The job's state is kept in the registry (``jobs`` table) as it runs; an exception is recorded
    there, then raised again so that the runner (RQ) marks the job failed too. Every line logged
    meanwhile carries the job's id, and the outcome is counted for ``/metrics``.
    """
    from medcurate.ops.logs import bind
    from medcurate.ops.metrics import JOBS
    from medcurate.pipeline import ingest_urls

    settings = settings or make_settings()
    database = database or process_database(settings.database)
    with bind(job_id=job.job_id or job.batch_key):
        if job.job_id:
            set_job_state(database, job_id=job.job_id, state="running")
        LOGGER.info("ingest job: %d links for %s (batch %s)", len(job.urls), job.actor, job.batch_key)
        try:
            report = ingest_urls(
                database,
                list(job.urls),
                settings=settings,
                actor=job.actor,
                batch_key=job.batch_key,
                description=job.description,
            )
        except BaseException as exc:
            JOBS.labels("ingest", "failed").inc()
            if job.job_id:
                set_job_state(
                    database, job_id=job.job_id, state="failed", error=f"{type(exc).__name__}: {exc}"
                )
            raise
        JOBS.labels("ingest", "finished").inc()
        LOGGER.info("ingest job finished: %s", dict(report.counts))
        if job.job_id:
            set_job_state(database, job_id=job.job_id, state="finished")
    return dict(report.counts)


def registered_status(database: Database, job_id: str) -> JobStatus:
    """A job as the registry holds it; state ``unknown`` when it holds none."""
    record = find_job(database, job_id=job_id)
    if record is None:
        return JobStatus(job_id=job_id, state="unknown")
    return JobStatus(
        job_id=job_id,
        state=record.state,
        error=record.error,
        batch_key=record.batch_key,
        urls=tuple(record.urls),
        actor=record.actor,
    )


def _register(database: Database, job: IngestJob) -> IngestJob:
    """Give the job an id and record it as queued."""
    job = replace(job, job_id=job.job_id or uuid.uuid4().hex)
    record_job(database, job_id=job.job_id, batch_key=job.batch_key, actor=job.actor, urls=job.urls)
    return job


class ThreadRunner:
    """Jobs on a small pool of threads in this process; their states in the shared registry."""

    def __init__(self, settings: Settings, database: Database, *, threads: int = DEFAULT_THREADS) -> None:
        self._settings = settings
        self._database = database
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="medcurate-job")

    def submit(self, job: IngestJob) -> str:
        """Start the job on a pool thread."""
        job = _register(self._database, job)
        future = self._pool.submit(run_ingest_job, job, self._settings, self._database)
        future.add_done_callback(_log_failure)
        return job.job_id

    def status(self, job_id: str) -> JobStatus:
        """The job as the registry holds it (any process's job)."""
        return registered_status(self._database, job_id)

    def shutdown(self) -> None:
        """Wait for running jobs and stop the threads."""
        self._pool.shutdown(wait=True)


def _log_failure(future: Any) -> None:
    error = future.exception()
    if error is not None:
        LOGGER.error("ingestion job failed: %s: %s", type(error).__name__, error)


def _redis(url: str) -> Any:
    from redis import Redis

    return Redis.from_url(url)


class QueueRunner:
    """Jobs on an RQ queue in Redis, run by ``medcurate worker`` processes anywhere.

    The RQ job id is the registry's id. The registry answers first; RQ only adds what a worker
    could not record itself (a worker killed mid-job, a job past its timeout).
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        if not settings.queue_url:
            raise ConfigError("a queue runner needs MEDCURATE_QUEUE_URL (a redis:// URL)")
        from rq import Queue

        self._database = database
        self._connection = _redis(settings.queue_url)
        self._queue = Queue(settings.queue_name, connection=self._connection)

    def submit(self, job: IngestJob) -> str:
        """Record the job and put it on the queue under the same id."""
        job = _register(self._database, job)
        try:
            self._queue.enqueue(run_ingest_job, job, job_id=job.job_id, job_timeout=DEFAULT_JOB_TIMEOUT)
        except Exception as exc:  # Redis unreachable: the registry says so rather than "queued" forever
            set_job_state(self._database, job_id=job.job_id, state="failed", error=f"not queued: {exc}")
            raise
        return job.job_id

    def status(self, job_id: str) -> JobStatus:
        """The registry's state, or RQ's failure when the job died before it could record one."""
        status = registered_status(self._database, job_id)
        if status.state in ("finished", "failed"):
            return status
        queued = self._rq_status(job_id)
        if queued is None:
            return status
        if status.state == "unknown":  # queued outside the registry (by hand)
            return queued
        return replace(status, state=queued.state, error=queued.error) if queued.state == "failed" else status

    def _rq_status(self, job_id: str) -> JobStatus | None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            queued = Job.fetch(job_id, connection=self._connection)
        except NoSuchJobError:
            return None
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
        return QueueRunner(settings, database)
    return ThreadRunner(settings, database)


def preload(settings: Settings) -> None:
    """Load what every job needs once per worker process: the database and the embedding model."""
    import time

    process_database(settings.database)
    started = time.monotonic()
    try:
        from medcurate.suggest.encoders import encoder_for

        encoder_for(settings.embedding).encode_texts(["warm-up"])
    except Exception as exc:  # suggestions are optional: a job without them still stores drafts
        LOGGER.warning("embedding model %s not loaded: %s", settings.embedding, exc)
        return
    LOGGER.info("embedding model %s loaded in %.1f s", settings.embedding, time.monotonic() - started)


def run_worker(settings: Settings, *, burst: bool = False, with_scheduler: bool = False) -> None:
    """Serve the queue until stopped (or, with ``burst``, until it is empty).

    RQ's ``SimpleWorker`` runs each job in this process rather than in a fork per job, so the
    embedding model (about 740 MB for MiniLM), the database pool and the near-duplicate index are
    loaded once per worker and reused by every job.

    With ``with_scheduler`` the worker also takes part in RQ's scheduler (one of the workers holds
    it at a time), which runs the subscriptions' tick every minute once ``medcurate worker
    --with-scheduler`` has scheduled the first (``medcurate.scheduler.queue.schedule_first_tick``).
    """
    if not settings.queue_url:
        raise ConfigError("`medcurate worker` needs MEDCURATE_QUEUE_URL (a redis:// URL)")
    from rq import Queue, SimpleWorker

    connection = _redis(settings.queue_url)
    queue = Queue(settings.queue_name, connection=connection)
    from medcurate.ops.logs import setup_logging

    setup_logging(default_level="INFO")  # medcurate's lines and RQ's, in one format (idempotent)
    preload(settings)
    SimpleWorker([queue], connection=connection).work(burst=burst, with_scheduler=with_scheduler)
