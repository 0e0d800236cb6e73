"""Rows that grow in place: the kNN store's item vectors, shared by the models that extend one another.

An editor's decision adds its item's vector to the store of a new model (models are immutable values,
shared by a server's requests). ``np.vstack`` copied the whole store for it: 154 MB at 100,000 MiniLM
vectors, time and memory that grew with the store for a change of one row. ``GrowingRows`` keeps spare
rows at the end of one array (a quarter more when it is full, so that appending costs what the new rows
cost, amortised) and hands each model a view of its own first rows. Rows written later, for a model that
extends it, lie beyond that view: no model ever sees its store change. Only the model whose rows end
where the array is filled appends in place; any other (a second decision on an older model, a store
with a row dropped) gets a new array.

Written here because NumPy arrays do not grow in place (``ndarray.resize`` refuses an array that has
views) and no library we use keeps such a shared, append-only array.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

# Spare rows given when an array is made: this share of its rows, and at least MIN_SPARE_ROWS.
SPARE_SHARE = 0.25
MIN_SPARE_ROWS = 64

Rows = npt.NDArray[Any]


class GrowingRows:
    """An append-only array of rows with spare capacity; each holder sees a view of its first rows."""

    def __init__(self, *parts: Rows) -> None:
        """An array holding ``parts`` one after another (each rows x the same columns), with spare rows."""
        filled = sum(len(part) for part in parts)
        spare = max(MIN_SPARE_ROWS, int(filled * SPARE_SHARE))
        self._array = np.empty((filled + spare, *parts[0].shape[1:]), dtype=parts[0].dtype)
        start = 0
        for part in parts:
            self._array[start : start + len(part)] = part
            start += len(part)
        self._filled = filled
        self._lock = threading.Lock()

    @property
    def filled(self) -> Rows:
        """The rows written so far, as a read-only view (rows written after this call are not in it)."""
        return self._view(self._filled)

    def _view(self, rows: int) -> Rows:
        view = self._array[:rows]
        view.flags.writeable = False  # the array is shared: only ``appending`` writes, past every view
        return view

    @property
    def capacity(self) -> int:
        """How many rows the array can hold before a new one is made."""
        return len(self._array)

    def holds(self, rows: Rows) -> bool:
        """Whether ``rows`` is a view of this array's first rows."""
        return (
            rows.base is self._array
            and rows.ctypes.data == self._array.ctypes.data
            and rows.shape[1:] == self._array.shape[1:]
            and len(rows) <= self._filled
        )

    def appending(self, rows: Rows, new: Rows) -> tuple[GrowingRows, Rows]:
        """``rows`` and then ``new``, and the ``GrowingRows`` whose view they are.

        In place (this object) when ``rows`` is this array's filled view and the spare rows suffice;
        otherwise in a new array. Two callers appending to the same rows at once never both write:
        the second finds the array filled past its rows and copies.
        """
        with self._lock:
            end = len(rows)
            if self.holds(rows) and end == self._filled and end + len(new) <= len(self._array):
                self._array[end : end + len(new)] = new
                self._filled = end + len(new)
                return self, self._view(self._filled)
        grown = GrowingRows(rows, new)
        return grown, grown.filled


def appended(rows: Rows, new: Rows, *, store: GrowingRows | None) -> tuple[GrowingRows, Rows]:
    """``rows`` then ``new``: in ``store``'s array when ``rows`` is its filled view, else in a new one."""
    if store is not None:
        return store.appending(rows, new)
    grown = GrowingRows(rows, new)
    return grown, grown.filled
