"""Stories in the database: items' story features, story membership, primaries and editors' decisions.

Every read and write of ``stories``, ``story_members``, ``story_features`` and ``story_decisions``
goes through here; ``medcurate.stories.service`` decides, this module stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from medcurate.store.models import (
    ItemRecord,
    StoryDecisionRecord,
    StoryFeatureRecord,
    StoryMemberRecord,
    StoryRecord,
    utcnow,
)


@dataclass(frozen=True)
class StoredFeatures:
    """An item's stored story features with the item columns matching needs."""

    item_id: int
    url: str
    title: str
    day: date | None
    brand: str
    terms: tuple[str, ...]
    identifiers: tuple[str, ...]
    vector: bytes | None
    space: str
    signature: bytes | None


@dataclass(frozen=True)
class StoryItem:
    """One item of a story, as lists and the review page show it."""

    id: int
    url: str
    title: str
    brand: str
    state: str
    score: float
    reason: str
    source_type: str = ""


@dataclass(frozen=True)
class StoryView:
    """A story: its id, the editor's primary item (if chosen) and its items, primary first."""

    id: int
    primary_item_id: int | None
    items: tuple[StoryItem, ...]

    @property
    def outlets(self) -> int:
        """How many different outlets carry the story."""
        return len({i.brand or i.url for i in self.items})


@dataclass(frozen=True)
class StoryDecision:
    """An editor's split or merge of two items."""

    action: str
    item_a: int
    item_b: int
    score: float


def save_features(
    session: Session,
    *,
    item_id: int,
    day: date | None,
    brand: str,
    terms: Sequence[str],
    identifiers: Sequence[str],
    vector: bytes | None,
    space: str,
) -> None:
    """Store (or replace) an item's story features."""
    session.merge(
        StoryFeatureRecord(
            item_id=item_id,
            day=day,
            brand=brand[:255],
            terms=list(terms),
            identifiers=list(identifiers),
            vector=vector,
            space=space,
        )
    )


def items_without_features(session: Session, *, item_ids: Sequence[int] | None = None) -> list[int]:
    """Ids of items (all, or of ``item_ids``) whose story features are not stored yet."""
    statement = (
        select(ItemRecord.id)
        .outerjoin(StoryFeatureRecord, StoryFeatureRecord.item_id == ItemRecord.id)
        .where(StoryFeatureRecord.item_id.is_(None))
        .order_by(ItemRecord.id)
    )
    if item_ids is not None:
        statement = statement.where(ItemRecord.id.in_(list(item_ids)))
    return list(session.scalars(statement))


_FEATURE_COLUMNS: tuple[Any, ...] = (
    StoryFeatureRecord.item_id,
    ItemRecord.url,
    ItemRecord.title,
    StoryFeatureRecord.day,
    StoryFeatureRecord.brand,
    StoryFeatureRecord.terms,
    StoryFeatureRecord.identifiers,
    StoryFeatureRecord.vector,
    StoryFeatureRecord.space,
    ItemRecord.similarity_signature,
)


def _features_statement() -> Select[Any]:
    statement: Select[Any] = select(*_FEATURE_COLUMNS).join(
        ItemRecord, ItemRecord.id == StoryFeatureRecord.item_id
    )
    return statement


def _stored(row: Sequence[object]) -> StoredFeatures:
    item_id, url, title, day, brand, terms, identifiers, vector, space, signature = row
    return StoredFeatures(
        item_id=int(item_id),  # type: ignore[call-overload]
        url=str(url or ""),
        title=str(title or ""),
        day=day if isinstance(day, date) else None,
        brand=str(brand or ""),
        terms=tuple(terms) if isinstance(terms, list) else (),
        identifiers=tuple(identifiers) if isinstance(identifiers, list) else (),
        vector=vector if isinstance(vector, bytes) else None,
        space=str(space or ""),
        signature=signature if isinstance(signature, bytes) else None,
    )


def features_near(session: Session, *, day: date | None, days: int) -> list[StoredFeatures]:
    """Features of the items within ``days`` of ``day`` (and of undated items), oldest first."""
    statement = _features_statement()
    if day is not None:
        low, high = day - timedelta(days=days), day + timedelta(days=days)
        statement = statement.where(
            StoryFeatureRecord.day.is_(None) | StoryFeatureRecord.day.between(low, high)
        )
    rows = session.execute(statement.order_by(StoryFeatureRecord.day, StoryFeatureRecord.item_id))
    return [_stored(tuple(r)) for r in rows]


