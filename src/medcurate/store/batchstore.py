"""The SQL behind ``medcurate batches``: batches with their progress and last activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from medcurate.errors import NotFound
from medcurate.models import EntryStatus
from medcurate.store.models import BatchEntryRecord, BatchRecord


def batch_rows(
    session: Session, *, limit: int, offset: int = 0, batch_ids: list[int] | None = None
) -> list[tuple[BatchRecord, int, int, datetime | None]]:
    """Batches newest first: each with its entry count, how many are no longer pending, and when an
    entry last changed."""
    done = func.sum(case((BatchEntryRecord.status != EntryStatus.PENDING, 1), else_=0))
    counts = (
        select(
            BatchEntryRecord.batch_id,
            func.count().label("total"),
            done.label("done"),
            func.max(BatchEntryRecord.updated_at).label("last"),
        )
        .group_by(BatchEntryRecord.batch_id)
        .subquery()
    )
    statement = (
        select(BatchRecord, counts.c.total, counts.c.done, counts.c.last)
        .outerjoin(counts, counts.c.batch_id == BatchRecord.id)
        .order_by(BatchRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if batch_ids is not None:
        statement = statement.where(BatchRecord.id.in_(batch_ids))
    rows = session.execute(statement).all()
    return [(row[0], int(row[1] or 0), int(row[2] or 0), row[3]) for row in rows]


def batch_record(session: Session, *, batch_id: int) -> BatchRecord:
    """The batch with this id, or ``NotFound``."""
    batch = session.get(BatchRecord, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}; `medcurate batches list` shows them")
    return batch


def batch_links(session: Session, *, batch_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    """Every link of a batch with its origin, in the batch's order."""
    rows = session.execute(
        select(BatchEntryRecord.url, BatchEntryRecord.origin)
        .where(BatchEntryRecord.batch_id == batch_id)
        .order_by(BatchEntryRecord.position)
    )
    return [(url, origin) for url, origin in rows]
