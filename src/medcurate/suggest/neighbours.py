"""The learner's ``knn`` feature: the labels of an item's nearest stored items, weighed by similarity.

Pure numpy over one item's similarities to the model's stored items; ``engine`` calls it for every
item it scores. Each neighbour votes its row of the vote matrix (1 carries the label, -1 an editor
rejected it) with weight similarity ** ``vote_power`` times its recency weight; the feature is the
weighted mean of those votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medcurate.suggest.labels import Matrix


@dataclass(frozen=True)
class NeighbourVotes:
    """Each label's vote among an item's nearest stored items, and which items voted."""

    votes: Matrix  # per label, in [-1, 1]
    neighbours: npt.NDArray[np.int64]  # the voting stored items, nearest first


def neighbour_votes(
    *,
    similarities: npt.NDArray[np.floating],
    candidates: npt.NDArray[np.bool_],
    votes: Matrix,
    recency: Matrix,
    count: int,
    vote_power: float,
) -> NeighbourVotes:
    """The ``count`` nearest ``candidates`` (stored items that may be neighbours) and their votes.

    Args:
        similarities: the item's similarity to each stored item.
        candidates: the stored items that may be its neighbours.
        votes: stored items x labels (1, -1 or 0).
        recency: each stored item's weight for how recently it was labelled.
        count: how many neighbours vote.
        vote_power: how sharply a nearer neighbour outweighs a farther one.
    """
    feature = np.zeros(votes.shape[1])
    count = min(count, int(candidates.sum()))
    ranked = np.argsort(-np.where(candidates, similarities, -np.inf), kind="stable")
    neighbours = ranked[:count]
    weights = np.maximum(similarities[neighbours], 0.0) ** vote_power * recency[neighbours]
    if weights.sum() > 0:
        feature = weights @ votes[neighbours] / weights.sum()
    return NeighbourVotes(votes=feature, neighbours=neighbours)
