"""The cold start: topics ranked by meaning from the taxonomy alone, and its evaluation.

A new site has its taxonomies (labels, perhaps descriptions and synonyms) and no labelled item.
The learner (``engine``) then ranks by its label-side signals only; this module gives it more to
go on and measures the result:

1. ``enrich_labels``: a label that names a bundled health-IT concept (``terms``: ``AI``,
   ``hospital``, ``Electronic Health Records``) gains the concept's heading and entry terms as
   synonyms (matched in the text and embedded); a label that combines concepts ("digital health
   funding") gains their words in its description (embedded only: "digital health" alone is not
   the label).
2. ``cold_model``: the learner fitted on no item over the enriched labels, its prototypes measured
   from the domain's centre (``terms.domain_centre``). As editors decide, ``service.train`` fits
   the same learner with history: kNN votes and classifiers join, and past 30 labelled items the
   stacked, calibrated blend takes over (the learned model; nothing changes for it here).
3. ``evaluate_cold``: P@1, hit@3, micro-F1 of the cold model on labelled items, against the
   zero-shot baseline (the similarity of the item to each label's name with the same encoder),
   measured in the same run: ``medcurate topics evaluate --taxonomy FILE --test DIR``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from medcurate.config import parse_config
from medcurate.errors import ConfigError, SuggestError
from medcurate.models import normalize_label
from medcurate.suggest.embedding import Embed, Vector, item_vectors
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.evaluate import DEFAULT_K, EvaluationReport, examples_from_dir, score_rankings
from medcurate.suggest.labelmodel import EngineOptions, Example, LabelModel, ScoredLabel
from medcurate.suggest.labels import LabelInfo
from medcurate.suggest.mesh import MESH_NAMESPACE, MeshIndex, mesh_label, related_count
from medcurate.suggest.terms import (
    Concept,
    PhraseMatcher,
    concept_matcher,
    concepts_of_phrase,
    domain_centre,
    load_concepts,
)

# A heading whose words recur in this many other headings' names is broad (Hospitals: 112, Humans:
# 117, Patients: 51; Electronic Health Records: 0); with no history its score is scaled down.
GENERIC_MIN_RELATED = 20
GENERIC_WEIGHT = 0.5
# MeSH headings found in the text: how many are scored, and the factor their cold score is scaled by
# (a MeSH heading reaches at most 0.6, below a confident label of the site's own taxonomy).
DEFAULT_MESH_SCORED = 8
# Entry terms a heading found is scored with (finding it and its reason use them all): bounds the encoder
# calls a new item costs.
MESH_PROTOTYPE_TERMS = 3
MESH_MAX_SCORE = 0.6
# A name's cosine similarity to an article above which the zero-shot baseline calls it a match.
ZERO_SHOT_THRESHOLD = 0.3


def _merged(existing: Sequence[str], extra: Sequence[str], name: str) -> tuple[str, ...]:
    seen = {name.lower(), *(term.lower() for term in existing)}
    added: list[str] = []
    for term in extra:
        if term.lower() not in seen:
            seen.add(term.lower())
            added.append(term)
    return (*existing, *added)


def enrich_label(info: LabelInfo, concepts: Sequence[Concept], matcher: PhraseMatcher) -> LabelInfo:
    """``info`` with the words of the concepts its name names (synonyms) or combines (description)."""
    exact = concepts_of_phrase(info.name, concepts)
    if exact:
        terms = [term for concept in exact for term in concept.terms]
        return LabelInfo(
            label=info.label,
            description=info.description,
            synonyms=_merged(info.synonyms, terms, info.name),
        )
    parts = [concepts[hit.target] for hit in matcher.find("", info.name)]
    if not parts:
        return info
    words = ", ".join(term for concept in parts for term in concept.terms)
    description = ". ".join(part for part in (info.description, words) if part)
    return LabelInfo(label=info.label, description=description, synonyms=info.synonyms)


def enrich_labels(labels: Sequence[LabelInfo]) -> list[LabelInfo]:
    """Every label enriched from the bundled health-IT concepts (``enrich_label``)."""
    concepts = load_concepts()
    matcher = concept_matcher(concepts)
    return [enrich_label(info, concepts, matcher) for info in labels]


def cold_model(
    labels: Sequence[LabelInfo], *, embed: Embed, options: EngineOptions | None = None
) -> LabelModel:
    """The learner over the enriched ``labels`` with no history: the cold start."""
    return fit((), labels=enrich_labels(labels), embed=embed, options=options, centre=domain_centre(embed))


def read_taxonomy(path: Path) -> list[LabelInfo]:
    """The labels of ``path``: a site's TOML configuration (its topics), or one label per line.

    Blank lines and lines starting with ``#`` are skipped; a label may be ``Namespace: Name``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuggestError(f"cannot read the taxonomy {path}: {exc}") from exc
    if path.suffix == ".toml":
        try:
            config = parse_config(text, origin=str(path))
        except ConfigError as exc:
            raise SuggestError(f"{path}: {exc}") from exc
        labels = [
            LabelInfo(label=t.label, description=t.description or "", synonyms=tuple(t.synonyms))
            for t in config.topics
        ]
    else:
        lines = (" ".join(line.split()) for line in text.splitlines())
        labels = [LabelInfo(label=line) for line in dict.fromkeys(lines) if line and not line.startswith("#")]
    if not labels:
        raise SuggestError(f"the taxonomy {path} has no label")
    return labels


