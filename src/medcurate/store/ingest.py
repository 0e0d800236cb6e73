"""The SQL of ingestion: batches and their entries, new items with database ids, stored signatures.

Written for many writers at once (threads, ``medcurate add`` processes, queue workers on several
machines), so every rule that keeps them apart is the database's:

- a new item's id comes from the database (an identity on PostgreSQL, the rowid on SQLite) in the
  short transaction that stores it, and its front matter ``id`` is written equal to it there;
- the unique ``url_key`` and ``md_name`` decide which of two writers of the same page wins: the
  loser's transaction fails with ``Conflict`` and it points its link at the winner;
- a batch entry, once created, existing or duplicate, is never overwritten (``mark_entry`` updates
  only entries still pending or failed), so two runs of one batch can share it;
- two runs opening the same batch at once both end up with the one row (``open_batch`` retries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from medcurate.errors import Conflict
from medcurate.models import DONE_ENTRY_STATUSES, BatchState, CuratedItem, EntryStatus, ItemState
from medcurate.store.db import Database
from medcurate.store.models import BatchEntryRecord, BatchRecord, ItemRecord
from medcurate.store.repository import fill_columns, find_item

OPEN_ATTEMPTS = 5
# Items committed out of id order (a writer holding id 10 commits after one holding 11) are read
# again by a refresh that looks this far back: more than the writers that can hold an id at once.
SIGNATURE_LOOKBACK = 256


@dataclass(frozen=True, kw_only=True)
class BatchLink:
    """One link of a batch: the URL as stored, its canonical key, where it came from."""

    url: str
    url_key: str
    origin: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class EntryState:
    """A batch entry as stored: its status, item and reason."""

    entry_id: int
    url: str
    status: EntryStatus
    item_id: int | None
    reason: str | None

    @property
    def done(self) -> bool:
        """True once the link is created, existing or duplicate."""
        return self.status.done


def _open_once(
    database: Database, *, key: str, description: str, links: Sequence[BatchLink]
) -> tuple[int, dict[str, int]]:
    with database.session() as session:
        batch = session.scalar(select(BatchRecord).where(BatchRecord.key == key))
        if batch is None:
            batch = BatchRecord(key=key, description=description, state=BatchState.RUNNING)
            session.add(batch)
            session.flush()
        else:
            batch.state = BatchState.RUNNING
            batch.finished_at = None
        rows = session.execute(
            select(BatchEntryRecord.url_key, BatchEntryRecord.id).where(BatchEntryRecord.batch_id == batch.id)
        )
        known = {url_key: entry_id for url_key, entry_id in rows}
        added = []
        for position, link in enumerate(links):
            if link.url_key not in known:
                entry = BatchEntryRecord(
                    batch_id=batch.id,
                    position=position,
                    url=link.url,
                    url_key=link.url_key,
                    origin=link.origin,
                )
                session.add(entry)
                added.append(entry)
                known[link.url_key] = -1
        session.flush()
        known.update({entry.url_key: entry.id for entry in added})
        return batch.id, known


def open_batch(
    database: Database, *, key: str, description: str, links: Sequence[BatchLink]
) -> tuple[int, dict[str, int]]:
    """Create the batch and its entries, or find them again; returns its id and entry ids by URL key.

    Two runs opening the same batch at once collide on the unique batch key (or entry): the loser
    rolls back and reads what the winner stored, so the later run joins the batch.
    """
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return _open_once(database, key=key, description=description, links=links)
        except Conflict:
            if attempt == OPEN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def entry_states(
    database: Database, *, batch_id: int, entry_ids: Sequence[int] | None = None
) -> list[EntryState]:
    """The batch's entries (or the given ones) as stored, in batch order."""
    statement = (
        select(
            BatchEntryRecord.id,
            BatchEntryRecord.url,
            BatchEntryRecord.status,
            BatchEntryRecord.item_id,
            BatchEntryRecord.reason,
        )
        .where(BatchEntryRecord.batch_id == batch_id)
        .order_by(BatchEntryRecord.position)
    )
    if entry_ids is not None:
        statement = statement.where(BatchEntryRecord.id.in_(list(entry_ids)))
    with database.session() as session:
        return [
            EntryState(entry_id=row[0], url=row[1], status=EntryStatus(row[2]), item_id=row[3], reason=row[4])
            for row in session.execute(statement)
        ]


