"""Ingestion started from the app: the pipeline runs on a worker thread while pages poll its batch rows.

The job picks its batch key up front and hands it to ``medcurate.pipeline.ingest_urls``, so the
progress page can read the batch's ``batch_entries`` rows by key from the first second, before
the pipeline has written them. Only the job's own state (running, finished, the error if the
pipeline raised) is held in memory.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from medcurate.settings import Settings
from medcurate.store.db import Database

LOGGER = logging.getLogger(__name__)
MAX_REMEMBERED_JOBS = 200

Ingest = Callable[[Database, Sequence[str], Settings, str, str], None]


def run_pipeline(
    database: Database, urls: Sequence[str], settings: Settings, actor: str, batch_key: str
) -> None:
    """Run the ingestion pipeline over ``urls`` under ``batch_key``."""
    from medcurate.pipeline import ingest_urls

    ingest_urls(
        database,
        urls,
        settings=settings,
        actor=actor,
        batch_key=batch_key,
        description=f"submitted by {actor} in the app",
    )


@dataclass
class Job:
    """One ingestion started from the app."""

    id: str
    batch_key: str
    urls: tuple[str, ...]
    actor: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "running"
    error: str | None = None


class JobRunner:
    """A small pool of worker threads running ingestion jobs, and the jobs it remembers."""

    def __init__(
        self, database: Database, settings: Settings, *, workers: int, ingest: Ingest = run_pipeline
    ) -> None:
        self._database = database
        self._settings = settings
        self._ingest = ingest
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medcurate-web-ingest")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, urls: Sequence[str], *, actor: str) -> Job:
        """Start ingesting ``urls`` in the background; the job is returned at once."""
        job = Job(
            id=uuid.uuid4().hex, batch_key=f"web-{uuid.uuid4().hex[:28]}", urls=tuple(urls), actor=actor
        )
        with self._lock:
            if len(self._jobs) >= MAX_REMEMBERED_JOBS:
                finished = [k for k, j in self._jobs.items() if j.state != "running"]
                for key in finished[: len(finished) // 2 + 1]:
                    del self._jobs[key]
            self._jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def _run(self, job: Job) -> None:
        try:
            self._ingest(self._database, job.urls, self._settings, job.actor, job.batch_key)
        except Exception as exc:  # a worker thread must report, not die silently
            LOGGER.exception("ingestion job %s failed", job.id)
            job.error = f"{type(exc).__name__}: {exc}"
            job.state = "failed"
        else:
            job.state = "finished"

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if remembered."""
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop accepting jobs and (by default) wait for the running ones."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
