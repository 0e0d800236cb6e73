"""The learner: which labels (topics, communities) fit an item, from its text and the editors' history.

Pure: texts and labels in, a ``LabelModel`` (numpy arrays and plain data) out; no database, no files.
Seven signals are computed for every (item, label) pair:

1. ``knn``: similarity-weighted votes of the nearest labelled items (``neighbours``; a reject votes -1, so
   a rejected label is pushed down for items like that one; an item an editor decided on is a
   neighbour only when as close as same-label items of the history typically are, ``admitted``, and
   among the nearest but farther it votes only for the labels the history knows little about);
2. ``classifier``: a per-label logistic regression on the item embeddings, its probability
   averaged with the item's rank among the label's negatives (``classifiers``), so that a label
   with few examples (one an editor has just added) is not outscored by the broad labels for items
   like its examples;
3. ``prototype``: cosine similarity of the item to the label's own text (the mean of its name's
   vector and of the vectors of its name, description and each synonym), the cold-start signal,
   measured from the domain's centre (``centre``: the mean vector of the bundled health-IT concepts)
   so that a broad label ("patient", "data") close to every health article does not win every item;
4. ``prior``: the log share of labelled items carrying the label;
5. ``term`` and 6. ``title_term``: the label's name or a synonym occurs, as a phrase, in the text or
   in the title;
7. ``lexical``: the item's title against the label's profile of title words, its name moved towards
   the titles of the items that carry it (Rocchio feedback, ``lexical``): what kind of news an item
   is ("raises $6M") is in its title more than in its meaning, and each decision moves the profile.

A logistic regression over these seven features ("stacking") is fitted on held-out folds of the
history, so its output is a calibrated probability and the threshold (chosen on the same folds to
maximise micro-F1) means something. Until there is enough history to fit it, fixed default weights
are used (``DEFAULT_BLEND``), which rank by prototype similarity and term matches. An item's vector
is the normalised sum of its text's and its title's embeddings (a title is a focused summary).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from medcurate.models import normalize_label
from medcurate.suggest.classifiers import DEFAULT_MAX_CLASS_ROWS, fit_classifiers, rank_among_negatives
from medcurate.suggest.embedding import Embed, Vector, item_vectors
from medcurate.suggest.labels import (
    LabelInfo,
    Matrix,
    Vocabulary,
    label_prototypes,
    term_hits,
    typical_neighbour_similarity,
)
from medcurate.suggest.lexical import LabelProfiles, label_profiles
from medcurate.suggest.neighbours import neighbour_votes, recency_weights
from medcurate.suggest.stacking import (
    DEFAULT_MAX_STACK_ITEMS,
    DEFAULT_THRESHOLD,
    micro_f1_threshold,
    stacking_folds,
)

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
DEFAULT_REASON_TITLES = 3
REASON_TITLE_CHARS = 60
# A stored item this similar with the same title is the item itself (or a copy): never a neighbour.
SELF_SIMILARITY = 0.995
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
    votes: Matrix
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
        return np.asarray((self.votes[: self.trained_rows] > 0).sum(axis=0), dtype=np.float64)

    @cached_property
    def weights(self) -> Matrix:
        """Each stored item's weight in the kNN votes and the prior (halving every ``half_life`` items)."""
        return recency_weights(self.row_times, half_life=self.options.half_life)

    @cached_property
    def log_prior(self) -> Matrix:
        """Log (weighted) share of labelled items that carry each label (add-one-half smoothed)."""
        weights = self.weights
        # Weighted counts rescaled to the number of items: with every weight 1, the plain count.
        positives = weights @ (self.votes > 0) * (len(self.keys) / max(float(weights.sum()), 1e-12))
        return np.asarray(np.log((positives + 0.5) / (len(self.keys) + 1.0)), dtype=np.float64)

    @cached_property
    def profiles(self) -> LabelProfiles:
        """Each label's profile of title words (``lexical``), from the stored titles and votes."""
        return label_profiles(self.labels, self.titles, self.votes, self.weights, self.vocabulary)


