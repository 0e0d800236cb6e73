"""Learning from each editor's decision at once, and ranking candidates by what the site uses.

Pure: a fitted ``LabelModel`` and the decided items in, an updated model or a re-ranked list out.

1. Decision memory (``extend``): the items decided on since the model was trained join (or replace
   their rows in) the kNN store, with their time, so an accept, an add or a reject counts for the
   very next similar item (``LabelModel.admitted``: as similar as same-label items typically are;
   less similar but among the nearest, it votes for the labels the history lacks, ``neighbours``);
   a label an editor adds becomes a candidate at once, and its words join the vocabulary that
   weighs term matches by rarity. ``topics train`` keeps the decided items behind the same gate.
2. Per-label updates: the classifiers of the labels those decisions touched are refitted on the
   whole store (the other labels keep theirs until ``topics train``), so a new label gets a
   classifier from its first example and a rejected one learns its negative; their ranks among
   their negatives (``classifiers``) are computed again with them.
3. Recency (``engine``): the kNN votes and the prior weigh recent items more (halving every
   ``half_life`` labelled items), so drift is followed: a label the editors stop using sinks, one
   they have just added rises.
4. Site-first ranking (``site_first``): once the site has a history, a label it has never used (a
   MeSH heading, a configured topic nobody chose) must score at least ``novel_min_score`` to be
   suggested and ranks ``novel_margin`` below its score; a rejected label that stays among the
   first suggestions says why. With no history the ranking is left as it is (the cold start).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from medcurate.models import normalize_label
from medcurate.suggest.classifiers import RANK_POINTS, fit_classifiers
from medcurate.suggest.embedding import Embed, Vector, item_vectors
from medcurate.suggest.engine import candidate_labels, vote_matrix
from medcurate.suggest.labelmodel import Example, LabelModel, ScoredLabel
from medcurate.suggest.labels import label_prototypes
from medcurate.suggest.neighbours import nearest_first
from medcurate.suggest.rowstore import appended

DEFAULT_NOVEL_MIN_SCORE = 0.5
DEFAULT_NOVEL_MARGIN = 0.3
DEFAULT_FULL_HISTORY = 30
# A label rejected for at least this many of the item's nearest neighbours (more than carry it)
# goes below every label without such rejects, unless it scores ``overwhelming``.
DEFAULT_MIN_REJECTS = 2
DEFAULT_OVERWHELMING = 0.9


@dataclass(frozen=True, kw_only=True)
class OnlineOptions:
    """How decisions count between two trainings, and how much the site's own labels are preferred."""

    refit_touched: bool = True
    novel_min_score: float = DEFAULT_NOVEL_MIN_SCORE
    novel_margin: float = DEFAULT_NOVEL_MARGIN
    full_history: int = DEFAULT_FULL_HISTORY
    min_rejects: int = DEFAULT_MIN_REJECTS
    overwhelming: float = DEFAULT_OVERWHELMING


def extend(model: LabelModel, examples: Sequence[Example], *, embed: Embed) -> LabelModel:
    """The model with ``examples`` added to (or replacing their rows in) the kNN store, without refitting.

    New labels become candidates (through their prototype, the neighbours' votes and their recent
    use); the classifiers wait for ``refit_labels`` or the next ``train``.
    """
    model, examples = _relabelled_in_place(model, examples, embed=embed)
    if not examples:
        return model
    model = _with_candidates(model, examples, embed=embed)
    stored = set(model.keys)
    replaced = {e.key for e in examples} & stored
    # The rows kept; every row (no decided item re-decided): the arrays as they are, no pass over them.
    rows: list[int] | slice = (
        [i for i, key in enumerate(model.keys) if key not in replaced] if replaced else slice(None)
    )
    # The history rows kept come first; a re-decided history item moves to the decided rows.
    trained = len(model.keys) if model.trained_rows is None else model.trained_rows
    kept_trained = trained if isinstance(rows, slice) else sum(1 for i in rows if i < trained)
    fresh = [e for e in examples if e.positives or e.negatives]
    fresh_vectors = item_vectors(embed, [e.title for e in fresh], [e.text for e in fresh])
    # Words of items the store did not hold yet (a decided item already counted is not counted twice).
    unseen = [f"{e.title}\n{e.text}" for e in fresh if e.key not in stored]
    vocabulary = model.vocabulary.adding(unseen)
    title_rows = model.title_index.selecting(rows).adding([e.title for e in fresh])
    # With every row kept, the new vectors are written after the store's in its array when it has room.
    vector_rows, vectors = appended(
        model.item_vectors[rows], np.asarray(fresh_vectors, dtype=np.float32), store=model.vector_rows
    )
    return replace(
        model,
        keys=(
            *(model.keys[rows] if isinstance(rows, slice) else (model.keys[i] for i in rows)),
            *(e.key for e in fresh),
        ),
        titles=title_rows.titles,
        item_vectors=vectors,
        vector_rows=vector_rows,
        votes=sparse.vstack([model.votes[rows], vote_matrix(fresh, model.label_keys)], format="csr"),
        times=np.concatenate([model.row_times[rows], [e.at for e in fresh]]),
        trained_rows=kept_trained,
        title_rows=title_rows,
        stem_counts=model.stem_frequencies.adding(unseen, vocabulary),
        vocabulary=vocabulary,
    )


