"""The job registry: one row per ingestion job, so any server process answers for any job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from medcurate.store.db import Database
from medcurate.store.models import JobRecord

FINAL_JOB_STATES = frozenset({"finished", "failed"})


def record_job(
    database: Database,
    *,
    job_id: str,
    batch_key: str,
    actor: str,
    urls: Sequence[str],
    kind: str = "ingest",
) -> None:
    """Register a job as queued."""
    with database.session() as session:
        session.add(
            JobRecord(id=job_id, kind=kind, state="queued", batch_key=batch_key, actor=actor, urls=list(urls))
        )


def set_job_state(database: Database, *, job_id: str, state: str, error: str | None = None) -> None:
    """Move a job to ``state`` (running, finished, failed), stamping when it started or ended."""
    now = datetime.now(UTC)
    with database.session() as session:
        job = session.get(JobRecord, job_id)
        if job is None:
            return  # a job queued by hand, outside the registry
        job.state = state
        job.error = error
        if state == "running":
            job.started_at = now
        if state in FINAL_JOB_STATES:
            job.finished_at = now


def find_job(database: Database, *, job_id: str) -> JobRecord | None:
    """The registered job with this id, if any."""
    with database.session() as session:
        return session.get(JobRecord, job_id)
