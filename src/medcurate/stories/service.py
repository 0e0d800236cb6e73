"""Stories of stored items: place a new item, rebuild all, list, evaluate, split, merge, pick the primary.

The model work (entities, the MiniLM embedding) happens outside any transaction; each write is one
short transaction. Ingestion calls :func:`place_item` for every stored item (``batchrun``);
``medcurate stories rebuild`` calls :func:`rebuild`. Editors' decisions are audited
(``story.split``, ``story.merge``, ``story.primary``) and learned (``medcurate.stories.learn``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medcurate.dedupe import signature as text_signature
from medcurate.errors import InvalidInput, NotFound
from medcurate.store import stories as store
from medcurate.store.db import Database
from medcurate.store.repository import get_item, item_from_record, record_audit
from medcurate.stories.cluster import assign, cluster_all, window_of
from medcurate.stories.evaluate import PairwiseScores, labelled_ids, load_labels, pairwise
from medcurate.stories.features import StoryDoc, doc_from_item, with_vectors
from medcurate.stories.learn import MERGE, SPLIT, Lessons, lessons
from medcurate.stories.score import TermWeights, evidence

if TYPE_CHECKING:
    from medcurate.suggest.embedding import TextEncoder

FEATURE_BATCH = 64


def _encoder(encoder: TextEncoder | None) -> TextEncoder:
    if encoder is not None:
        return encoder
    from medcurate.suggest.embedding import default_encoder

    return default_encoder()


def _space(encoder: TextEncoder) -> str:
    from medcurate.suggest.embedding import encoder_space

    return encoder_space(encoder)


def _doc(row: store.StoredFeatures) -> StoryDoc:
    vector = np.frombuffer(row.vector, dtype=np.float32) if row.vector else None
    return StoryDoc(
        item_id=row.item_id,
        url=row.url,
        title=row.title,
        text="",
        day=row.day,
        brand=row.brand,
        identifiers=row.identifiers,
        signature=row.signature,
        entities=frozenset(row.terms),
        vector=vector,
    )


def compute_features(
    database: Database, item_ids: Sequence[int], *, encoder: TextEncoder | None = None
) -> int:
    """Compute and store the story features of ``item_ids`` (read, embed, then write)."""
    model = _encoder(encoder)
    done = 0
    for start in range(0, len(item_ids), FEATURE_BATCH):
        with database.session() as session:
            docs = []
            for item_id in item_ids[start : start + FEATURE_BATCH]:
                record = get_item(session, item_id=item_id)
                # Ingested items keep the page's text and a brief as body; imported ones the other way
                # round (their text is the description): the longer of the two is the article.
                text = max(record.text or "", record.body or "", key=len)
                signature = record.similarity_signature or text_signature(text)
                docs.append(doc_from_item(item_id, item_from_record(record), text=text, signature=signature))
        embedded = with_vectors(docs, model)  # outside the transaction: the slow part
        with database.session() as session:
            for doc in embedded:
                store.save_features(
                    session,
                    item_id=doc.item_id,
                    day=doc.day,
                    brand=doc.brand,
                    terms=sorted(doc.terms),
                    identifiers=doc.identifiers,
                    vector=doc.vector.astype(np.float32).tobytes() if doc.vector is not None else None,
                    space=_space(model),
                )
        done += len(embedded)
    return done


def current_lessons(database: Database) -> Lessons:
    """The constraints and threshold that editors' decisions give."""
    with database.session() as session:
        return lessons(store.decisions(session))


@dataclass(frozen=True)
class Placement:
    """Where ingestion put an item: the story joined (None: alone) and why."""

    item_id: int
    story_id: int | None
    score: float
    reason: str


def place_item(database: Database, *, item_id: int, encoder: TextEncoder | None = None) -> Placement:
    """Compute a new item's features and put it into the story it matches, if any."""
    compute_features(database, [item_id], encoder=encoder)
    learned = current_lessons(database)
    model = learned.model
    with database.session() as session:
        day = store.feature_day(session, item_id=item_id)
        near = store.features_near(session, day=day, days=model.identifier_window_days)
        docs = [_doc(r) for r in near]
        story_of = store.story_keys(session, item_ids=[d.item_id for d in docs])
    doc = next((d for d in docs if d.item_id == item_id), None)
    if doc is None:
        return Placement(item_id, None, 0.0, "no features")
    keys = [(d.day.toordinal() if d.day else 0) for d in docs]
    weights = TermWeights.of(window_of(doc, docs, keys, model.window_days))
    others = [d for d in docs if d.item_id != item_id]
    choice = assign(doc, others, story_of, weights=weights, model=model, cannot_link=learned.cannot_link)
    if choice.join_item is None:
        return Placement(item_id, None, choice.score, "")
    reason = choice.best.reason() if choice.best else ""
    with database.session() as session:
        story_id = store.join_story(
            session, item_id=item_id, with_item=choice.join_item, score=choice.score, reason=reason
        )
    return Placement(item_id, story_id, choice.score, reason)


@dataclass(frozen=True)
class RebuildReport:
    """What ``stories rebuild`` did."""

    items: int
    featurised: int
    stories: int
    threshold: float