def _with_candidates(model: LabelModel, examples: Sequence[Example], *, embed: Embed) -> LabelModel:
    """The model with every label ``examples`` carry among its candidates (new columns: empty, unfitted)."""
    candidates = candidate_labels(model.labels, examples)
    new_labels = candidates[len(model.labels) :]
    if not new_labels:
        return model
    pad, votes = len(new_labels), model.votes
    return replace(
        model,
        labels=tuple(candidates),
        label_vectors=np.vstack([model.label_vectors, label_prototypes(embed, new_labels)], dtype=np.float32),
        # The same entries in a wider matrix.
        votes=sparse.csr_matrix(
            (votes.data, votes.indices, votes.indptr), shape=(votes.shape[0], len(candidates))
        ),
        classifier_coef=np.vstack([model.classifier_coef, np.zeros((pad, model.classifier_coef.shape[1]))]),
        classifier_intercept=np.concatenate([model.classifier_intercept, np.zeros(pad)]),
        classifier_active=np.concatenate([model.classifier_active, np.zeros(pad, dtype=bool)]),
        classifier_ranks=np.vstack([model.classifier_ranks, np.full((pad, RANK_POINTS), np.inf)]),
    )


def _relabelled_in_place(
    model: LabelModel, examples: Sequence[Example], *, embed: Embed
) -> tuple[LabelModel, list[Example]]:
    """The model with the decided items it holds among its decided rows relabelled there, and the rest.

    An editor often decides on one item several times (a label accepted, then another added). Such an
    item keeps its row when its text is the same and it carries no label new to the model: its votes and
    its time change, its vector and title do not, so no array of the store is copied or moved. A
    history item an editor decides on moves to the decided rows (behind the gate), as ``extend`` does.
    """
    trained = len(model.keys) if model.trained_rows is None else model.trained_rows
    decided_keys = model.keys[trained:]
    known = set(model.label_keys)
    once = Counter(e.key for e in examples)
    rows: dict[int, Example] = {}
    for example in examples:
        labels = (*example.positives, *example.negatives)
        if once[example.key] != 1 or example.key not in decided_keys or not labels:
            continue
        if all(normalize_label(label) in known for label in labels):
            rows[trained + decided_keys.index(example.key)] = example
    vectors = item_vectors(embed, [e.title for e in rows.values()], [e.text for e in rows.values()])
    rows = {
        row: example
        for (row, example), vector in zip(rows.items(), vectors, strict=True)
        if model.titles[row] == example.title and np.array_equal(model.item_vectors[row], vector)
    }
    if not rows:
        return model, list(examples)
    indices = np.fromiter(rows, dtype=np.int64, count=len(rows))
    kept = np.ones(len(model.keys))
    kept[indices] = 0.0
    # Items x relabelled items, 1 where the relabelled item's row is: its new votes put in that row.
    placing = sparse.csr_matrix(
        (np.ones(len(rows)), (indices, np.arange(len(rows)))), shape=(len(kept), len(rows))
    )
    votes = sparse.csr_matrix(
        sparse.diags(kept) @ model.votes + placing @ vote_matrix(list(rows.values()), model.label_keys)
    )
    votes.eliminate_zeros()  # the old votes of those rows, multiplied away
    times = model.row_times.copy()
    times[indices] = [example.at for example in rows.values()]
    placed = {id(example) for example in rows.values()}
    return replace(model, votes=votes, times=times), [e for e in examples if id(e) not in placed]


