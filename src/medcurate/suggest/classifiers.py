"""The per-label classifiers of the learner, and their output on a common scale across labels.

``fit_classifiers``: one balanced logistic regression per label on the item embeddings. A class
(the label's items, or the others) larger than ``max_class_rows`` is fitted on a seeded sample of
that many: a linear model over the embedding's 384 dimensions learns nearly as much from a thousand
items of a class as from all of them (P@1 0.01 lower on ``bench/suggest_scale.py``'s synthetic site),
and with balanced class weights a sample moves neither class's weight. So a label's fit, and each
editor's decision that refits it (``online``), costs the same at a hundred thousand items as at two
thousand (on our machines a fit on two thousand rows took ten times one on a thousand).

``rank_among_negatives``: how an item ranks among the label's negatives. A classifier fitted on a
broad label with dozens of examples gives an item like them a probability near 0.5; one fitted on a
label an editor has just added, with one or two examples, gives an item just as like them a
probability near 0.2, because the regularisation outweighs so few positives. Compared across labels,
the raw probabilities so rank every new or rare label below the broad ones, whatever the item. Where
the item stands among the items that do not carry the label (the share of them it outscores) is on
the same scale for every label: an item closer to the label's examples than nearly all of its
negatives ranks near 1, however few the examples. The ``classifier`` feature is the mean of the two
(``engine``): the probability keeps what the classifier knows of broad labels, the rank what it
knows of rare ones.

Each label keeps ``RANK_POINTS`` quantiles of its negatives' logits (computed when its classifier is
fitted), so an item is ranked in O(labels x points), independent of the number of stored items.
Written here because scikit-learn's ``QuantileTransformer`` fits every column on the same rows, and
each label's rows are its own (its negatives): one transformer per label for what ``np.quantile``
does in a line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from medcurate.suggest.embedding import Vector
from medcurate.suggest.labels import Matrix

RANK_POINTS = 65
DEFAULT_MAX_CLASS_ROWS = 1000
# Columns scored at once: a slice of items x columns logits, bounded whatever the store's size.
_COLUMNS_AT_ONCE = 32


@dataclass(frozen=True)
class FittedClassifiers:
    """One classifier per label column: weights, intercepts, which are fitted, and their ranks."""

    coef: Matrix
    intercept: Matrix
    active: npt.NDArray[np.bool_]
    # Labels x RANK_POINTS: quantiles of each classifier's logits over the label's negatives.
    ranks: Matrix


def fit_classifiers(
    vectors: Vector,
    votes: Matrix | sparse.spmatrix,
    *,
    c: float,
    max_class_rows: int = DEFAULT_MAX_CLASS_ROWS,
    seed: int = 0,
) -> FittedClassifiers:
    """One balanced logistic regression per label column (none for a label no item or every item has).

    ``votes``: items x labels (dense or sparse), positive where an item carries the label; ``c``: the
    inverse of the regularisation strength; ``max_class_rows``: the most items of each class a fit
    sees (a larger class is sampled, with ``seed``). The ranks are measured on every stored item.
    """
    rng = np.random.default_rng(seed)
    n_labels = votes.shape[1]
    coef = np.zeros((n_labels, vectors.shape[1]))
    intercept = np.zeros(n_labels)
    active = np.zeros(n_labels, dtype=bool)
    carried = _carried_by_column(votes)
    for column in range(n_labels):
        target = carried[:, column].toarray().ravel()
        if target.all() or not target.any():
            continue
        rows = training_rows(target, max_class_rows=max_class_rows, rng=rng)
        classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
        classifier.fit(vectors[rows], target[rows])
        coef[column] = classifier.coef_[0]
        intercept[column] = classifier.intercept_[0]
        active[column] = True
    return FittedClassifiers(
        coef=coef,
        intercept=intercept,
        active=active,
        ranks=negative_quantiles(vectors, votes, coef, intercept),
    )


def training_rows(
    target: npt.NDArray[np.bool_], *, max_class_rows: int, rng: np.random.Generator
) -> npt.NDArray[np.intp] | slice:
    """The rows one label's classifier is fitted on: all, or at most ``max_class_rows`` of each class."""
    members = (np.flatnonzero(target), np.flatnonzero(~target))
    if all(len(rows) <= max_class_rows for rows in members):
        return slice(None)
    sampled = [
        rng.choice(rows, size=max_class_rows, replace=False) if len(rows) > max_class_rows else rows
        for rows in members
    ]
    return np.sort(np.concatenate(sampled))


def negative_quantiles(
    vectors: Vector, votes: Matrix | sparse.spmatrix, coef: Matrix, intercept: Matrix
) -> Matrix:
    """Labels x ``RANK_POINTS``: the quantiles of each label's logit over the stored items without it.

    ``vectors``: the stored items; ``votes``: items x labels, dense or sparse (positive where an item
    carries the label); ``coef`` and ``intercept``: the labels' classifiers. A label every item carries has no
    negatives: its row is all ``+inf``, so every item ranks 0 for it.
    """
    n_labels = votes.shape[1]
    quantiles = np.full((n_labels, RANK_POINTS), np.inf)
    points = np.linspace(0.0, 1.0, RANK_POINTS)
    carried = _carried_by_column(votes)
    for first in range(0, n_labels, _COLUMNS_AT_ONCE):
        columns = slice(first, min(first + _COLUMNS_AT_ONCE, n_labels))
        # In the vectors' precision: a float64 product would first copy the whole store to float64.
        logits = np.asarray(vectors @ coef[columns].T.astype(vectors.dtype) + intercept[columns])
        negative = ~carried[:, columns].toarray()
        for offset in range(logits.shape[1]):
            values = logits[negative[:, offset], offset]
            if len(values):
                quantiles[first + offset] = np.quantile(values, points)
    return quantiles


def _carried_by_column(votes: Matrix | sparse.spmatrix) -> sparse.csc_matrix:
    """Items x labels, True where the item carries the label, by column: a label's items at once."""
    return sparse.csc_matrix(votes > 0, dtype=bool)


def rank_among_negatives(logits: Matrix, quantiles: Matrix) -> npt.NDArray[np.float64]:
    """Each label's share of its negatives that ``logits`` (one per label) exceeds, from its quantiles."""
    below = (quantiles < logits[:, None]).sum(axis=1)
    return np.asarray(below / RANK_POINTS, dtype=np.float64)
