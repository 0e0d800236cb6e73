"""The kNN store's item vectors grow in place, and no model ever sees its own rows change."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcurate.suggest.embedding import item_vectors
from medcurate.suggest.engine import fit
from medcurate.suggest.labelmodel import Example
from medcurate.suggest.online import extend
from medcurate.suggest.rowstore import MIN_SPARE_ROWS, GrowingRows, appended
from suggestsupport import fake_embed, two_label_history

COLUMNS = 3


def _rows(first: int, count: int) -> np.ndarray:
    """``count`` rows whose cells are their row numbers from ``first``: each row tells where it came from."""
    return np.repeat(np.arange(first, first + count, dtype=np.float32)[:, None], COLUMNS, axis=1)


def test_appending_to_the_filled_rows_writes_in_place_and_leaves_earlier_views_as_they_were() -> None:
    store = GrowingRows(_rows(0, 5))
    before = store.filled
    same, after = store.appending(before, _rows(5, 2))
    assert same is store
    assert np.shares_memory(before, after)
    assert np.array_equal(before, _rows(0, 5))
    assert np.array_equal(after, _rows(0, 7))


def test_a_second_append_to_older_rows_copies_and_both_stay_right() -> None:
    store = GrowingRows(_rows(0, 5))
    older = store.filled
    _, first = store.appending(older, _rows(5, 1))
    other, second = store.appending(older, np.full((1, COLUMNS), 99.0, dtype=np.float32))
    assert other is not store
    assert not np.shares_memory(first, second)
    assert np.array_equal(first, _rows(0, 6))
    assert np.array_equal(second[:5], _rows(0, 5)) and np.all(second[5] == 99.0)
    assert np.array_equal(older, _rows(0, 5))


def test_a_full_array_is_followed_by_a_larger_one() -> None:
    store = GrowingRows(_rows(0, 1))
    rows = store.filled
    grown, rows = store.appending(rows, _rows(1, store.capacity))
    assert grown is not store
    assert grown.capacity >= len(rows) + MIN_SPARE_ROWS
    assert np.array_equal(rows, _rows(0, 1 + store.capacity))


def test_the_views_handed_out_are_read_only() -> None:
    store = GrowingRows(_rows(0, 3))
    _, rows = store.appending(store.filled, _rows(3, 1))
    with pytest.raises(ValueError, match="read-only"):
        rows[0, 0] = 7.0


def test_rows_of_no_array_are_copied_into_a_new_one() -> None:
    plain = _rows(0, 4)
    store, rows = appended(plain, _rows(4, 1), store=None)
    assert store.holds(rows) and not store.holds(plain)
    assert np.array_equal(rows, _rows(0, 5))


def test_two_threads_appending_to_the_same_rows_never_write_over_each_other() -> None:
    store = GrowingRows(_rows(0, 10))
    base = store.filled
    start = threading.Barrier(8)
    results: dict[int, np.ndarray] = {}

    def append(value: int) -> None:
        start.wait()
        results[value] = store.appending(base, np.full((3, COLUMNS), float(value), dtype=np.float32))[1]

    threads = [threading.Thread(target=append, args=(100 + i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for value, rows in results.items():
        assert np.array_equal(rows[:10], _rows(0, 10))
        assert np.all(rows[10:] == value)
    assert sum(np.shares_memory(rows, base) for rows in results.values()) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 40)), min_size=1, max_size=25))
def test_every_version_keeps_its_rows_whatever_is_appended_to_which(steps: list[tuple[int, int]]) -> None:
    """Each step appends rows to one earlier version (the newest or an older one); none changes."""
    first = GrowingRows(_rows(0, 2))
    versions = [(first, first.filled, _rows(0, 2))]
    for pick, count in steps:
        store, rows, expected = versions[min(pick, len(versions) - 1)]
        new = _rows(1000 * len(versions), count)
        grown, grown_rows = store.appending(rows, new)
        versions.append((grown, grown_rows, np.vstack([expected, new])))
        for _, version_rows, version_expected in versions:
            assert np.array_equal(version_rows, version_expected)


def test_decisions_on_one_model_and_on_an_older_one_each_see_their_own_store() -> None:
    model = fit(two_label_history(12), labels=(), embed=fake_embed)
    stored = len(model.keys)

    def decided(key: str, title: str) -> Example:
        return Example(key=key, title=title, text=title, positives=("Site: Own",), at=1e9, decided=True)

    def vector(title: str) -> np.ndarray:
        return item_vectors(fake_embed, [title], [title])[0]

    first = extend(model, [decided("one", "valet parking garage")], embed=fake_embed)
    second = extend(first, [decided("two", "parking permits downtown")], embed=fake_embed)
    branch = extend(first, [decided("three", "ransomware at a clinic")], embed=fake_embed)
    assert second.vector_rows is first.vector_rows  # appended in place
    assert branch.vector_rows is not first.vector_rows  # the array was filled past its rows: copied
    assert len(first.item_vectors) == stored + 1
    assert np.array_equal(first.item_vectors[:stored], model.item_vectors)
    for one, title in ((second, "parking permits downtown"), (branch, "ransomware at a clinic")):
        assert np.array_equal(one.item_vectors[: stored + 1], first.item_vectors)
        assert len(one.item_vectors) == len(one.keys) == stored + 2
        assert np.array_equal(one.item_vectors[-1], vector(title))
    again = extend(second, [decided("one", "valet parking garage, updated")], embed=fake_embed)
    assert again.keys == (*second.keys[:stored], "two", "one")  # a re-decided item moves to the end
    assert np.array_equal(again.item_vectors[stored], vector("parking permits downtown"))
    assert np.array_equal(again.item_vectors[-1], vector("valet parking garage, updated"))
    assert np.array_equal(second.item_vectors[-1], vector("parking permits downtown"))
