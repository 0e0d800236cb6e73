"""The queries of ``medcurate.intel``: editors' source-type corrections, stored as decisions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medcurate.store.models import DecisionRecord, ItemRecord

SOURCE_TYPE_KIND = "source_type"  # ``decisions.kind`` of a source-type correction


@dataclass(frozen=True, slots=True)
class CorrectionRow:
    """The newest source-type correction of one item, with what the classifier learns from."""

    item_id: int
    source_type: str
    url: str | None
    text: str


def last_correction_id(session: Session) -> int:
    """The id of the newest correction (0 when there is none): a learned memory is current up to it."""
    statement = select(func.max(DecisionRecord.id)).where(DecisionRecord.kind == SOURCE_TYPE_KIND)
    return int(session.scalar(statement) or 0)


def source_type_corrections(session: Session) -> list[CorrectionRow]:
    """The newest correction of every corrected item, oldest item first."""
    newest = (
        select(func.max(DecisionRecord.id))
        .where(DecisionRecord.kind == SOURCE_TYPE_KIND)
        .group_by(DecisionRecord.item_id)
    )
    statement = (
        select(DecisionRecord.item_id, DecisionRecord.label, ItemRecord.url, ItemRecord.text, ItemRecord.body)
        .join(ItemRecord, ItemRecord.id == DecisionRecord.item_id)
        .where(DecisionRecord.id.in_(newest))
        .order_by(DecisionRecord.item_id)
    )
    return [
        CorrectionRow(item_id=item_id, source_type=label, url=url, text=text or body or "")
        for item_id, label, url, text, body in session.execute(statement)
    ]


def add_correction(session: Session, *, item_id: int, source_type: str, actor: str) -> DecisionRecord:
    """Store an editor's correction of an item's source type as a decision."""
    record = DecisionRecord(
        item_id=item_id,
        kind=SOURCE_TYPE_KIND,
        label=source_type,
        label_key=source_type,
        action="add",
        actor=actor,
    )
    session.add(record)
    session.flush()
    return record