def zero_shot_rankings(
    labels: Sequence[LabelInfo], test: Sequence[Example], *, embed: Embed
) -> list[list[ScoredLabel]]:
    """Labels ranked by the cosine similarity of each item to the label's name: the baseline."""
    names = embed([info.name for info in labels])
    vectors = item_vectors(embed, [e.title for e in test], [e.text for e in test])
    rankings: list[list[ScoredLabel]] = []
    for row in vectors @ names.T:
        order = np.argsort(-row, kind="stable")
        rankings.append(
            [ScoredLabel(label=labels[c].label, score=float(row[c]), reason="zero-shot") for c in order]
        )
    return rankings


def evaluate_cold(
    labels: Sequence[LabelInfo],
    test: Sequence[Example],
    *,
    embed: Embed,
    k: int = DEFAULT_K,
    options: EngineOptions | None = None,
) -> EvaluationReport:
    """The cold model and the zero-shot baseline on ``test``, scored the same way, in one run."""
    started = time.perf_counter()
    if not labels:
        raise SuggestError("the taxonomy has no label: nothing to suggest")
    model = cold_model(labels, embed=embed, options=options)
    vectors = item_vectors(embed, [e.title for e in test], [e.text for e in test])
    rankings = [
        predict(model, vector=vector, title=e.title, text=e.text)
        for vector, e in zip(vectors, test, strict=True)
    ]
    known = {normalize_label(info.label) for info in labels}
    engine_scores = score_rankings(rankings, test, train_labels=known, threshold=model.threshold, k=k)
    baseline_scores = score_rankings(
        zero_shot_rankings(labels, test, embed=embed),
        test,
        train_labels=known,
        threshold=ZERO_SHOT_THRESHOLD,
        k=k,
    )
    return EvaluationReport(
        engine=engine_scores,
        baseline=baseline_scores,
        k=k,
        n_train=0,
        threshold=model.threshold,
        seconds=time.perf_counter() - started,
    )


def evaluate_cold_dir(
    taxonomy: Path, test_dir: Path, *, embed: Embed, k: int = DEFAULT_K
) -> EvaluationReport:
    """``evaluate_cold`` over a taxonomy file and a directory of labelled Markdown files."""
    return evaluate_cold(read_taxonomy(taxonomy), examples_from_dir(test_dir), embed=embed, k=k)


# --- MeSH headings found in the text ---------------------------------------------------------------


@cache
def _broad_names() -> frozenset[str]:
    return frozenset(concept.name.lower() for concept in load_concepts() if concept.broad)


def is_generic(name: str) -> bool:
    """Whether a MeSH heading is broad: so marked in the bundled concepts, or its words are in many names."""
    return name.lower() in _broad_names() or related_count(name) >= GENERIC_MIN_RELATED


