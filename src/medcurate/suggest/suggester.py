"""The built-in suggester: learned topics plus MeSH terms, communities, and related offerings.

1. Topics: the topic ``LabelModel`` scores every known label (configured topics and every label the
   editors used); MeSH descriptors named in the title or text, by name or entry term, join as
   candidates scored by meaning (``coldstart.mesh_candidates``), unless the learned model already
   scores them higher. Before the model is calibrated (the cold start), broad MeSH headings
   (Health Facilities, Hospitals) are scaled down so that a specific one comes first.
2. Communities: the community ``LabelModel``, the same learner over community keys.
3. Offerings: ranked by how strongly the item's topics (accepted: 1.0; suggested: their scores)
   cover the offering's categories (a noisy-OR, so a broad offering is not penalised), blended with
   the text similarity of the item to the offering's label and description; returned as seed 002's
   ``relatedOfferings`` entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from medcurate.models import CuratedItem, Offering, normalize_label
from medcurate.rules import offering_entries
from medcurate.suggest import DEFAULT_K, Suggestion
from medcurate.suggest.coldstart import generality_weight, mesh_candidates
from medcurate.suggest.embedding import Embed, Vector, item_text, item_vectors
from medcurate.suggest.engine import predict
from medcurate.suggest.labelmodel import LabelModel, ScoredLabel
from medcurate.suggest.mesh import MeshIndex
from medcurate.suggest.online import site_first

DEFAULT_MESH_CANDIDATES = 5
DEFAULT_COMMUNITIES = 2
DEFAULT_OFFERINGS = 3
OFFERING_TOPIC_WEIGHT = 0.7
OFFERING_MIN_SIMILARITY = 0.35


@dataclass(frozen=True, kw_only=True)
class SuggesterOptions:
    """How many candidates of each kind the built-in suggester returns."""

    mesh_candidates: int = DEFAULT_MESH_CANDIDATES
    communities: int = DEFAULT_COMMUNITIES
    offerings: int = DEFAULT_OFFERINGS
    use_mesh: bool = True


def merge_rankings(*rankings: Sequence[ScoredLabel]) -> list[ScoredLabel]:
    """One ranking from several: a label keeps its best score (and that score's reason)."""
    best: dict[str, ScoredLabel] = {}
    for ranking in rankings:
        for scored in ranking:
            key = normalize_label(scored.label)
            if key not in best or scored.score > best[key].score:
                best[key] = scored
    return sorted(best.values(), key=lambda s: -s.score)


def rank_offerings(
    offerings: Sequence[Offering],
    *,
    topic_scores: Mapping[str, float],
    vector: Vector,
    offering_vectors: Vector,
    limit: int = DEFAULT_OFFERINGS,
) -> list[tuple[Offering, float, str]]:
    """Offerings by category overlap with the item's topics and by text similarity, best first."""
    ranked: list[tuple[Offering, float, str]] = []
    similarities = offering_vectors @ vector if len(offerings) else np.zeros(0)
    for offering, similarity in zip(offerings, similarities, strict=True):
        shared = [c for c in offering.categories if topic_scores.get(normalize_label(c), 0.0) > 0]
        miss = 1.0
        for category in shared:
            miss *= 1.0 - min(topic_scores[normalize_label(category)], 1.0)
        overlap = 1.0 - miss
        if not shared and similarity < OFFERING_MIN_SIMILARITY:
            continue
        score = OFFERING_TOPIC_WEIGHT * overlap + (1 - OFFERING_TOPIC_WEIGHT) * max(float(similarity), 0.0)
        reason = f"text similarity {similarity:.2f}"
        if shared:
            reason = "shares " + ", ".join(f"‘{c}’" for c in shared[:3]) + "; " + reason
        ranked.append((offering, score, reason))
    ranked.sort(key=lambda entry: -entry[1])
    return ranked[:limit]


class EmbeddingSuggester:
    """The built-in suggester over fitted topic and community models."""

    def __init__(
        self,
        *,
        topics: LabelModel,
        communities: LabelModel,
        offerings: Sequence[Offering],
        embed: Embed,
        mesh: MeshIndex | None,
        version: str = "",
        options: SuggesterOptions | None = None,
    ) -> None:
        self.topics = topics
        self.communities = communities
        self.offerings = list(offerings)
        self.embed = embed
        self.mesh = mesh
        self.version = version
        self.options = options or SuggesterOptions()
        self._offering_vectors: Vector | None = None

    def _offering_matrix(self) -> Vector:
        if self._offering_vectors is None:
            texts = [f"{o.label}. {o.description or ''}" for o in self.offerings]
            self._offering_vectors = self.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        return self._offering_vectors

    def rank_topics(
        self, item: CuratedItem, *, vector: Vector, text: str, key: str = ""
    ) -> list[ScoredLabel]:
        """Every candidate topic for the item, best first, without the ones it carries."""
        learned = predict(
            self.topics, vector=vector, title=item.title, text=text, exclude=item.topics, key=key
        )
        if not self.topics.calibrated:
            learned = [replace(s, score=s.score * generality_weight(s.label)) for s in learned]
        mesh: list[ScoredLabel] = []
        if self.options.use_mesh and self.mesh is not None:
            carried = {normalize_label(label) for label in item.topics}
            found = mesh_candidates(
                self.mesh,
                title=item.title,
                text=text,
                vector=vector,
                centre=self.topics.centre,
                embed=self.embed,
            )
            mesh = [s for s in found if normalize_label(s.label) not in carried][
                : self.options.mesh_candidates
            ]
        return site_first(merge_rankings(learned, mesh), self.topics, vector=vector)

    def suggest(
        self, item: CuratedItem, *, k: int = DEFAULT_K, text: str = "", key: str = ""
    ) -> list[Suggestion]:
        """Up to ``k`` topics, then communities and related offerings, each kind ranked from 1.

        ``key``: the item's key in the history (``item:<id>``), so that it is never its own neighbour.
        """
        body = item_text(item, extra=text)
        vector = item_vectors(self.embed, [item.title], [body])[0]
        topics = self.rank_topics(item, vector=vector, text=body, key=key)[:k]
        communities = predict(self.communities, vector=vector, title=item.title, text=body, key=key)
        scores = {normalize_label(s.label): s.score for s in topics}
        scores.update({normalize_label(label): 1.0 for label in item.topics})
        offerings = rank_offerings(
            self.offerings,
            topic_scores=scores,
            vector=vector,
            offering_vectors=self._offering_matrix(),
            limit=self.options.offerings,
        )
        suggestions = [
            Suggestion(
                kind="topic",
                label=s.label,
                score=s.score,
                rank=i,
                reason=s.reason,
                model_version=self.version,
            )
            for i, s in enumerate(topics, start=1)
        ]
        suggestions += [
            Suggestion(
                kind="community",
                label=s.label,
                score=s.score,
                rank=i,
                reason=s.reason,
                model_version=self.version,
            )
            for i, s in enumerate(communities[: self.options.communities], start=1)
        ]
        suggestions += [
            Suggestion(
                kind="offering",
                label=offering.label,
                score=score,
                rank=i,
                reason=reason,
                model_version=self.version,
                entry=offering_entries([offering])[0],
            )
            for i, (offering, score, reason) in enumerate(offerings, start=1)
        ]
        return suggestions
