"""The learner's values: an item it learns from, its options, a fitted model and a scored label.

Pure data: ``engine`` fits and reads a ``LabelModel``, ``online`` extends it with each editor's
decision, ``persist`` writes and reads it. A model is immutable and shared by a server's requests;
what is derived from its store (the recency weights, the prior, the labels' title profiles)
is computed once per model, on first use. The stems of the stored titles and the stem counts of the
stored texts are carried from a model to the one that extends it (``title_rows``, ``stem_counts``),
so that an editor's decision stems its own item's words, not every stored item's, before the next
suggestion; the item vectors are a view of an array with spare rows (``rowstore``), so that a decision
writes its own item's vector, not a copy of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from medcurate.models import normalize_label
from medcurate.suggest.classifiers import DEFAULT_MAX_CLASS_ROWS
from medcurate.suggest.embedding import Vector
from medcurate.suggest.labels import LabelInfo, Matrix, Vocabulary
from medcurate.suggest.lexical import LabelProfiles, StemFrequencies, TitleTerms, label_profiles
from medcurate.suggest.neighbours import recency_weights
from medcurate.suggest.rowstore import GrowingRows
from medcurate.suggest.stacking import DEFAULT_MAX_STACK_ITEMS, DEFAULT_THRESHOLD

FEATURES = ("knn", "classifier", "prototype", "prior", "term", "title_term", "lexical")
DEFAULT_NEIGHBOURS = 10
DEFAULT_VOTE_POWER = 3.0
DEFAULT_FOLDS = 5
DEFAULT_CLASSIFIER_C = 1.0
DEFAULT_STACK_C = 1.0
DEFAULT_MIN_STACK_ITEMS = 30
DEFAULT_MIN_STACK_POSITIVES = 20
DEFAULT_SEED = 13
# Recency, in labelled items (not days, so that a quiet month does not erase the history): the kNN
# votes and the prior halve every HALF_LIFE items from the newest.
DEFAULT_HALF_LIFE = 150.0
# Cold-start weights, in FEATURES order, and intercept: a centred prototype similarity of 0.3 (a
# clear match) gives 0.5; a term match adds about as much as 0.1 of similarity, in the text and again
# in the title (larger term weights let a word that merely occurs outrank the article's subject); the
# lexical profile is a learned signal, left to the calibrated blend.
DEFAULT_BLEND = (5.0, 4.0, 8.0, 0.0, 0.8, 0.8, 0.0)
DEFAULT_BLEND_INTERCEPT = -2.4


@dataclass(frozen=True, kw_only=True)
class Example:
    """One item of the history: its text, its labels, and the labels an editor rejected for it."""

    key: str
    title: str
    text: str
    positives: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    # When it was last labelled (any increasing number): recent decisions weigh more.
    at: float = 0.0
    # An editor decided on it (accepted, added or rejected a label), as opposed to labels imported.
    decided: bool = False


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How the learner fits and scores."""

    neighbours: int = DEFAULT_NEIGHBOURS
    vote_power: float = DEFAULT_VOTE_POWER
    folds: int = DEFAULT_FOLDS
    classifier_c: float = DEFAULT_CLASSIFIER_C
    stack_c: float = DEFAULT_STACK_C
    min_stack_items: int = DEFAULT_MIN_STACK_ITEMS
    min_stack_positives: int = DEFAULT_MIN_STACK_POSITIVES
    min_gate_items: int = DEFAULT_MIN_STACK_ITEMS  # history items that measure the gate (``fit``)
    seed: int = DEFAULT_SEED
    half_life: float = DEFAULT_HALF_LIFE
    max_stack_items: int = DEFAULT_MAX_STACK_ITEMS  # held-out items that fit the blend (``stacking``)
    max_class_rows: int = DEFAULT_MAX_CLASS_ROWS  # items of each class a label's classifier sees


@dataclass(frozen=True, kw_only=True)
class ScoredLabel:
    """A label's calibrated score for one item and why."""

    label: str
    score: float
    reason: str


