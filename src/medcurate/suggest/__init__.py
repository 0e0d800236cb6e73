"""Suggestions: topics, communities and related offerings for an item, learned from the editors.

Every suggestion is a ranked, scored, explained ``Suggestion``, made by
``medcurate.suggest.suggester.EmbeddingSuggester`` (embeddings, kNN over curated items, per-label
classifiers, MeSH term matching). The modules:

- ``embedding``: the bundled all-MiniLM-L6-v2, loaded once per process, and a text -> vector cache;
- ``static``: the fast encoder, distilled from MiniLM; ``encoders``: the one chosen by name;
- ``mesh``: the MeSH descriptor vocabulary and exact phrase matching of its names;
- ``engine``: the learner (pure: texts and labels in, a calibrated model out);
- ``labelmodel``: a fitted model, an immutable value; ``rowstore``: its item vectors, grown in place;
- ``persist``: models on disk (``.npz`` + JSON, no pickle);
- ``suggester``: ``EmbeddingSuggester`` (topics, MeSH, communities, offerings);
- ``evaluate``: P@1, hit@3, micro-F1 and the ceiling, next to a TF-IDF baseline;
- ``online``: decisions applied at once (kNN memory, per-label refits, recency), site-first ranking;
- ``replay``: ``topics replay`` and the live ``topics evaluate`` (suggestions as editors get them);
- ``service``: the functions over the database (``suggest_for_item``, ``record_decision``, ``train``).

This module imports nothing heavy, so importing it never loads a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_K = 5
KINDS = ("topic", "community", "offering")
# Scores in words for editors (the number stays on hover): at or above STRONG, "strong"; at or above
# POSSIBLE, "possible"; below, "weak".
STRONG_SCORE = 0.6
POSSIBLE_SCORE = 0.3


def strength(score: float) -> str:
    """A score in words: ``strong``, ``possible`` or ``weak``."""
    if score >= STRONG_SCORE:
        return "strong"
    return "possible" if score >= POSSIBLE_SCORE else "weak"


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """A topic, community or offering proposed for an item, with a calibrated score and a reason."""

    kind: str
    label: str
    score: float
    rank: int
    reason: str
    model_version: str = ""
    entry: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """A plain mapping, for ``--json`` output and the web API."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "label": self.label,
            "score": round(self.score, 4),
            "rank": self.rank,
            "reason": self.reason,
            "model_version": self.model_version,
        }
        if self.entry:
            data["entry"] = dict(self.entry)
        return data


__all__ = ["DEFAULT_K", "KINDS", "Suggestion", "strength"]
