"""Keyword-only functions over the suggestion tables: decisions, stored suggestions, model versions.

The suggestion service (``medcurate.suggest.service``) calls these; no SQL is written outside
``medcurate.store``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from medcurate.store.models import DecisionRecord, ItemRecord, ModelVersionRecord, SuggestionRecord

DecisionKey = tuple[int, str, str]


@dataclass(frozen=True, kw_only=True)
class NewSuggestion:
    """A suggestion to store for an item (its label already normalised into ``label_key``)."""

    kind: str
    label: str
    label_key: str
    score: float
    rank: int
    reason: str
    model_version: str


def latest_decisions(session: Session, *, after_id: int = 0) -> dict[DecisionKey, DecisionRecord]:
    """The newest decision per (item, kind, label) among those with an id above ``after_id``."""
    statement = select(DecisionRecord).where(DecisionRecord.id > after_id).order_by(DecisionRecord.id)
    return {(d.item_id, d.kind, d.label_key): d for d in session.scalars(statement)}


def decisions_on_items(session: Session, *, item_ids: Collection[int]) -> dict[DecisionKey, DecisionRecord]:
    """The newest decision per (item, kind, label) on the items ``item_ids``."""
    if not item_ids:
        return {}
    statement = (
        select(DecisionRecord).where(DecisionRecord.item_id.in_(sorted(item_ids))).order_by(DecisionRecord.id)
    )
    return {(d.item_id, d.kind, d.label_key): d for d in session.scalars(statement)}


def last_decision_id(session: Session) -> int:
    """The id of the newest decision (0 when there is none)."""
    statement = select(DecisionRecord.id).order_by(DecisionRecord.id.desc()).limit(1)
    return session.scalar(statement) or 0


def add_decision(
    session: Session,
    *,
    item_id: int,
    kind: str,
    label: str,
    label_key: str,
    action: str,
    actor: str,
    at: datetime,
) -> None:
    """Store an editor's decision."""
    session.add(
        DecisionRecord(
            item_id=item_id, kind=kind, label=label, label_key=label_key, action=action, actor=actor, at=at
        )
    )


def mark_suggestion(session: Session, *, item_id: int, kind: str, label_key: str, status: str) -> bool:
    """Set the status of the item's stored suggestion of that label; whether there was one."""
    suggestion = session.scalar(
        select(SuggestionRecord).where(
            SuggestionRecord.item_id == item_id,
            SuggestionRecord.kind == kind,
            SuggestionRecord.label_key == label_key,
        )
    )
    if suggestion is None:
        return False
    suggestion.status = status
    return True


def replace_pending_suggestions(
    session: Session, *, item_id: int, suggestions: list[NewSuggestion]
) -> list[NewSuggestion]:
    """Drop the item's pending suggestions and store these, except labels already decided on.

    Returns:
        The suggestions stored, in the order given.
    """
    session.execute(
        delete(SuggestionRecord).where(
            SuggestionRecord.item_id == item_id, SuggestionRecord.status == "pending"
        )
    )
    decided = {
        (row.kind, row.label_key)
        for row in session.scalars(select(SuggestionRecord).where(SuggestionRecord.item_id == item_id))
    }
    kept: list[NewSuggestion] = []
    for suggestion in suggestions:
        if (suggestion.kind, suggestion.label_key) in decided:
            continue
        decided.add((suggestion.kind, suggestion.label_key))
        kept.append(suggestion)
        session.add(
            SuggestionRecord(
                item_id=item_id,
                kind=suggestion.kind,
                label=suggestion.label,
                label_key=suggestion.label_key,
                score=suggestion.score,
                rank=suggestion.rank,
                reason=suggestion.reason,
                model_version=suggestion.model_version,
                status="pending",
            )
        )
    return kept


def item_suggestions(session: Session, *, item_id: int) -> list[SuggestionRecord]:
    """The item's stored suggestions, by kind and rank."""
    statement = (
        select(SuggestionRecord)
        .where(SuggestionRecord.item_id == item_id)
        .order_by(SuggestionRecord.kind, SuggestionRecord.rank)
    )
    return list(session.scalars(statement))


def latest_model_version(session: Session, *, kind: str) -> ModelVersionRecord | None:
    """The newest recorded model of ``kind``, if any."""
    statement = (
        select(ModelVersionRecord)
        .where(ModelVersionRecord.kind == kind)
        .order_by(ModelVersionRecord.created_at.desc(), ModelVersionRecord.id.desc())
        .limit(1)
    )
    return session.scalar(statement)


def add_model_version(
    session: Session, *, kind: str, version: str, path: str, metrics: Mapping[str, Any]
) -> None:
    """Record a trained model."""
    session.add(ModelVersionRecord(kind=kind, version=version, path=path, metrics=dict(metrics)))


def _seconds(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    # SQLite hands back naive datetimes: they were stored as UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def labelled_times(session: Session, *, item_ids: Collection[int] | None = None) -> dict[int, float]:
    """Item id -> when it was last labelled, in seconds: its newest decision, else its date.

    Args:
        session: an open session.
        item_ids: only these items (every item when None).
    """
    items = select(ItemRecord.id, ItemRecord.published_at, ItemRecord.created_at)
    newest = select(DecisionRecord.item_id, func.max(DecisionRecord.at)).group_by(DecisionRecord.item_id)
    if item_ids is not None:
        items = items.where(ItemRecord.id.in_(sorted(item_ids)))
        newest = newest.where(DecisionRecord.item_id.in_(sorted(item_ids)))
    times = {
        item_id: _seconds(published or created) for item_id, published, created in session.execute(items)
    }
    for item_id, at in session.execute(newest):
        times[item_id] = max(times.get(item_id, 0.0), _seconds(at))
    return times