def _sigmoid(values: npt.NDArray[Any]) -> Matrix:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -30, 30))), dtype=np.float64)


# --- features --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signals:
    features: Matrix  # labels x FEATURES
    neighbours: npt.NDArray[np.int64]
    matched: list[list[str]]
    farther: npt.NDArray[np.int64]  # decided items that voted only for little-known labels


def _others(
    model: LabelModel, similarities: npt.NDArray[Any], *, key: str, title: str
) -> npt.NDArray[np.bool_]:
    """The stored items that are not the item being scored (by key, or same title and text)."""
    same = np.array([k == key for k in model.keys], dtype=bool) if key else np.zeros(len(model.keys), bool)
    titles = np.array([t == title for t in model.titles], dtype=bool)
    return np.asarray(~(same | (titles & (similarities >= SELF_SIMILARITY))), dtype=bool)


def _signals(
    model: LabelModel, vector: Vector, title: str, text: str, *, key: str = "", rarity: bool | None = None
) -> _Signals:
    """The FEATURES of every label for one item.

    ``rarity``: term matches weighed by how rare the phrase is in the stored items (by default once
    the blend is calibrated: the fixed cold-start weights expect plain matches).
    """
    n_labels = len(model.labels)
    features = np.zeros((n_labels, len(FEATURES)))
    neighbours = farther = np.zeros(0, dtype=np.int64)
    if len(model.keys):
        similarities = model.item_vectors @ vector
        voted = neighbour_votes(
            similarities=similarities,
            candidates=_others(model, similarities, key=key, title=title),
            admitted=model.admitted(similarities),
            votes=model.votes,
            recency=model.weights,
            count=model.options.neighbours,
            vote_power=model.options.vote_power,
            history_positives=model.history_positives,
        )
        features[:, 0], neighbours, farther = voted.votes, voted.neighbours, voted.farther
    if model.classifier_active.any():
        logits = model.classifier_coef @ vector + model.classifier_intercept
        classifier = (_sigmoid(logits) + rank_among_negatives(logits, model.classifier_ranks)) / 2
        features[:, 1] = classifier * model.classifier_active
    if n_labels:
        centred = vector - model.centre if len(model.centre) == len(vector) else vector
        features[:, 2] = model.label_vectors @ centred
    features[:, 3] = model.log_prior
    vocabulary = model.vocabulary if (model.calibrated if rarity is None else rarity) else None
    features[:, 4], matched = term_hits(model.labels, f"{title}\n{text}", vocabulary=vocabulary)
    features[:, 5], _ = term_hits(model.labels, title, vocabulary=vocabulary)
    features[:, 6] = model.profiles.match(title)
    return _Signals(features=features, neighbours=neighbours, matched=matched, farther=farther)


def _probabilities(model: LabelModel, features: Matrix) -> Matrix:
    return _sigmoid(features @ np.asarray(model.blend) + model.blend_intercept)


def _short(title: str) -> str:
    return title if len(title) <= REASON_TITLE_CHARS else title[: REASON_TITLE_CHARS - 1].rstrip() + "…"


def _reason(model: LabelModel, column: int, signals: _Signals) -> str:
    parts: list[str] = []
    # A decided item that is not a neighbour voted in full only for a label new since training.
    new = model.history_positives is not None and model.history_positives[column] == 0
    voters = [*signals.neighbours, *(signals.farther if new else ())]
    like = [model.titles[i] for i in voters if model.votes[i, column] > 0 and model.titles[i]]
    if like:
        shown = "; ".join(f"“{_short(title)}”" for title in like[:DEFAULT_REASON_TITLES])
        items = "an item" if len(like) == 1 else f"{len(like)} items"
        parts.append(f"like {items} you tagged {model.labels[column].name}: {shown}")
    if signals.matched[column]:
        counts = Counter(signals.matched[column]).most_common(3)
        parts.append("mentions " + ", ".join(f"‘{w}’ {n}×" if n > 1 else f"‘{w}’" for w, n in counts))
    if any(model.votes[i, column] < 0 for i in signals.neighbours):
        parts.append("rejected for a similar item")
    if not parts:
        parts.append(f"close to the label's description ({signals.features[column, 2]:.2f})")
    return "; ".join(parts)


