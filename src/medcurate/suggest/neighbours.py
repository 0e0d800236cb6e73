"""The learner's ``knn`` feature: the labels of an item's nearest stored items, weighed by similarity.

Pure numpy over one item's similarities to the model's stored items; ``engine`` calls it for every
item it scores. Each neighbour votes its row of the vote matrix (1 carries the label, -1 an editor
rejected it) with weight similarity ** ``vote_power`` times its recency weight; the feature is the
weighted mean of those votes.

Items editors decided on (``Example.decided``) vote in full only when ``admitted`` (as close as
same-label items of the history typically are): newer, so weighing more, they would otherwise push
aside the history neighbours of items they say little about, and swap broad labels both ways; a
training keeps them behind that gate (``bench/replay_bound.py``: without it, MiniLM fitted on the
history and the decided items ranked a dev split's stream worse than the history alone on two of
four splits). A decided item among the nearest that is not admitted still votes, beside the
neighbours, for the labels the history knows little about: its vote for a label weighs 1 / (n + 1),
n the history items carrying the label. A label the editors started using after training (n = 0) is
then learned from all its decided items, the first examples it has; a broad label (n in the tens) is
left to the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from medcurate.suggest.labels import Matrix


@dataclass(frozen=True)
class NeighbourVotes:
    """Each label's vote among an item's nearest stored items, and which items voted."""

    votes: Matrix  # per label, in [-1, 1]
    neighbours: npt.NDArray[np.int64]  # the admitted stored items that voted, nearest first
    # Decided items among the nearest that were not admitted: they voted for little-known labels.
    farther: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def neighbour_votes(
    *,
    similarities: npt.NDArray[np.floating],
    candidates: npt.NDArray[np.bool_],
    admitted: npt.NDArray[np.bool_],
    votes: Matrix | sparse.csr_matrix,
    recency: Matrix,
    count: int,
    vote_power: float,
    history_positives: Matrix | None = None,
) -> NeighbourVotes:
    """The ``count`` nearest admitted ``candidates`` and their votes, and the farther decided items'.

    Args:
        similarities: the item's similarity to each stored item.
        candidates: the stored items that may be its neighbours (not the item itself).
        admitted: the stored items that vote in full (the history, and decided items close enough).
        votes: stored items x labels (1, -1 or 0), dense or sparse.
        recency: each stored item's weight for how recently it was labelled.
        count: how many neighbours vote.
        vote_power: how sharply a nearer neighbour outweighs a farther one.
        history_positives: per label, how many history items carry it; None: no farther votes.
    """
    feature = np.zeros(votes.shape[1])
    eligible = int(candidates.sum())
    masked = np.where(candidates, similarities, -np.inf)
    # The nearest candidates until ``count`` of them are admitted (decided items below the gate are few).
    depth = min(count, eligible)
    while True:
        ranked = nearest_first(masked, depth)
        neighbours = ranked[admitted[ranked]][:count]
        if len(neighbours) == count or depth >= eligible:
            break
        depth = min(eligible, 2 * depth)
    nearest = ranked[:count]

    def weighed(rows: npt.NDArray[np.int64]) -> Matrix:
        return np.asarray(np.maximum(similarities[rows], 0.0) ** vote_power * recency[rows])

    weights = weighed(neighbours)
    total = float(weights.sum())
    if total <= 0:
        return NeighbourVotes(votes=feature, neighbours=neighbours)
    feature = np.asarray(votes[neighbours].T @ weights) / total
    if history_positives is None:
        return NeighbourVotes(votes=feature, neighbours=neighbours)
    farther = nearest[~admitted[nearest]]
    shrunk = np.asarray(votes[farther].T @ weighed(farther)) / (history_positives + 1.0)
    feature = np.clip(feature + shrunk / total, -1.0, 1.0)
    return NeighbourVotes(votes=feature, neighbours=neighbours, farther=farther)


def nearest_first(similarities: npt.NDArray[np.floating], count: int) -> npt.NDArray[np.int64]:
    """The indices of the ``count`` largest ``similarities``, largest first and ties by index.

    What a stable ``argsort`` of the negated similarities begins with, by a partial sort: time linear
    in the stored items, where sorting them all took most of a suggestion at 100,000 items.
    """
    size = len(similarities)
    if count >= size:
        return np.argsort(-similarities, kind="stable")
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(similarities, size - count)[size - count]  # the count-th largest
    above = np.flatnonzero(similarities > kth)
    tied = np.flatnonzero(similarities == kth)[: count - len(above)]
    chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, -similarities[chosen]))]


def recency_weights(times: Sequence[float] | Matrix, *, half_life: float) -> Matrix:
    """Weights halving every ``half_life`` items newer than each one (``times``: larger is newer).

    Items of the same time weigh the same; ``half_life`` 0 or less weighs every item 1.
    """
    values = np.asarray(times, dtype=np.float64)
    if half_life <= 0 or not len(values):
        return np.ones(len(values))
    ordered = np.sort(values)
    newer = len(values) - np.searchsorted(ordered, values, side="right")
    return np.asarray(0.5 ** (newer / half_life), dtype=np.float64)