def generality_weight(label: str) -> float:
    """The factor a cold score of ``label`` is scaled by: ``GENERIC_WEIGHT`` for a broad MeSH heading."""
    namespace, sep, name = label.partition(": ")
    if sep and namespace == MESH_NAMESPACE and is_generic(name):
        return GENERIC_WEIGHT
    return 1.0


@dataclass
class _Evidence:
    """What names a heading in an item: its own name and entry terms, how often, and in the title."""

    name: str
    identifier: str = ""
    count: int = 0
    in_title: bool = False
    words: int = 1
    entry_forms: list[str] = field(default_factory=list)

    def reason(self) -> str:
        times = f"{self.count}×" if self.count > 1 else "once"
        where = ", in the title" if self.in_title else ""
        if self.entry_forms:
            forms = ", ".join(f"‘{form}’" for form in self.entry_forms[:2])
            return f"MeSH entry term {forms} → {self.name} ({times}{where})"
        return f"mentions ‘{self.name}’ {times}{where} (MeSH {self.identifier})"


@cache
def _mesh_concepts() -> tuple[tuple[Concept, ...], PhraseMatcher]:
    concepts = tuple(concept for concept in load_concepts() if concept.mesh)
    return concepts, concept_matcher(concepts)


def _mesh_evidence(index: MeshIndex, title: str, text: str) -> list[_Evidence]:
    found: dict[str, _Evidence] = {}
    for match in index.match(title, text):
        # One generic word ("Technology") counts only when the title names it or it recurs.
        if match.words == 1 and not match.in_title and match.count < 2:
            continue
        identifier = match.descriptor.identifier.rsplit("/", 1)[-1]
        found[match.descriptor.name] = _Evidence(
            name=match.descriptor.name,
            identifier=identifier,
            count=match.count,
            in_title=match.in_title,
            words=match.words,
        )
    concepts, matcher = _mesh_concepts()
    for hit in matcher.find(title, text):
        concept = concepts[hit.target]
        entry_forms = [form for form in hit.forms if form.lower() != concept.name.lower()]
        evidence = found.setdefault(concept.name, _Evidence(name=concept.name))
        if entry_forms:
            evidence.entry_forms = entry_forms
            evidence.count = max(evidence.count, hit.count)
            evidence.in_title = evidence.in_title or hit.in_title
            evidence.words = max(evidence.words, len(concept.name.split()))
    return sorted(found.values(), key=lambda e: (e.words, e.count, e.in_title), reverse=True)


def mesh_candidates(
    index: MeshIndex,
    *,
    title: str,
    text: str,
    vector: Vector,
    centre: Vector,
    embed: Embed,
    limit: int = DEFAULT_MESH_SCORED,
) -> list[ScoredLabel]:
    """MeSH headings named in the item (by name or entry term), scored by meaning, broad ones scaled down.

    Each heading found is scored as a cold-start label would be (its name and entry terms against
    the item, measured from the domain's centre, plus its term matches), scaled by
    ``MESH_MAX_SCORE`` and by ``generality_weight``; the reason names the evidence.
    """
    evidence = _mesh_evidence(index, title, text)[:limit]
    if not evidence:
        return []
    concepts = {concept.name: concept for concept in _mesh_concepts()[0]}
    labels = [
        LabelInfo(
            label=mesh_label(e.name),
            synonyms=concepts[e.name].entry[:MESH_PROTOTYPE_TERMS] if e.name in concepts else (),
        )
        for e in evidence
    ]
    model = fit((), labels=labels, embed=embed, centre=centre)
    scored = {s.label: s.score for s in predict(model, vector=vector, title=title, text=text)}
    candidates = [
        ScoredLabel(
            label=info.label,
            score=scored[info.label] * MESH_MAX_SCORE * generality_weight(info.label),
            reason=e.reason(),
        )
        for info, e in zip(labels, evidence, strict=True)
    ]
    return sorted(candidates, key=lambda s: -s.score)