def predict(
    model: LabelModel,
    *,
    vector: Vector,
    title: str,
    text: str,
    exclude: Sequence[str] = (),
    key: str = "",
) -> list[ScoredLabel]:
    """Every label scored for one item, best first.

    ``exclude``: labels it already carries; ``key``: its key in the kNN store, so that it is never
    its own neighbour (nor is a stored copy with the same title and text).
    """
    if not model.labels:
        return []
    signals = _signals(model, vector, title, text, key=key)
    scores = _probabilities(model, signals.features)
    skip = {normalize_label(label) for label in exclude}
    keys = model.label_keys
    order = np.argsort(-scores, kind="stable")
    return [
        ScoredLabel(
            label=model.labels[column].label,
            score=float(scores[column]),
            reason=_reason(model, int(column), signals),
        )
        for column in order
        if keys[column] not in skip
    ]


def contributions(
    model: LabelModel, *, vector: Vector, title: str, text: str, key: str = ""
) -> dict[str, tuple[float, ...]]:
    """Each label's FEATURES, each times its blend weight: their sum plus the intercept is its logit.

    For explaining a ranking (``bench/replay_walk.py --explain``), not for ranking.
    """
    signals = _signals(model, vector, title, text, key=key)
    weighted = signals.features * np.asarray(model.blend)
    return {
        label: tuple(float(x) for x in row) for label, row in zip(model.label_keys, weighted, strict=True)
    }


# --- fitting ---------------------------------------------------------------------------------------


def candidate_labels(labels: Sequence[LabelInfo], examples: Sequence[Example]) -> list[LabelInfo]:
    """``labels`` and then every other label the examples carry (in its most frequent spelling)."""
    known = {normalize_label(info.label): info for info in labels}
    spellings: dict[str, Counter[str]] = {}
    for example in examples:
        for label in example.positives:
            key = normalize_label(label)
            if key and key not in known:
                spellings.setdefault(key, Counter())[" ".join(label.split())] += 1
    learned = [LabelInfo(label=counts.most_common(1)[0][0]) for counts in spellings.values()]
    return [*known.values(), *learned]


def vote_matrix(examples: Sequence[Example], keys: Sequence[str]) -> Matrix:
    """Items x labels: 1 where the item carries the label, -1 where an editor rejected it, else 0."""
    column = {key: i for i, key in enumerate(keys)}
    votes = np.zeros((len(examples), len(keys)))
    for row, example in enumerate(examples):
        for label in example.negatives:
            if (key := normalize_label(label)) in column:
                votes[row, column[key]] = -1.0
        for label in example.positives:
            if (key := normalize_label(label)) in column:
                votes[row, column[key]] = 1.0
    return votes


def _assemble(
    *,
    labels: Sequence[LabelInfo],
    label_vectors: Vector,
    examples: Sequence[Example],
    vectors: Vector,
    options: EngineOptions,
    centre: Vector | None = None,
) -> LabelModel:
    keys = [normalize_label(info.label) for info in labels]
    votes = vote_matrix(examples, keys)
    classifiers = fit_classifiers(
        vectors, votes, c=options.classifier_c, max_class_rows=options.max_class_rows, seed=options.seed
    )
    return LabelModel(
        labels=tuple(labels),
        label_vectors=label_vectors,
        keys=tuple(e.key for e in examples),
        titles=tuple(e.title for e in examples),
        item_vectors=vectors,
        votes=votes,
        classifier_coef=classifiers.coef,
        classifier_intercept=classifiers.intercept,
        classifier_active=classifiers.active,
        classifier_ranks=classifiers.ranks,
        options=options,
        centre=np.zeros(0, dtype=np.float32) if centre is None else centre,
        times=np.array([e.at for e in examples], dtype=np.float64),
        vocabulary=Vocabulary.of(f"{e.title}\n{e.text}" for e in examples),
    )


