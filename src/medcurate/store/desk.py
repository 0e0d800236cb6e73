"""The editor's desk's reads: an item's history and undos, its neighbours in the queue, top suggestions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import DateTime, Integer, literal, select, tuple_
from sqlalchemy.orm import Session

from medcurate.store.models import AuditRecord, ItemRecord, SuggestionRecord

UNDO_ACTION = "item.undo"


def item_events(session: Session, *, item_id: int, limit: int = 100) -> list[AuditRecord]:
    """The item's audit events, newest first."""
    statement = (
        select(AuditRecord)
        .where(AuditRecord.entity_type == "item", AuditRecord.entity_id == str(item_id))
        .order_by(AuditRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def actor_item_events(
    session: Session, *, actor: str, item_id: int | None = None, limit: int = 200
) -> list[AuditRecord]:
    """``actor``'s newest events on items (on one item when given), newest first."""
    statement = (
        select(AuditRecord)
        .where(AuditRecord.entity_type == "item", AuditRecord.actor == actor)
        .order_by(AuditRecord.id.desc())
        .limit(limit)
    )
    if item_id is not None:
        statement = statement.where(AuditRecord.entity_id == str(item_id))
    return list(session.scalars(statement))


def undo_of(session: Session, *, event: AuditRecord) -> int | None:
    """The id of the undo event that undid ``event``, if one did."""
    statement = select(AuditRecord.id).where(
        AuditRecord.action == UNDO_ACTION,
        AuditRecord.entity_type == "item",
        AuditRecord.entity_id == event.entity_id,
        AuditRecord.detail["undoes"].as_integer() == event.id,
    )
    return session.scalar(statement.limit(1))


def queue_neighbours(session: Session, *, item: ItemRecord, state: str) -> tuple[int | None, int | None]:
    """The ids before and after ``item`` among the items in ``state``, newest first (the inbox's order)."""
    key = tuple_(ItemRecord.sort_at, ItemRecord.id)
    here = tuple_(literal(item.sort_at, DateTime(timezone=True)), literal(item.id, Integer))
    newer = session.scalar(
        select(ItemRecord.id)
        .where(ItemRecord.state == state, key > here)
        .order_by(ItemRecord.sort_at.asc(), ItemRecord.id.asc())
        .limit(1)
    )
    older = session.scalar(
        select(ItemRecord.id)
        .where(ItemRecord.state == state, key < here)
        .order_by(ItemRecord.sort_at.desc(), ItemRecord.id.desc())
        .limit(1)
    )
    return newer, older


def top_suggestions(session: Session, *, item_ids: Sequence[int]) -> dict[int, SuggestionRecord]:
    """Each item's best pending topic suggestion (the one the inbox's `a` accepts)."""
    if not item_ids:
        return {}
    statement = (
        select(SuggestionRecord)
        .where(
            SuggestionRecord.item_id.in_(sorted(set(item_ids))),
            SuggestionRecord.kind == "topic",
            SuggestionRecord.status == "pending",
        )
        .order_by(SuggestionRecord.item_id, SuggestionRecord.rank, SuggestionRecord.score.desc())
    )
    best: dict[int, SuggestionRecord] = {}
    for suggestion in session.scalars(statement):
        best.setdefault(suggestion.item_id, suggestion)
    return best
