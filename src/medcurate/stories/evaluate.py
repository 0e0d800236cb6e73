"""Measuring stories against labels: pairwise precision, recall and F1, and the baselines.

A labels file is JSON, either a list of clusters or ``{"clusters": [...]}``, each cluster a list of
article URLs (``tests/fixtures/stories/labels.json``). URLs are matched through
``medcurate.dedupe.url_key``, so ``http://www.`` and ``https://`` spellings of one page agree. Every
item not in a labelled cluster is a story of its own.

Pairwise scores count pairs of items: a predicted pair is right when both items are in one
labelled cluster. The baselines cluster by single link (connected components of the pairs whose
similarity reaches a threshold) over TF-IDF and over MiniLM cosines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medcurate.dedupe import url_key
from medcurate.errors import ConfigError


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise precision, recall and F1 of predicted stories against labelled ones."""

    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    labelled_pairs: int
    correct_pairs: int

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``stories evaluate --json``)."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "predicted_pairs": self.predicted_pairs,
            "labelled_pairs": self.labelled_pairs,
            "correct_pairs": self.correct_pairs,
        }


def load_labels(path: Path) -> list[list[str]]:
    """The clusters of URLs in a labels file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the labels file {path}: {exc}") from exc
    clusters = data.get("clusters") if isinstance(data, dict) else data
    if not isinstance(clusters, list) or not all(
        isinstance(c, list) and all(isinstance(u, str) for u in c) for c in clusters
    ):
        raise ConfigError(f"{path}: expected a list of clusters, each a list of URLs")
    return [list(c) for c in clusters]


def _pairs(clusters: Iterable[Iterable[int]]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for cluster in clusters:
        found.update(combinations(sorted(set(cluster)), 2))
    return found


def pairwise(predicted: Iterable[Iterable[int]], labelled: Iterable[Iterable[int]]) -> PairwiseScores:
    """Pairwise scores of ``predicted`` stories (lists of item ids) against ``labelled`` ones."""
    guess, truth = _pairs(predicted), _pairs(labelled)
    correct = len(guess & truth)
    precision = correct / len(guess) if guess else 0.0
    recall = correct / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, len(guess), len(truth), correct)


def labelled_ids(
    clusters: Sequence[Sequence[str]], ids_by_url: dict[str, int]
) -> tuple[list[list[int]], list[str]]:
    """The labelled clusters as item ids, and the labelled URLs found in no item."""
    by_key = {url_key(url): item for url, item in ids_by_url.items()}
    found: list[list[int]] = []
    missing: list[str] = []
    for cluster in clusters:
        ids = []
        for url in cluster:
            item = by_key.get(url_key(url))
            if item is None:
                missing.append(url)
            else:
                ids.append(item)
        found.append(ids)
    return found, missing


def single_link(similarity: npt.NDArray[np.floating[Any]], threshold: float) -> list[list[int]]:
    """Connected components of the pairs at or above ``threshold`` (row indexes)."""
    parent = list(range(len(similarity)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(similarity >= threshold, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(similarity)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def best_threshold(f1_at: Callable[[float], float], grid: Iterable[float]) -> tuple[float, float]:
    """The threshold of ``grid`` with the highest F1, and that F1.

    When several thresholds tie, the middle one of them: the one farthest from both edges of the
    best range, so the choice does not sit on the last pair the labels happened to hold.
    """
    scored = [(threshold, f1_at(threshold)) for threshold in grid]
    top = max((f1 for _, f1 in scored), default=0.0)
    tied = [threshold for threshold, f1 in scored if f1 == top]
    return (tied[len(tied) // 2] if tied else 0.0), top


def grid(low: float = 0.3, high: float = 0.96, step: float = 0.01) -> list[float]:
    """Thresholds from ``low`` to ``high``."""
    return [round(low + i * step, 4) for i in range(round((high - low) / step) + 1)]
