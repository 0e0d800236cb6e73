"""Learning from each editor's decision at once, and ranking candidates by what the site uses.

Pure: a fitted ``LabelModel`` and the decided items in, an updated model or a re-ranked list out.

1. Decision memory: the items decided on since the model was trained join (or replace their rows
   in) the kNN store (``engine.extend``), so an accept, an add or a reject counts for the very next
   item; a label an editor adds becomes a candidate at once.
2. Per-label updates: the classifiers of the labels those decisions touched are refitted on the
   whole store (the other labels keep theirs until ``topics train``), so a new label gets a
   classifier from its first example and a rejected one learns its negative.
3. Recency: every stored item is weighted by how recently it was labelled (a half-life counted in
   labelled items, not in days, so a quiet month does not erase the history), in the kNN votes and
   in the label prior: drift is followed.
4. Site-first ranking (``site_first``): once the site has a history, a label it has never used (a
   MeSH heading, a configured topic nobody chose) must score at least ``novel_min_score`` to be
   suggested and ranks ``novel_margin`` below its score; a rejected label that stays among the
   first suggestions says why. With no history the ranking is left as it is (the cold start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from medcurate.models import normalize_label
from medcurate.suggest.embedding import Vector
from medcurate.suggest.engine import (
    Embed,
    Example,
    LabelModel,
    Matrix,
    ScoredLabel,
    _classifiers,
    extend,
)

DEFAULT_HALF_LIFE = 150.0
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

    half_life: float = DEFAULT_HALF_LIFE
    refit_touched: bool = True
    novel_min_score: float = DEFAULT_NOVEL_MIN_SCORE
    novel_margin: float = DEFAULT_NOVEL_MARGIN
    full_history: int = DEFAULT_FULL_HISTORY
    min_rejects: int = DEFAULT_MIN_REJECTS
    overwhelming: float = DEFAULT_OVERWHELMING


def recency_weights(order: Sequence[float], *, half_life: float) -> Matrix:
    """Weights halving every ``half_life`` items from the newest (``order``: larger is newer)."""
    if not len(order):
        return np.zeros(0)
    ranks = np.empty(len(order))
    # Rank from the newest: 0 for the newest item; ties keep their store order.
    ranks[np.argsort(-np.asarray(order, dtype=np.float64), kind="stable")] = np.arange(len(order))
    if half_life <= 0:
        return np.ones(len(order))
    return np.asarray(0.5 ** (ranks / half_life), dtype=np.float64)


def refit_labels(model: LabelModel, labels: Sequence[str]) -> LabelModel:
    """The model with the classifiers of ``labels`` refitted on its whole store."""
    column = {key: i for i, key in enumerate(model.label_keys)}
    columns = sorted({column[key] for label in labels if (key := normalize_label(label)) in column})
    if not columns or not len(model.keys):
        return model
    coef, intercept, active = _classifiers(model.item_vectors, model.votes[:, columns], model.options)
    new_coef = model.classifier_coef.copy()
    new_intercept = model.classifier_intercept.copy()
    new_active = model.classifier_active.copy()
    new_coef[columns], new_intercept[columns], new_active[columns] = coef, intercept, active
    return replace(
        model, classifier_coef=new_coef, classifier_intercept=new_intercept, classifier_active=new_active
    )


def apply_decisions(
    model: LabelModel,
    examples: Sequence[Example],
    *,
    embed: Embed,
    order: dict[str, float],
    options: OnlineOptions | None = None,
) -> LabelModel:
    """The model with the decided ``examples`` in its store, their labels refitted, rows re-weighted.

    Args:
        model: the trained (or already updated) model.
        examples: the items decided on, with every label they carry and every reject on them.
        embed: the encoder the model was fitted with.
        order: each stored item's key -> when it was last labelled (any increasing number).
        options: half-life and whether to refit the touched labels.

    Returns:
        The updated model.
    """
    options = options or OnlineOptions()
    updated = extend(model, examples, embed=embed)
    if options.refit_touched:
        touched = [label for e in examples for label in (*e.positives, *e.negatives)]
        updated = refit_labels(updated, touched)
    return weigh_rows(updated, order=order, half_life=options.half_life)


def weigh_rows(model: LabelModel, *, order: dict[str, float], half_life: float) -> LabelModel:
    """The model with its rows weighted by recency (items missing from ``order`` count as oldest)."""
    oldest = min(order.values(), default=0.0) - 1.0
    times = [order.get(key, oldest) for key in model.keys]
    return replace(model, row_weights=recency_weights(times, half_life=half_life))


def used_labels(model: LabelModel) -> tuple[set[str], int]:
    """The labels the site has used (normalised) and how many stored items carry a label."""
    if not len(model.keys):
        return set(), 0
    carried = model.votes > 0
    keys = model.label_keys
    used = {keys[column] for column in np.flatnonzero(carried.any(axis=0))}
    return used, int(carried.any(axis=1).sum())


def neighbour_rejects(model: LabelModel, vector: Vector) -> dict[str, int]:
    """Label -> how many more of the item's nearest stored items reject it than carry it (if more)."""
    if not len(model.keys):
        return {}
    similarities = model.item_vectors @ vector
    nearest = np.argsort(-similarities, kind="stable")[: model.options.neighbours]
    votes = model.votes[nearest]
    rejects = (votes < 0).sum(axis=0)
    net = rejects - (votes > 0).sum(axis=0)
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
    its taxonomy's topics. A label rejected for ``min_rejects`` of the item's nearest neighbours
    (``vector``) goes below the others unless it scores ``overwhelming``, and its reason says so.
    """
    options = options or OnlineOptions()
    used, labelled = used_labels(model)
    strength = min(1.0, labelled / max(options.full_history, 1))
    rejected = neighbour_rejects(model, vector) if vector is not None else {}
    margin = options.novel_margin * strength
    floor = options.novel_min_score * strength
    ranked: list[tuple[float, ScoredLabel]] = []
    for scored in ranking:
        key = normalize_label(scored.label)
        rank_score, reason = scored.score, scored.reason
        if strength and key not in used:
            if scored.score < floor:
                continue
            rank_score -= margin
            reason = f"{reason}; a label this site has not used yet"
        if rejected.get(key, 0) >= options.min_rejects:
            count = rejected[key]
            if scored.score >= options.overwhelming:
                reason = f"rejected for {count} similar items, but its evidence is overwhelming: {reason}"
            else:
                rank_score -= 1.0
                reason = f"rejected for {count} similar items; {reason}"
        ranked.append((rank_score, replace(scored, reason=reason) if reason != scored.reason else scored))
    ranked.sort(key=lambda pair: -pair[0])
    return [scored for _, scored in ranked]