@dataclass(frozen=True, kw_only=True, eq=False)
class LabelModel:
    """A fitted learner: the kNN store, per-label classifiers, prototypes and the stacking weights."""

    labels: tuple[LabelInfo, ...]
    label_vectors: Vector
    keys: tuple[str, ...]
    titles: tuple[str, ...]
    item_vectors: Vector
    # Items x labels: 1 where the item carries the label, -1 where an editor rejected it. Sparse: an
    # item carries or rejects a few of the site's labels, so the store grows with its labels' uses.
    votes: sparse.csr_matrix
    classifier_coef: Matrix
    classifier_intercept: Matrix
    classifier_active: npt.NDArray[np.bool_]
    # Labels x ``classifiers.RANK_POINTS``: quantiles of each classifier's logits over its negatives.
    classifier_ranks: Matrix
    blend: tuple[float, ...] = DEFAULT_BLEND
    blend_intercept: float = DEFAULT_BLEND_INTERCEPT
    threshold: float = DEFAULT_THRESHOLD
    calibrated: bool = False
    centre: Vector = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    options: EngineOptions = field(default_factory=EngineOptions)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    metrics: Mapping[str, Any] = field(default_factory=dict)
    # When each stored item was last labelled (``Example.at``), and the words of the stored items.
    times: Matrix = field(default_factory=lambda: np.zeros(0))
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    # Rows from ``trained_rows`` on (None: none) are items editors decided on, since training or
    # before it (``Example.decided``): neighbours only when ``admitted``.
    trained_rows: int | None = None
    neighbour_gate: float = -1.0
    # Carried from the model this one extends: the stored titles' stems (``title_index``) and the
    # vocabulary's stem counts (``stem_frequencies``).
    title_rows: TitleTerms | None = None
    stem_counts: StemFrequencies | None = None
    # The array ``item_vectors`` is a view of, when it has spare rows for the next decision (``online``).
    vector_rows: GrowingRows | None = None

    @property
    def label_keys(self) -> tuple[str, ...]:
        """The normalised labels, in column order."""
        return tuple(normalize_label(info.label) for info in self.labels)

    @property
    def row_times(self) -> Matrix:
        """Each stored item's time (all equal when the model has none)."""
        return self.times if len(self.times) == len(self.keys) else np.zeros(len(self.keys))

    def admitted(self, similarities: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        """The stored items that may be neighbours of an item (``similarities``: to each stored item).

        Every item of the history; one editors decided on only when as similar as history items
        typically are to their nearest item sharing a label (``neighbour_gate``): a decision counts
        at once for items like it but, newer and so weighing more, does not push aside the history
        neighbours of items it says little about.
        """
        trained = len(self.keys) if self.trained_rows is None else self.trained_rows
        return np.asarray((np.arange(len(self.keys)) < trained) | (similarities >= self.neighbour_gate))

    @cached_property
    def history_positives(self) -> Matrix | None:
        """Per label, how many items of the history carry it (None: no decided items)."""
        if self.trained_rows is None:
            return None
        return np.asarray(self.carried[: self.trained_rows].sum(axis=0), dtype=np.float64).ravel()

    @cached_property
    def carried(self) -> sparse.csr_matrix:
        """Items x labels, 1 where the stored item carries the label."""
        return sparse.csr_matrix(self.votes > 0, dtype=np.float64)

    @cached_property
    def weights(self) -> Matrix:
        """Each stored item's weight in the kNN votes and the prior (halving every ``half_life`` items)."""
        return recency_weights(self.row_times, half_life=self.options.half_life)

    @cached_property
    def log_prior(self) -> Matrix:
        """Log (weighted) share of labelled items that carry each label (add-one-half smoothed)."""
        weights = self.weights
        # Weighted counts rescaled to the number of items: with every weight 1, the plain count.
        positives = (self.carried.T @ weights) * (len(self.keys) / max(float(weights.sum()), 1e-12))
        return np.asarray(np.log((positives + 0.5) / (len(self.keys) + 1.0)), dtype=np.float64)

    @cached_property
    def title_index(self) -> TitleTerms:
        """The stored titles' stems: those carried (``title_rows``) when they are of these titles."""
        carried = self.title_rows
        if carried is not None and carried.titles == self.titles:
            return carried
        return TitleTerms.of(self.titles)

    @cached_property
    def stem_frequencies(self) -> StemFrequencies:
        """The vocabulary's stem counts: those carried (``stem_counts``) when they are of this vocabulary."""
        carried = self.stem_counts
        if carried is not None and carried.vocabulary == self.vocabulary:
            return carried
        return StemFrequencies.of(self.vocabulary)

    @cached_property
    def profiles(self) -> LabelProfiles:
        """Each label's profile of title words (``lexical``), from the stored titles and votes."""
        return label_profiles(self.labels, self.title_index, self.votes, self.weights, self.stem_frequencies)