def all_features(session: Session) -> list[StoredFeatures]:
    """Every item's stored features."""
    rows = session.execute(_features_statement().order_by(StoryFeatureRecord.item_id))
    return [_stored(tuple(r)) for r in rows]


def story_keys(session: Session, *, item_ids: Iterable[int]) -> dict[int, int]:
    """The story id of each of ``item_ids`` that is in a story."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(StoryMemberRecord.item_id, StoryMemberRecord.story_id).where(
            StoryMemberRecord.item_id.in_(ids)
        )
    )
    return {int(item): int(story) for item, story in rows}


def join_story(session: Session, *, item_id: int, with_item: int, score: float, reason: str) -> int:
    """Put ``item_id`` into ``with_item``'s story (made when ``with_item`` is alone); the story's id."""
    story_id = session.scalar(
        select(StoryMemberRecord.story_id).where(StoryMemberRecord.item_id == with_item)
    )
    if story_id is None:
        story = StoryRecord()
        session.add(story)
        session.flush()
        story_id = story.id
        session.add(StoryMemberRecord(item_id=with_item, story_id=story_id, score=score, reason=reason))
    session.merge(StoryMemberRecord(item_id=item_id, story_id=story_id, score=score, reason=reason))
    session.execute(update(StoryRecord).where(StoryRecord.id == story_id).values(updated_at=utcnow()))
    return int(story_id)


def replace_all(
    session: Session, *, stories: Sequence[Sequence[int]], reasons: dict[int, tuple[float, str]]
) -> int:
    """Replace every story by ``stories`` (item id lists), keeping each primary still in its story."""
    primaries = set(
        session.scalars(select(StoryRecord.primary_item_id).where(StoryRecord.primary_item_id.is_not(None)))
    )
    session.execute(delete(StoryMemberRecord))
    session.execute(delete(StoryRecord))
    for members in stories:
        primary = next((m for m in members if m in primaries), None)
        story = StoryRecord(primary_item_id=primary)
        session.add(story)
        session.flush()
        for item in members:
            score, reason = reasons.get(item, (0.0, ""))
            session.add(StoryMemberRecord(item_id=item, story_id=story.id, score=score, reason=reason))
    return len(stories)


def _kind(front_matter: object) -> str:
    """The ``sourceType.type`` of stored front matter (what ``medcurate.intel`` classified)."""
    field = front_matter.get("sourceType") if isinstance(front_matter, dict) else None
    kind = field.get("type") if isinstance(field, dict) else None
    return kind if isinstance(kind, str) else ""


def feature_day(session: Session, *, item_id: int) -> date | None:
    """The day of an item's stored story features (None: undated or not computed)."""
    return session.scalar(select(StoryFeatureRecord.day).where(StoryFeatureRecord.item_id == item_id))


def _views(session: Session, story_ids: Sequence[int]) -> list[StoryView]:
    if not story_ids:
        return []
    rows = session.execute(
        select(
            StoryMemberRecord.story_id,
            ItemRecord.id,
            ItemRecord.url,
            ItemRecord.title,
            ItemRecord.brand,
            ItemRecord.state,
            StoryMemberRecord.score,
            StoryMemberRecord.reason,
            ItemRecord.front_matter,
        )
        .join(ItemRecord, ItemRecord.id == StoryMemberRecord.item_id)
        .where(StoryMemberRecord.story_id.in_(list(story_ids)))
        .order_by(StoryMemberRecord.story_id, ItemRecord.id)
    )
    items: dict[int, list[StoryItem]] = defaultdict(list)
    for story_id, item_id, url, title, brand, state, score, reason, front_matter in rows:
        items[int(story_id)].append(
            StoryItem(
                int(item_id),
                url or "",
                title or "",
                brand or "",
                state,
                float(score),
                reason,
                _kind(front_matter),
            )
        )
    primary_rows = session.execute(
        select(StoryRecord.id, StoryRecord.primary_item_id).where(StoryRecord.id.in_(list(story_ids)))
    )
    primaries = {int(story): primary for story, primary in primary_rows}
    views = []
    for story_id in story_ids:
        primary = primaries.get(story_id)
        members = sorted(items.get(story_id, []), key=lambda i: (i.id != primary, i.id))
        views.append(StoryView(story_id, primary, tuple(members)))
    return views


