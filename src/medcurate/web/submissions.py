"""Links submitted in the app, ingested on the site's job runner (``medcurate.jobs``: threads or RQ).

The app picks each job's batch key up front, so the progress page reads the batch's
``batch_entries`` rows by key from the first second, before the pipeline has written them,
wherever the job runs. The job itself (links, who, key, state) is in the shared registry (the
``jobs`` table), so every server process answers for a job that any of them started.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from medcurate.jobs import IngestJob, JobRunner, ThreadRunner, make_runner
from medcurate.settings import Settings
from medcurate.store.db import Database


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
    """Submits the app's ingestion jobs to the site's runner and reads them back from the registry."""

    def __init__(self, database: Database, settings: Settings, *, runner: JobRunner | None = None) -> None:
        self._runner = runner or make_runner(settings, database)

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
        return Job(id=job_id, batch_key=batch_key, urls=tuple(urls), actor=actor)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, whichever process started it; None when no registry holds it."""
        status = self._runner.status(job_id)
        if status.state == "unknown" or not status.batch_key:
            return None
        return Job(
            id=job_id,
            batch_key=status.batch_key,
            urls=status.urls,
            actor=status.actor,
            state=status.state,
            error=status.error,
        )

    def shutdown(self) -> None:
        """Let running in-process jobs finish; queued jobs belong to the workers."""
        if isinstance(self._runner, ThreadRunner):
            self._runner.shutdown()
