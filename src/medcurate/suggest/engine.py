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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from medcurate.models import normalize_label
from medcurate.suggest.classifiers import fit_classifiers, rank_among_negatives
from medcurate.suggest.embedding import Embed, Vector, item_vectors
from medcurate.suggest.labelmodel import (
    FEATURES,
    EngineOptions,
    Example,
    LabelModel,
    ScoredLabel,
)
from medcurate.suggest.labels import (
    LabelInfo,
    Matrix,
    Vocabulary,
    label_prototypes,
    term_hits,
    typical_neighbour_similarity,
)
from medcurate.suggest.neighbours import neighbour_votes
from medcurate.suggest.stacking import micro_f1_threshold, stacking_folds

DEFAULT_REASON_TITLES = 3
REASON_TITLE_CHARS = 60
# A stored item this similar with the same title is the item itself (or a copy): never a neighbour.
SELF_SIMILARITY = 0.995


def _sigmoid(values: npt.NDArray[Any]) -> Matrix:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -30, 30))), dtype=np.float64)


# --- features --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signals:
    features: Matrix  # labels x FEATURES
    neighbours: npt.NDArray[np.int64]
    matched: list[list[str]]
    farther: npt.NDArray[np.int64]  # decided items that voted only for little-known labels
    # The votes of the neighbours and then the farther items, dense: every label's reason reads them.
    voter_votes: Matrix


def _others(
    model: LabelModel, similarities: npt.NDArray[Any], *, key: str, title: str
) -> npt.NDArray[np.bool_]:
    """The stored items that are not the item being scored (by key, or same title and text).

    Only the items about as similar as a copy have their titles compared, and the keys are searched by
    ``tuple.index``: a suggestion on a large store does not compare every stored key and title in Python.
    """
    same = np.zeros(len(model.keys), dtype=bool)
    if key:
        same[_positions(model.keys, key)] = True
    close = np.flatnonzero(similarities >= SELF_SIMILARITY)
    same[[i for i in close if model.titles[i] == title]] = True
    return ~same


def _positions(values: tuple[str, ...], value: str) -> list[int]:
    """Every index of ``value`` in ``values``."""
    found: list[int] = []
    while True:
        try:
            found.append(values.index(value, found[-1] + 1 if found else 0))
        except ValueError:
            return found


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
    voter_votes = np.zeros((0, n_labels))
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
        voter_votes = model.votes[np.concatenate([neighbours, farther])].toarray()
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
    return _Signals(
        features=features, neighbours=neighbours, matched=matched, farther=farther, voter_votes=voter_votes
    )


def _probabilities(model: LabelModel, features: Matrix) -> Matrix:
    return _sigmoid(features @ np.asarray(model.blend) + model.blend_intercept)


def _short(title: str) -> str:
    return title if len(title) <= REASON_TITLE_CHARS else title[: REASON_TITLE_CHARS - 1].rstrip() + "…"


def _reason(model: LabelModel, column: int, signals: _Signals) -> str:
    parts: list[str] = []
    # A decided item that is not a neighbour voted in full only for a label new since training.
    new = model.history_positives is not None and model.history_positives[column] == 0
    voters = [*signals.neighbours, *(signals.farther if new else ())]
    votes = signals.voter_votes[: len(voters), column]
    like = [model.titles[i] for i, vote in zip(voters, votes, strict=True) if vote > 0 and model.titles[i]]
    if like:
        shown = "; ".join(f"“{_short(title)}”" for title in like[:DEFAULT_REASON_TITLES])
        items = "an item" if len(like) == 1 else f"{len(like)} items"
        parts.append(f"like {items} you tagged {model.labels[column].name}: {shown}")
    if signals.matched[column]:
        counts = Counter(signals.matched[column]).most_common(3)
        parts.append("mentions " + ", ".join(f"‘{w}’ {n}×" if n > 1 else f"‘{w}’" for w, n in counts))
    if (signals.voter_votes[: len(signals.neighbours), column] < 0).any():
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


def vote_matrix(examples: Sequence[Example], keys: Sequence[str]) -> sparse.csr_matrix:
    """Items x labels: 1 where the item carries the label, -1 where an editor rejected it, else 0."""
    column = {key: i for i, key in enumerate(keys)}
    cells: dict[tuple[int, int], float] = {}
    for row, example in enumerate(examples):
        # A label both carried and rejected is carried: the positives are written last.
        for label, vote in [*((x, -1.0) for x in example.negatives), *((x, 1.0) for x in example.positives)]:
            if (key := normalize_label(label)) in column:
                cells[row, column[key]] = vote
    rows = np.fromiter((row for row, _ in cells), dtype=np.int64, count=len(cells))
    columns = np.fromiter((col for _, col in cells), dtype=np.int64, count=len(cells))
    values = np.fromiter(cells.values(), dtype=np.float64, count=len(cells))
    return sparse.csr_matrix((values, (rows, columns)), shape=(len(examples), len(keys)))


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
    used = model.carried.getnnz(axis=0) > 0
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
        sub = replace(sub, title_rows=model.title_index.selecting(train_rows))
        for row in held_out:
            example = examples[row]
            signals = _signals(sub, model.item_vectors[row], example.title, example.text, rarity=True)
            rows.append(signals.features[used])
            targets.append(model.carried[row].toarray().ravel()[used])
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
    positives = model.carried.nnz
    model = replace(
        model,
        metrics={"items": len(labelled), "labels": len(candidates), "positives": positives},
        neighbour_gate=typical_neighbour_similarity(model.item_vectors[:gated], model.votes[:gated]),
        trained_rows=gated if gated < len(labelled) else None,
    )
    if len(labelled) >= options.min_stack_items and positives >= options.min_stack_positives:
        model = _stack(model, labelled, options)
    return model