def _stack(model: LabelModel, examples: Sequence[Example], options: EngineOptions) -> LabelModel:
    """Fit the blend on held-out folds so that its output is a calibrated probability."""
    n_items = len(examples)
    # Calibrated on the labels the site uses: a configured topic nobody chose would teach the
    # blend only that term and prototype matches mislead (``online.site_first`` ranks those).
    used = (model.votes > 0).any(axis=0)
    rows: list[Matrix] = []
    targets: list[Matrix] = []
    for train_rows, held_out in stacking_folds(
        n_items, folds=options.folds, max_items=options.max_stack_items, seed=options.seed
    ):
        sub = _assemble(
            labels=model.labels,
            label_vectors=model.label_vectors,
            examples=[examples[i] for i in train_rows],
            vectors=model.item_vectors[train_rows],
            options=options,
            centre=model.centre,
        )
        for row in held_out:
            example = examples[row]
            signals = _signals(sub, model.item_vectors[row], example.title, example.text, rarity=True)
            rows.append(signals.features[used])
            targets.append((model.votes[row, used] > 0).astype(float))
    features = np.vstack(rows)
    target = np.concatenate(targets)
    stacker = LogisticRegression(C=options.stack_c, max_iter=2000)
    stacker.fit(features, target)
    probabilities = stacker.predict_proba(features)[:, 1].reshape(len(rows), -1)
    threshold = micro_f1_threshold(probabilities, np.vstack(targets))
    blend = tuple(float(w) for w in stacker.coef_[0])
    return replace(
        model,
        blend=blend,
        blend_intercept=float(stacker.intercept_[0]),
        threshold=threshold,
        calibrated=True,
        metrics={**model.metrics, "stack_pairs": len(target), "threshold": threshold},
    )


def fit(
    examples: Sequence[Example],
    *,
    labels: Sequence[LabelInfo],
    embed: Embed,
    options: EngineOptions | None = None,
    centre: Vector | None = None,
) -> LabelModel:
    """Learn from ``examples`` over ``labels`` plus every label the examples carry.

    Args:
        examples: the history: items with their editors' labels and rejects. Those ``decided`` come
            after the others, behind the gate (``admitted``) if the others are ``min_gate_items``.
        labels: configured labels (they are candidates even with no history: the cold start).
        embed: texts -> normalised vectors (the MiniLM encoder, through its cache).
        options: neighbours, folds, regularisation.
        centre: the domain's centre in the embedding space (``terms.domain_centre``); prototype
            similarities are measured from it (none: from the origin).

    Returns:
        The fitted model; calibrated when the history is large enough.
    """
    options = options or EngineOptions()
    candidates = candidate_labels(labels, examples)
    history = [e for e in examples if (e.positives or e.negatives) and not e.decided]
    decided = [e for e in examples if (e.positives or e.negatives) and e.decided]
    labelled = [*history, *decided]
    gated = len(history) if len(history) >= options.min_gate_items else len(labelled)
    label_vectors = label_prototypes(embed, candidates)
    vectors = item_vectors(embed, [e.title for e in labelled], [e.text for e in labelled])
    model = _assemble(
        labels=candidates,
        label_vectors=label_vectors,
        examples=labelled,
        vectors=vectors,
        options=options,
        centre=centre,
    )
    positives = int((model.votes > 0).sum())
    model = replace(
        model,
        metrics={"items": len(labelled), "labels": len(candidates), "positives": positives},
        neighbour_gate=typical_neighbour_similarity(model.item_vectors[:gated], model.votes[:gated]),
        trained_rows=gated if gated < len(labelled) else None,
    )
    if len(labelled) >= options.min_stack_items and positives >= options.min_stack_positives:
        model = _stack(model, labelled, options)
    return model
