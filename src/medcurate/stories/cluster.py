"""Items into stories: each new item joins the story it matches best on average, or stays alone.

Average link, online: a new item is scored against every earlier item of its window
(``score.evidence``), the scores are averaged per existing story (a lone item is a story of one),
and the item joins the story with the highest average if that average reaches the threshold. An
average over *all* members, rather than the best single pair (single link), is what stops chaining:
with single link, A-B-C-D, each pair alike in a different way, ends as one story though A and D share
nothing; here D must resemble the story as a whole.

Editors' decisions take precedence over scores: a *split* records that two items are not one story
(``cannot_link``: the item never joins a story holding the other), a *merge* that they are
(``must_link``: applied after the scores).

The same function serves ingestion (one new item against the stored stories) and ``stories rebuild``
(every item in date order, :func:`cluster_all`), so a rebuild reproduces what ingestion built.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from medcurate.stories.features import StoryDoc
from medcurate.stories.score import PairEvidence, StoryModel, TermWeights, evidence

# Below this embedding cosine a pair cannot reach any sensible threshold unless it is a copy or shares
# an identifier (both checked apart): the cheap vectorised filter that keeps matching fast.
MEANING_FLOOR = 0.3


def _pair(a: int, b: int) -> frozenset[int]:
    return frozenset((a, b))


@dataclass(frozen=True)
class StoryChoice:
    """Where a new item goes: a story (by a member's item id), with the average score and the best pair."""

    item_id: int
    join_item: int | None
    score: float
    best: PairEvidence | None = None


def _within(doc: StoryDoc, other: StoryDoc, days: int) -> bool:
    if doc.day is None or other.day is None:
        return True
    return abs((doc.day - other.day).days) <= days


def plausible(doc: StoryDoc, candidates: Sequence[StoryDoc], model: StoryModel) -> list[StoryDoc]:
    """The candidates worth a full score: in the window and alike in meaning, or sharing an identifier."""
    kept: list[StoryDoc] = []
    ids = set(doc.identifiers)
    vectors = [c.vector for c in candidates]
    if doc.vector is not None and candidates and all(v is not None for v in vectors):
        cosines = np.stack([v for v in vectors if v is not None]) @ doc.vector
    else:
        cosines = np.ones(len(candidates))
    for other, cosine in zip(candidates, cosines, strict=True):
        if other.item_id == doc.item_id:
            continue
        if (ids & set(other.identifiers) and _within(doc, other, model.identifier_window_days)) or (
            cosine >= MEANING_FLOOR and _within(doc, other, model.identifier_window_days)
        ):
            kept.append(other)
    return kept


def assign(
    doc: StoryDoc,
    candidates: Sequence[StoryDoc],
    story_of: Mapping[int, int],
    *,
    weights: TermWeights,
    model: StoryModel,
    cannot_link: Collection[frozenset[int]] = (),
) -> StoryChoice:
    """Where ``doc`` belongs among ``candidates``, whose stories ``story_of`` gives (item -> story key).

    Args:
        doc: the new item.
        candidates: the items it may share a story with (its window), with their stories' members.
        story_of: each candidate's story key; a candidate missing from it is a story of one.
        weights: term rarity among the items compared.
        model: threshold and windows.
        cannot_link: pairs of item ids that editors split apart.

    Returns:
        The member of the story to join (None: the item starts its own) and the average score.
    """
    members: dict[int, list[StoryDoc]] = defaultdict(list)
    for other in candidates:
        if other.item_id != doc.item_id:
            members[story_of.get(other.item_id, -other.item_id)].append(other)
    scored = {o.item_id: evidence(doc, o, weights, model) for o in plausible(doc, candidates, model)}
    best: StoryChoice = StoryChoice(doc.item_id, None, 0.0)
    for group in members.values():
        if any(_pair(doc.item_id, o.item_id) in cannot_link for o in group):
            continue
        pairs = [scored.get(o.item_id) for o in group]
        average = sum(e.score for e in pairs if e is not None) / len(group)
        if average >= model.threshold and average > best.score:
            strongest = max((e for e in pairs if e is not None), key=lambda e: e.score)
            best = StoryChoice(doc.item_id, group[0].item_id, average, strongest)
    return best


@dataclass
class Clustering:
    """Stories as item-id sets, keyed by a member id (the first item of each story)."""

    story_of: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)

    def add(self, item_id: int, join_item: int | None) -> None:
        """Put ``item_id`` into the story of ``join_item`` (or a new story)."""
        key = self.story_of.get(join_item, join_item) if join_item is not None else item_id
        if key not in self.members:
            self.members[key] = [key] if key != item_id else []
            self.story_of[key] = key
        self.members[key].append(item_id)
        self.story_of[item_id] = key

    def union(self, a: int, b: int) -> None:
        """Make the stories of ``a`` and ``b`` one (an editor's merge)."""
        for item in (a, b):
            if item not in self.story_of:
                self.add(item, None)
        ka, kb = self.story_of[a], self.story_of[b]
        if ka == kb:
            return
        for item in self.members.pop(kb):
            self.story_of[item] = ka
            self.members[ka].append(item)

    def stories(self, *, min_size: int = 2) -> list[list[int]]:
        """Every story of at least ``min_size`` items."""
        return [sorted(m) for m in self.members.values() if len(m) >= min_size]


def _by_day(docs: Iterable[StoryDoc]) -> list[StoryDoc]:
    return sorted(docs, key=lambda d: (d.day or date.min, d.item_id))


def _ordinal(doc: StoryDoc) -> int:
    return (doc.day or date.min).toordinal()


def window_of(
    doc: StoryDoc, ordered: Sequence[StoryDoc], keys: Sequence[int], days: int, *, stop: int | None = None
) -> list[StoryDoc]:
    """The items of ``ordered[:stop]`` (sorted by day, ``keys`` their ordinals) within ``days`` of ``doc``."""
    stop = len(ordered) if stop is None else stop
    if doc.day is None:
        return list(ordered[:stop])
    undated = min(bisect_right(keys, date.min.toordinal()), stop)
    low = bisect_left(keys, _ordinal(doc) - days)
    high = min(bisect_right(keys, _ordinal(doc) + days), stop)
    return [*ordered[:undated], *ordered[max(low, undated) : high]]


def cluster_all(
    docs: Iterable[StoryDoc],
    model: StoryModel,
    *,
    cannot_link: Collection[frozenset[int]] = (),
    must_link: Iterable[tuple[int, int]] = (),
) -> Clustering:
    """Every item into stories, in date order, as ingestion would have put them."""
    ordered = _by_day(docs)
    keys = [_ordinal(d) for d in ordered]
    clustering = Clustering()
    for position, doc in enumerate(ordered):
        weights = TermWeights.of(window_of(doc, ordered, keys, model.window_days))
        earlier = window_of(doc, ordered, keys, model.identifier_window_days, stop=position)
        choice = assign(
            doc, earlier, clustering.story_of, weights=weights, model=model, cannot_link=cannot_link
        )
        clustering.add(doc.item_id, choice.join_item)
    for a, b in must_link:
        clustering.union(a, b)
    return clustering
