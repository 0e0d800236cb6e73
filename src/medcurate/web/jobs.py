"""Ingestion started from the app, on the site's job runner (threads here, or the RQ queue).

The app picks each job's batch key up front, so the progress page reads the batch's
``batch_entries`` rows by key from the first second, before the pipeline has written them,
wherever the job runs. The app remembers only what it submitted (the links, who, the key); the
job's state comes from the runner.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from medcurate.jobs import IngestJob, JobRunner, ThreadRunner, make_runner
from medcurate.settings import Settings
from medcurate.store.db import Database

MAX_REMEMBERED_JOBS = 200


@dataclass
class Job:
    """One ingestion started from the app."""

    id: str
    batch_key: str
    urls: tuple[str, ...]
    actor: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "queued"
    error: str | None = None


class AppJobs:
    """Submits the app's ingestion jobs to the site's runner and remembers them for the progress pages."""

    def __init__(self, database: Database, settings: Settings, *, runner: JobRunner | None = None) -> None:
        self._runner = runner or make_runner(settings, database)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, urls: Sequence[str], *, actor: str) -> Job:
        """Start ingesting ``urls``; the job is returned at once."""
        batch_key = f"web-{uuid.uuid4().hex[:28]}"
        job_id = self._runner.submit(
            IngestJob(
                urls=tuple(urls),
                actor=actor,
                batch_key=batch_key,
                description=f"submitted by {actor} in the app",
            )
        )
        job = Job(id=job_id, batch_key=batch_key, urls=tuple(urls), actor=actor)
        with self._lock:
            if len(self._jobs) >= MAX_REMEMBERED_JOBS:
                for key in list(self._jobs)[: MAX_REMEMBERED_JOBS // 2]:
                    del self._jobs[key]
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if remembered, with its state as the runner reports it."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            status = self._runner.status(job_id)
            job.state, job.error = status.state, status.error
        return job

    def shutdown(self) -> None:
        """Let running in-process jobs finish; queued jobs belong to the workers."""
        if isinstance(self._runner, ThreadRunner):
            self._runner.shutdown()
