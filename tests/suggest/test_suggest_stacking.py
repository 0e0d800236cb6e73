"""The blend's held-out folds: every item held out once on a small site, a bounded sample on a large one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import KFold

from medcurate.suggest.stacking import micro_f1_threshold, stacking_folds


def test_a_site_within_the_cap_holds_out_every_item_once_as_kfold_does() -> None:
    plan = stacking_folds(23, folds=5, max_items=23, seed=13)
    expected = list(KFold(n_splits=5, shuffle=True, random_state=13).split(np.arange(23)))
    assert len(plan) == 5
    for (train, held), (train_kf, held_kf) in zip(plan, expected, strict=True):
        assert np.array_equal(train, train_kf) and np.array_equal(held, held_kf)


@settings(max_examples=40, deadline=None)
@given(n_items=st.integers(2, 400), max_items=st.integers(2, 120), folds=st.integers(2, 6))
def test_each_fold_learns_from_every_item_it_does_not_hold_out(
    n_items: int, max_items: int, folds: int
) -> None:
    plan = stacking_folds(n_items, folds=folds, max_items=max_items, seed=3)
    held = np.concatenate([held_out for _, held_out in plan])
    assert len(held) == len(set(held.tolist())) == min(n_items, max_items)
    for train, held_out in plan:
        assert not set(train.tolist()) & set(held_out.tolist())
        assert len(train) + len(held_out) == n_items


def test_a_large_site_holds_out_the_same_sample_each_time() -> None:
    first = stacking_folds(100_000, folds=5, max_items=2000, seed=13)
    again = stacking_folds(100_000, folds=5, max_items=2000, seed=13)
    assert sum(len(held) for _, held in first) == 2000
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    # Spread over the whole history, not its first rows.
    assert max(held.max() for _, held in first) > 90_000


def test_the_threshold_maximises_micro_f1_on_the_held_out_rows() -> None:
    probabilities = np.array([[0.9, 0.35], [0.3, 0.8], [0.32, 0.1]])
    targets = np.array([[1, 1], [0, 1], [0, 0]])
    # 0.35 keeps all three true labels and lets no false one in.
    assert micro_f1_threshold(probabilities, targets) == 0.35
