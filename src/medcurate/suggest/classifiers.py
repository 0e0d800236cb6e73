"""The per-label classifiers of the learner: one balanced logistic regression per label column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from medcurate.suggest.embedding import Vector
from medcurate.suggest.labels import Matrix


@dataclass(frozen=True)
class FittedClassifiers:
    """One classifier per label column: weights, intercepts, and which are fitted."""

    coef: Matrix
    intercept: Matrix
    active: npt.NDArray[np.bool_]


def fit_classifiers(vectors: Vector, votes: Matrix, *, c: float) -> FittedClassifiers:
    """One balanced logistic regression per label column (none for a label no item or every item has).

    ``votes``: items x labels, positive where an item carries the label; ``c``: the inverse of the
    regularisation strength.
    """
    n_labels = votes.shape[1]
    coef = np.zeros((n_labels, vectors.shape[1]))
    intercept = np.zeros(n_labels)
    active = np.zeros(n_labels, dtype=bool)
    for column in range(n_labels):
        target = votes[:, column] > 0
        if target.all() or not target.any():
            continue
        classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
        classifier.fit(vectors, target)
        coef[column] = classifier.coef_[0]
        intercept[column] = classifier.intercept_[0]
        active[column] = True
    return FittedClassifiers(coef=coef, intercept=intercept, active=active)