def mark_entry(
    session: Session,
    *,
    entry_id: int,
    status: EntryStatus,
    item_id: int | None = None,
    reason: str | None = None,
) -> bool:
    """Record a link's outcome unless another run already finished it; True when recorded."""
    result = session.execute(
        update(BatchEntryRecord)
        .where(BatchEntryRecord.id == entry_id, BatchEntryRecord.status.not_in(DONE_ENTRY_STATUSES))
        .values(status=status, item_id=item_id, reason=reason, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def fail_unfinished(database: Database, *, batch_id: int, reason: str) -> int:
    """Mark every entry of the batch not yet finished as failed with ``reason``; returns how many."""
    with database.session() as session:
        result = session.execute(
            update(BatchEntryRecord)
            .where(
                BatchEntryRecord.batch_id == batch_id,
                BatchEntryRecord.status.not_in(DONE_ENTRY_STATUSES),
            )
            .values(status=EntryStatus.FAILED, reason=reason, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))


def close_batch(database: Database, *, batch_id: int, failed: bool = False) -> None:
    """Mark the batch finished (or failed) once none of its entries is pending."""
    pending = exists().where(
        BatchEntryRecord.batch_id == batch_id, BatchEntryRecord.status == EntryStatus.PENDING
    )
    with database.session() as session:
        session.execute(
            update(BatchRecord)
            .where(BatchRecord.id == batch_id, ~pending)
            .values(state=BatchState.FAILED if failed else BatchState.FINISHED, finished_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )


def stored_item(
    session: Session, *, url_keys: Sequence[str], md_name: str | None = None
) -> ItemRecord | None:
    """The item already stored under one of these canonical URL keys or this mdName, if any."""
    for key in url_keys:
        found = find_item(session, url_key=key)
        if found is not None:
            return found
    return find_item(session, md_name=md_name) if md_name else None


def signatures_after(session: Session, *, after_id: int) -> list[tuple[int, bytes]]:
    """Stored near-duplicate signatures of items with an id above ``after_id - SIGNATURE_LOOKBACK``."""
    rows = session.execute(
        select(ItemRecord.id, ItemRecord.similarity_signature)
        .where(
            ItemRecord.id > after_id - SIGNATURE_LOOKBACK,
            ItemRecord.similarity_signature.is_not(None),
        )
        .order_by(ItemRecord.id)
    )
    return [(item_id, blob) for item_id, blob in rows if blob]


def insert_item(
    session: Session,
    *,
    draft_for: Callable[[int], CuratedItem],
    md_name: str,
    url_key: str,
    state: ItemState,
    community: str | None,
    text_content: str,
    provenance: dict[str, Any],
    signature: bytes,
    duplicate_of: int | None,
) -> ItemRecord:
    """Insert a new item: the database assigns its id, and ``draft_for(id)`` gives its content.

    Raises ``Conflict`` (at commit or flush) when another writer stored the same URL key or mdName.
    """
    placeholder = draft_for(0)
    record = ItemRecord(
        md_name=md_name,
        url_key=url_key,
        state=state.value,
        community=community,
        text=text_content,
        provenance=provenance,
        similarity_signature=signature,
        duplicate_of_id=duplicate_of,
        topics=[],
    )
    fill_columns(record, placeholder, community)
    session.add(record)
    session.flush()  # the INSERT: the database hands out the id
    fill_columns(record, draft_for(record.id), community)
    session.flush()
    return record