def list_stories(session: Session, *, min_items: int = 2) -> list[StoryView]:
    """Every story of at least ``min_items`` items, newest story first."""
    sizes = (
        select(StoryMemberRecord.story_id)
        .group_by(StoryMemberRecord.story_id)
        .having(func.count() >= min_items)
        .order_by(StoryMemberRecord.story_id.desc())
    )
    return _views(session, [int(s) for s in session.scalars(sizes)])


def story_view(session: Session, *, story_id: int) -> StoryView | None:
    """One story, or None when it does not exist."""
    views = _views(session, [story_id])
    return views[0] if views and views[0].items else None


def stories_of_items(
    session: Session, *, item_ids: Iterable[int], min_items: int = 2
) -> dict[int, StoryView]:
    """The story of each of ``item_ids`` that is in one of at least ``min_items`` items."""
    keys = story_keys(session, item_ids=item_ids)
    views = {v.id: v for v in _views(session, sorted(set(keys.values()))) if len(v.items) >= min_items}
    return {item: views[story] for item, story in keys.items() if story in views}


def set_primary(session: Session, *, story_id: int, item_id: int) -> None:
    """Make ``item_id`` (a member) the story's primary item."""
    session.execute(
        update(StoryRecord)
        .where(StoryRecord.id == story_id)
        .values(primary_item_id=item_id, updated_at=utcnow())
    )


def remove_members(session: Session, *, item_ids: Sequence[int]) -> int:
    """Take ``item_ids`` out of their stories, and delete stories left with fewer than two items."""
    story_ids = set(story_keys(session, item_ids=item_ids).values())
    session.execute(delete(StoryMemberRecord).where(StoryMemberRecord.item_id.in_(list(item_ids))))
    session.execute(
        update(StoryRecord)
        .where(StoryRecord.id.in_(story_ids), StoryRecord.primary_item_id.in_(list(item_ids)))
        .values(primary_item_id=None)
    )
    _drop_small(session, story_ids)
    return len(story_ids)


def _drop_small(session: Session, story_ids: Iterable[int]) -> None:
    for story_id in story_ids:
        count = session.scalar(select(func.count()).where(StoryMemberRecord.story_id == story_id)) or 0
        if count < 2:
            session.execute(delete(StoryMemberRecord).where(StoryMemberRecord.story_id == story_id))
            session.execute(delete(StoryRecord).where(StoryRecord.id == story_id))


def new_story(session: Session, *, item_ids: Sequence[int], reason: str) -> int:
    """A story of ``item_ids`` (items not in any story)."""
    story = StoryRecord()
    session.add(story)
    session.flush()
    for item in item_ids:
        session.add(StoryMemberRecord(item_id=item, story_id=story.id, score=1.0, reason=reason))
    return int(story.id)


def move_story(session: Session, *, source: int, target: int) -> None:
    """Move every item of story ``source`` into story ``target`` and delete ``source``."""
    session.execute(
        update(StoryMemberRecord).where(StoryMemberRecord.story_id == source).values(story_id=target)
    )
    session.execute(delete(StoryRecord).where(StoryRecord.id == source))
    session.execute(update(StoryRecord).where(StoryRecord.id == target).values(updated_at=utcnow()))


def record_decisions(
    session: Session, *, action: str, pairs: Iterable[tuple[int, int, float]], actor: str
) -> None:
    """Store an editor's split or merge as item pairs with the score matching gave them."""
    for a, b, score in pairs:
        session.add(
            StoryDecisionRecord(action=action, item_a=min(a, b), item_b=max(a, b), score=score, actor=actor)
        )


def decisions(session: Session) -> list[StoryDecision]:
    """Every split and merge decision, oldest first (a later one about the same pair wins)."""
    rows = session.execute(
        select(
            StoryDecisionRecord.action,
            StoryDecisionRecord.item_a,
            StoryDecisionRecord.item_b,
            StoryDecisionRecord.score,
        ).order_by(StoryDecisionRecord.id)
    )
    latest: dict[tuple[int, int], StoryDecision] = {}
    for action, a, b, score in rows:
        latest[(int(a), int(b))] = StoryDecision(action, int(a), int(b), float(score))
    return list(latest.values())