def refit_labels(model: LabelModel, labels: Sequence[str]) -> LabelModel:
    """The model with the classifiers of ``labels`` refitted on its whole store."""
    column = {key: i for i, key in enumerate(model.label_keys)}
    columns = sorted({column[key] for label in labels if (key := normalize_label(label)) in column})
    if not columns or not len(model.keys):
        return model
    options = model.options
    fitted = fit_classifiers(
        model.item_vectors,
        model.votes[:, columns],
        c=options.classifier_c,
        max_class_rows=options.max_class_rows,
        seed=options.seed,
    )
    new_coef = model.classifier_coef.copy()
    new_intercept = model.classifier_intercept.copy()
    new_active = model.classifier_active.copy()
    new_ranks = model.classifier_ranks.copy()
    new_coef[columns] = fitted.coef
    new_intercept[columns] = fitted.intercept
    new_active[columns] = fitted.active
    new_ranks[columns] = fitted.ranks
    return replace(
        model,
        classifier_coef=new_coef,
        classifier_intercept=new_intercept,
        classifier_active=new_active,
        classifier_ranks=new_ranks,
    )


def apply_decisions(
    model: LabelModel,
    examples: Sequence[Example],
    *,
    embed: Embed,
    options: OnlineOptions | None = None,
) -> LabelModel:
    """The model with the decided ``examples`` in its store and their labels refitted.

    Args:
        model: the trained (or already updated) model.
        examples: the items decided on, with every label they carry, every reject on them, and when
            they were last labelled (``Example.at``).
        embed: the encoder the model was fitted with.
        options: whether to refit the touched labels.

    Returns:
        The updated model.
    """
    options = options or OnlineOptions()
    updated = extend(model, examples, embed=embed)
    if options.refit_touched:
        touched = [label for e in examples for label in (*e.positives, *e.negatives)]
        updated = refit_labels(updated, touched)
    return updated


def used_labels(model: LabelModel) -> tuple[set[str], int]:
    """The labels the site has used (normalised) and how many stored items carry a label."""
    if not len(model.keys):
        return set(), 0
    carried = model.carried
    keys = model.label_keys
    used = {keys[column] for column in np.flatnonzero(carried.getnnz(axis=0))}
    return used, int(np.count_nonzero(carried.getnnz(axis=1)))


def neighbour_rejects(model: LabelModel, vector: Vector) -> dict[str, int]:
    """Label -> how many more of the item's nearest stored items reject it than carry it (if more)."""
    if not len(model.keys):
        return {}
    similarities = model.item_vectors @ vector
    nearest = nearest_first(similarities, model.options.neighbours)
    votes = model.votes[nearest]
    rejects = np.asarray((votes < 0).sum(axis=0)).ravel()
    net = rejects - np.asarray((votes > 0).sum(axis=0)).ravel()
    keys = model.label_keys
    return {keys[c]: int(rejects[c]) for c in np.flatnonzero(net > 0)}


def site_first(
    ranking: Sequence[ScoredLabel],
    model: LabelModel,
    *,
    vector: Vector | None = None,
    options: OnlineOptions | None = None,
) -> list[ScoredLabel]:
    """The ranking with the site's own labels first and the labels rejected for similar items last.

    A label the site has never used needs strong evidence; its margin grows with the history (none
    at the cold start, all of it from ``full_history`` labelled items on), so a new site still gets
    its taxonomy's topics. With a full history it ranks below the site's own labels unless it
    scores ``overwhelming``: its score (a MeSH heading's is measured on another scale) is no reason
    to put it before a label the editors use. A label rejected for ``min_rejects`` of the item's
    nearest neighbours (``vector``) goes below all others unless it scores ``overwhelming``, and its
    reason says so.
    """
    options = options or OnlineOptions()
    used, labelled = used_labels(model)
    strength = min(1.0, labelled / max(options.full_history, 1))
    rejected = neighbour_rejects(model, vector) if vector is not None else {}
    margin = options.novel_margin * strength
    floor = options.novel_min_score * strength
    # (demotion, rank score): 0 the site's labels and overwhelming evidence, 1 labels the site never
    # used, 2 labels rejected for similar items; by rank score within each.
    ranked: list[tuple[int, float, ScoredLabel]] = []
    for scored in ranking:
        key = normalize_label(scored.label)
        demotion, rank_score, reason = 0, scored.score, scored.reason
        overwhelming = scored.score >= options.overwhelming
        if strength and key not in used:
            if scored.score < floor:
                continue
            rank_score -= margin
            demotion = 1 if strength >= 1 and not overwhelming else 0
            reason = f"{reason}; a label this site has not used yet"
        if rejected.get(key, 0) >= options.min_rejects:
            count = rejected[key]
            if overwhelming:
                reason = f"rejected for {count} similar items, but its evidence is overwhelming: {reason}"
            else:
                demotion = 2
                reason = f"rejected for {count} similar items; {reason}"
        ranked.append(
            (demotion, rank_score, replace(scored, reason=reason) if reason != scored.reason else scored)
        )
    ranked.sort(key=lambda entry: (entry[0], -entry[1]))
    return [scored for _, _, scored in ranked]
