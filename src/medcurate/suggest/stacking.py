"""The held-out folds that fit the stacking blend, and the blend's threshold.

``stacking_folds``: the blend has seven weights and an intercept, which a few thousand held-out
items (times the site's labels: rows of the blend's regression) pin down, while each held-out item
costs a pass over the whole store (its neighbours, ``engine``). A history of at most ``max_items``
items is held out in full (``KFold``, shuffled, as before there was a cap); a larger one holds out a
seeded sample of ``max_items``, in the same folds, and each fold's model learns from every other
item. So training time grows with the store, not with its square.

``micro_f1_threshold``: the probability above which a label is suggested, chosen on the held-out rows
to maximise micro-F1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import KFold

from medcurate.suggest.labels import Matrix

DEFAULT_MAX_STACK_ITEMS = 2000
DEFAULT_THRESHOLD = 0.5
_THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))

Rows = npt.NDArray[np.intp]


def stacking_folds(n_items: int, *, folds: int, max_items: int, seed: int) -> list[tuple[Rows, Rows]]:
    """(training rows, held-out rows) per fold: every item held out once, or a sample of ``max_items``."""
    everything = np.arange(n_items)
    held_out = everything
    if n_items > max_items:
        held_out = np.sort(np.random.default_rng(seed).choice(n_items, size=max_items, replace=False))
    splitter = KFold(n_splits=min(folds, len(held_out)), shuffle=True, random_state=seed)
    return [
        (np.setdiff1d(everything, held_out[fold], assume_unique=True), held_out[fold])
        for _, fold in splitter.split(held_out)
    ]


def micro_f1_threshold(probabilities: Matrix, targets: Matrix) -> float:
    """The grid threshold with the best micro-F1 of ``probabilities`` (rows x labels) against ``targets``."""
    best, best_f1 = DEFAULT_THRESHOLD, -1.0
    for threshold in _THRESHOLD_GRID:
        predicted = probabilities >= threshold
        true_positives = float((predicted & (targets > 0)).sum())
        denominator = float(predicted.sum() + (targets > 0).sum())
        f1 = 2 * true_positives / denominator if denominator else 0.0
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best