def rebuild(
    database: Database, *, encoder: TextEncoder | None = None, refresh: bool = False
) -> RebuildReport:
    """Recompute every story from the stored items (features where missing, or all with ``refresh``)."""
    with database.session() as session:
        missing = store.items_without_features(session)
        if refresh:
            missing = sorted({*missing, *(r.item_id for r in store.all_features(session))})
    featurised = compute_features(database, missing, encoder=encoder) if missing else 0
    learned = current_lessons(database)
    with database.session() as session:
        docs = [_doc(r) for r in store.all_features(session)]
    clustering = cluster_all(
        docs, learned.model, cannot_link=learned.cannot_link, must_link=learned.must_link
    )
    stories = clustering.stories()
    with database.session() as session:
        count = store.replace_all(session, stories=stories, reasons={})
    return RebuildReport(len(docs), featurised, count, learned.model.threshold)


def all_stories(database: Database) -> list[store.StoryView]:
    """Every story of two or more items."""
    with database.session() as session:
        return store.list_stories(session)


def evaluate_stories(database: Database, labels: Path) -> tuple[PairwiseScores, list[str]]:
    """Pairwise scores of the stored stories against a labels file, and the labelled URLs not stored."""
    views = all_stories(database)
    with database.session() as session:
        urls = {r.url: r.item_id for r in store.all_features(session) if r.url}
    truth, missing = labelled_ids(load_labels(labels), urls)
    predicted = [[i.id for i in view.items] for view in views]
    return pairwise(predicted, truth), missing


def _scores(database: Database, item: int, others: Sequence[int]) -> list[tuple[int, int, float]]:
    """The current pair scores of ``item`` with each of ``others`` (for the decision record)."""
    model = current_lessons(database).model
    with database.session() as session:
        rows = {r.item_id: _doc(r) for r in store.all_features(session) if r.item_id in {item, *others}}
    if item not in rows:
        return [(item, o, 0.0) for o in others]
    weights = TermWeights.of(rows.values())
    return [
        (item, o, evidence(rows[item], rows[o], weights, model).score if o in rows else 0.0) for o in others
    ]


def _story(database: Database, story_id: int) -> store.StoryView:
    with database.session() as session:
        view = store.story_view(session, story_id=story_id)
    if view is None:
        raise NotFound(f"no story {story_id}")
    return view


def split(database: Database, *, story_id: int, item_ids: Sequence[int], actor: str) -> int | None:
    """Take ``item_ids`` out of a story (into a story of their own when two or more): the new story's id."""
    view = _story(database, story_id)
    members = {i.id for i in view.items}
    moving = sorted(set(item_ids))
    if not moving or not set(moving) <= members or len(moving) >= len(members):
        raise InvalidInput("choose some, not all, of the story's items to split off")
    staying = sorted(members - set(moving))
    pairs = [p for item in moving for p in _scores(database, item, staying)]
    with database.session() as session:
        store.remove_members(session, item_ids=moving)
        new_id = (
            store.new_story(session, item_ids=moving, reason="split by an editor")
            if len(moving) > 1
            else None
        )
        store.record_decisions(session, action=SPLIT, pairs=pairs, actor=actor)
        record_audit(
            session,
            actor=actor,
            action="story.split",
            entity_type="story",
            entity_id=story_id,
            detail={"items": moving, "stayed": staying, "new_story": new_id},
        )
    return new_id


def merge(database: Database, *, story_id: int, other_story_id: int, actor: str) -> int:
    """Make two stories one (the first keeps its id and primary)."""
    if story_id == other_story_id:
        raise InvalidInput("a story cannot be merged with itself")
    keep, fold = _story(database, story_id), _story(database, other_story_id)
    pairs = [p for item in fold.items for p in _scores(database, item.id, [i.id for i in keep.items])]
    with database.session() as session:
        store.move_story(session, source=fold.id, target=keep.id)
        store.record_decisions(session, action=MERGE, pairs=pairs, actor=actor)
        record_audit(
            session,
            actor=actor,
            action="story.merge",
            entity_type="story",
            entity_id=keep.id,
            detail={"merged": fold.id, "items": [i.id for i in fold.items]},
        )
    return keep.id


def merge_items(database: Database, *, item_id: int, other_item_id: int, actor: str) -> int:
    """Make the stories of two items one (an item alone becomes part of the other's story)."""
    with database.session() as session:
        keys = store.story_keys(session, item_ids=[item_id, other_item_id])
        for item in (item_id, other_item_id):
            if item not in keys:
                keys[item] = store.new_story(session, item_ids=[item], reason="merged by an editor")
    if keys[item_id] == keys[other_item_id]:
        return keys[item_id]
    return merge(database, story_id=keys[item_id], other_story_id=keys[other_item_id], actor=actor)


def choose_primary(database: Database, *, story_id: int, item_id: int, actor: str) -> None:
    """Make ``item_id`` the item of the story that is published; the others become "also covered by"."""
    view = _story(database, story_id)
    if item_id not in {i.id for i in view.items}:
        raise InvalidInput(f"item {item_id} is not in story {story_id}")
    with database.session() as session:
        store.set_primary(session, story_id=story_id, item_id=item_id)
        record_audit(
            session,
            actor=actor,
            action="story.primary",
            entity_type="story",
            entity_id=story_id,
            detail={"item": item_id, "previous": view.primary_item_id},
        )
