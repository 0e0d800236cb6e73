"""The kNN votes: decided items far from an item still teach it the labels the history lacks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcurate.suggest.embedding import item_vectors
from medcurate.suggest.engine import contributions, fit, predict
from medcurate.suggest.labelmodel import FEATURES, Example
from medcurate.suggest.neighbours import nearest_first, neighbour_votes
from medcurate.suggest.online import apply_decisions
from suggestsupport import fake_embed, two_label_history

# Four stored items, two labels: rows 0-2 the history, row 3 decided since training.
VOTES = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
SIMILARITIES = np.array([0.9, 0.2, 0.1, 0.5])
HISTORY_POSITIVES = np.array([1.0, 0.0])  # label 0 carried by one history item, label 1 by none


def _votes(admitted: list[bool], *, count: int = 3, history: bool = True) -> tuple[np.ndarray, list[int]]:
    voted = neighbour_votes(
        similarities=SIMILARITIES,
        candidates=np.ones(4, dtype=bool),
        admitted=np.array(admitted),
        votes=VOTES,
        recency=np.ones(4),
        count=count,
        vote_power=1.0,
        history_positives=HISTORY_POSITIVES if history else None,
    )
    return voted.votes, [int(i) for i in voted.farther]


def test_an_admitted_decided_item_votes_like_any_neighbour() -> None:
    feature, farther = _votes([True, True, True, True])
    # Neighbours 0 (0.9), 3 (0.5), 1 (0.2): weights sum 1.6.
    assert feature == pytest.approx([(0.9 + 0.5) / 1.6, 0.5 / 1.6])
    assert farther == []


def test_a_decided_item_not_admitted_votes_for_a_label_the_history_lacks_only() -> None:
    feature, farther = _votes([True, True, True, False])
    # Neighbours 0, 1, 2 (weights 1.2); the decided item is among the three nearest but not admitted:
    # its vote for label 0 (one history item) weighs 1/2, for label 1 (none) in full.
    assert farther == [3]
    assert feature == pytest.approx([(0.9 + 0.5 / 2) / 1.2, 0.5 / 1.2])


def test_without_history_counts_a_decided_item_not_admitted_does_not_vote() -> None:
    feature, farther = _votes([True, True, True, False], history=False)
    assert farther == []
    assert feature == pytest.approx([0.9 / 1.2, 0.0])


def test_a_decided_item_beyond_the_nearest_does_not_vote() -> None:
    feature, farther = _votes([True, True, True, False], count=1)
    assert farther == []  # the nearest one is item 0
    assert feature == pytest.approx([1.0, 0.0])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    count=st.integers(min_value=1, max_value=12),
)
def test_the_votes_stay_within_minus_one_and_one(seed: int, count: int) -> None:
    generator = np.random.default_rng(seed)
    items, labels = 15, 4
    feature = neighbour_votes(
        similarities=generator.uniform(-1, 1, items),
        candidates=generator.random(items) < 0.9,
        admitted=generator.random(items) < 0.6,
        votes=generator.choice([-1.0, 0.0, 1.0], size=(items, labels)),
        recency=generator.uniform(0.1, 1, items),
        count=count,
        vote_power=3.0,
        history_positives=generator.integers(0, 5, labels).astype(float),
    ).votes
    assert feature.shape == (labels,)
    assert np.all(np.abs(feature) <= 1.0 + 1e-12)


# Few distinct values, so that ties (a story stored twice) and -inf (an item that may not vote) occur.
_SIMILARITY_VALUES = st.sampled_from([-np.inf, -0.5, 0.0, 0.25, 0.5, 0.75, 0.9, 1.0])


@settings(max_examples=200, deadline=None)
@given(st.lists(_SIMILARITY_VALUES, max_size=40), st.integers(min_value=0, max_value=45))
def test_the_nearest_first_are_what_a_stable_sort_begins_with(values: list[float], count: int) -> None:
    similarities = np.array(values, dtype=np.float64)
    expected = np.argsort(-similarities, kind="stable")[:count]
    assert nearest_first(similarities, count).tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), count=st.integers(min_value=1, max_value=12))
def test_the_neighbours_are_those_of_a_sort_of_every_item_when_most_are_not_admitted(
    seed: int, count: int
) -> None:
    """The nearest are taken a few at a time, deeper until ``count`` are admitted: the same as sorting all."""
    generator = np.random.default_rng(seed)
    items = 60
    similarities = np.round(generator.uniform(-1, 1, items), 1)  # rounded: ties
    candidates = generator.random(items) < 0.9
    admitted = generator.random(items) < 0.2  # most of the nearest are not admitted: several rounds
    voted = neighbour_votes(
        similarities=similarities,
        candidates=candidates,
        admitted=admitted,
        votes=generator.choice([-1.0, 0.0, 1.0], size=(items, 3)),
        recency=np.ones(items),
        count=count,
        vote_power=1.0,
        history_positives=np.zeros(3),
    )
    ranked = np.argsort(-np.where(candidates, similarities, -np.inf), kind="stable")[: int(candidates.sum())]
    nearest = ranked[:count]
    assert voted.neighbours.tolist() == ranked[admitted[ranked]][:count].tolist()
    if np.maximum(similarities[voted.neighbours], 0.0).sum() > 0:  # else nobody votes, farther or not
        assert voted.farther.tolist() == nearest[~admitted[nearest]].tolist()


def test_a_label_added_since_training_reaches_an_item_too_far_for_the_gate() -> None:
    model = fit(two_label_history(40), labels=(), embed=fake_embed)
    decided = Example(key="item:new", title="new", text="story", positives=("Site: New",), at=100.0)
    updated = apply_decisions(model, [decided], embed=fake_embed)
    (example,) = item_vectors(fake_embed, ["new"], ["story"])
    (noise,) = item_vectors(fake_embed, ["other"], ["thing"])
    # An item like the decided one, but less than the gate: the decided item is not its neighbour.
    similarity = updated.neighbour_gate * 0.9
    vector = similarity * example + np.sqrt(1 - similarity**2) * noise
    vector = (vector / np.linalg.norm(vector)).astype(np.float32)
    assert not updated.admitted(updated.item_vectors @ vector)[-1]
    nearest = np.argsort(-(updated.item_vectors @ vector))[: updated.options.neighbours]
    assert len(updated.keys) - 1 in nearest  # but among its nearest stored items
    knn = FEATURES.index("knn")
    weighted = contributions(updated, vector=vector, title="an item", text="like it")
    assert weighted["site: new"][knn] / updated.blend[knn] > 0  # before: 0, it did not vote
    reasons = {s.label: s.reason for s in predict(updated, vector=vector, title="an item", text="like it")}
    assert "like an item you tagged New: “new”" in reasons["Site: New"]
