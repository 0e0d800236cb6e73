"""Batches whose process died: find them (stalled), resume them or cancel them.

A batch is "running" while a process works through it; a process that is killed (a crash, a
reboot, Ctrl-C at the wrong moment) leaves it "running" for ever. No column says which process
owns a batch, so a running batch counts as *stalled* when none of its links changed for
``stall_after`` (default ten minutes: a live batch finishes a link within its fetch deadlines,
far sooner). ``resume_batch`` runs the batch's remaining links again through the pipeline's public
``ingest_entries`` under the same batch key (what a second ``medcurate add`` of the same links
does); ``cancel_batch`` marks it cancelled, keeping what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from medcurate.errors import InvalidInput
from medcurate.models import BatchState
from medcurate.store.batchstore import batch_links, batch_record, batch_rows
from medcurate.store.repository import record_audit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from medcurate.pipeline import BatchReport, IngestOptions
    from medcurate.settings import Settings
    from medcurate.sources import SourceEntry
    from medcurate.store.db import Database

DEFAULT_STALL_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class BatchStatus:
    """A batch as people see it: its state (``stalled`` when its process died), progress and times."""

    id: int
    key: str
    description: str
    state: str
    created_at: datetime
    last_activity: datetime
    total: int
    done: int


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shown_state(state: str, last_activity: datetime, *, now: datetime, stall_after: timedelta) -> str:
    """``stalled`` for a running batch idle for ``stall_after``; otherwise the stored state."""
    if state == BatchState.RUNNING and now - _aware(last_activity) >= stall_after:
        return BatchState.STALLED
    return state


def list_batch_status(
    database: Database,
    *,
    limit: int = 50,
    now: datetime | None = None,
    stall_after: timedelta = DEFAULT_STALL_AFTER,
    batch_ids: list[int] | None = None,
) -> list[BatchStatus]:
    """The newest batches (or those named), each with its shown state."""
    now = now or datetime.now(UTC)
    with database.session() as session:
        rows = batch_rows(session, limit=limit, batch_ids=batch_ids)
        return [
            BatchStatus(
                id=batch.id,
                key=batch.key,
                description=batch.description,
                state=shown_state(batch.state, last or batch.created_at, now=now, stall_after=stall_after),
                created_at=_aware(batch.created_at),
                last_activity=_aware(last or batch.created_at),
                total=total,
                done=done,
            )
            for batch, total, done, last in rows
        ]


def stalled_batch_ids(
    session: Session,
    batch_ids: list[int],
    *,
    now: datetime | None = None,
    stall_after: timedelta = DEFAULT_STALL_AFTER,
) -> set[int]:
    """Which of these batches are stalled (for pages that list batches)."""
    if not batch_ids:
        return set()
    now = now or datetime.now(UTC)
    rows = batch_rows(session, limit=len(batch_ids), batch_ids=batch_ids)
    return {
        batch.id
        for batch, _, _, last in rows
        if shown_state(batch.state, last or batch.created_at, now=now, stall_after=stall_after)
        == BatchState.STALLED
    }


def _status(database: Database, batch_id: int, now: datetime | None, stall_after: timedelta) -> BatchStatus:
    with database.session() as session:
        batch_record(session, batch_id=batch_id)  # NotFound for an unknown id
    return list_batch_status(database, now=now, stall_after=stall_after, batch_ids=[batch_id])[0]


def cancel_batch(
    database: Database,
    *,
    batch_id: int,
    actor: str,
    now: datetime | None = None,
    stall_after: timedelta = DEFAULT_STALL_AFTER,
    force: bool = False,
) -> BatchStatus:
    """Mark a stalled batch cancelled (``force``: a running one too); its stored items stay."""
    status = _status(database, batch_id, now, stall_after)
    if status.state == BatchState.RUNNING and not force:
        raise InvalidInput(
            f"batch {batch_id} is running (active {status.last_activity:%H:%M}); --force cancels it"
        )
    if status.state not in {BatchState.RUNNING, BatchState.STALLED}:
        raise InvalidInput(
            f"batch {batch_id} is {status.state}; only a running or stalled batch can be cancelled"
        )
    with database.session() as session:
        batch = batch_record(session, batch_id=batch_id)
        batch.state = BatchState.CANCELLED
        batch.finished_at = now or datetime.now(UTC)
        record_audit(session, actor=actor, action="batch.cancel", entity_type="batch", entity_id=batch_id)
    return _status(database, batch_id, now, stall_after)


def resume_batch(
    database: Database,
    *,
    batch_id: int,
    settings: Settings,
    actor: str,
    options: IngestOptions | None = None,
    now: datetime | None = None,
    stall_after: timedelta = DEFAULT_STALL_AFTER,
    force: bool = False,
) -> BatchReport:
    """Run a stalled or cancelled batch's remaining links again (``force``: a running one too)."""
    from medcurate.pipeline import ingest_entries

    status = _status(database, batch_id, now, stall_after)
    if status.state == BatchState.RUNNING and not force:
        raise InvalidInput(
            f"batch {batch_id} is running (active {status.last_activity:%H:%M}); --force resumes it"
        )
    with database.session() as session:
        links = batch_links(session, batch_id=batch_id)
        record_audit(session, actor=actor, action="batch.resume", entity_type="batch", entity_id=batch_id)
    entries = [_entry(url, origin) for url, origin in links]
    return ingest_entries(
        database,
        entries,
        settings=settings,
        actor=actor,
        options=options,
        batch_key=status.key,
        description=status.description,
    )


def _entry(url: str, origin: dict[str, Any] | None) -> SourceEntry:
    """The source entry a batch link was made from, as far as the batch recorded it."""
    from medcurate.sources import SourceEntry, SourceKind

    origin = origin or {}
    try:
        kind = SourceKind(str(origin.get("kind")))
    except ValueError:
        kind = SourceKind.URL_LIST
    where = origin.get("origin")
    tags = origin.get("tags")
    return SourceEntry(
        url=url,
        kind=kind,
        origin=where if isinstance(where, str) else "links",
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )
