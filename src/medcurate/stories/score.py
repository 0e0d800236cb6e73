"""Are two items the same news story? One score in [0, 1] from the evidence of the pair.

The evidence (:class:`PairEvidence`):

1. **copy**: the estimated Jaccard similarity of the bodies' MinHash signatures (``medcurate.dedupe``).
   At or above the dedupe threshold (0.4) the two are copies of one article: syndication, the
   strongest same-story evidence there is.
2. **identifier**: a shared DOI, PMID, trial, FDA submission or Federal Register document
   (``shared_identifiers``): one study or rule.
3. **meaning**: the cosine of the two texts' MiniLM embeddings. It knows that "scribes boost ED
   productivity" and "scribes save doctors time" say the same, but it also finds two different data
   breaches alike, so it never decides alone.
4. **names**: the cosine of the two sets of entities and numbers, each weighed by its inverse document
   frequency among the items compared (``TermWeights``). Two write-ups of one event name the same
   rare things (the company, the sum, the journal); two breaches at two hospitals share only common
   ones ("HIPAA", "OCR").
5. **days** apart: outside the window (7 days by default) two items are never one story, except when
   they share an identifier or are copies (a study or rule is written about for weeks).

The score is ``copy`` or ``identifier`` evidence when present, otherwise mostly meaning with names
added (``names_weight``, 0.15): on the labelled dev part, names alone separate nothing (boilerplate
and sidebars name things too) but they lift two write-ups of one event above two articles of one
theme. ``names`` is the weighted overlap relative to the shorter item, so a one-sentence summary that
names the same rare things as a long report still scores high; but an item naming fewer than three
rare things counts as naming three, so one shared name ("AI") is never all its names. A pair from
the same outlet is scaled down (``same_outlet_factor``): an outlet seldom reports one event twice,
and two articles from one outlet on one day share its boilerplate and its beat. The threshold lives
in :class:`StoryModel`, learned from labels and editors' decisions (``learn.py``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from medcurate.dedupe import DEFAULT_THRESHOLD as COPY_THRESHOLD
from medcurate.dedupe import estimated_similarity
from medcurate.intel.identifiers import shared_identifiers
from medcurate.stories.features import StoryDoc

DEFAULT_WINDOW_DAYS = 7
DEFAULT_IDENTIFIER_WINDOW_DAYS = 60
DEFAULT_THRESHOLD = 0.66  # chosen on the dev part of the labels (bench/stories.py), see docs/benchmarks.md
DEFAULT_SAME_OUTLET_FACTOR = 0.8
DEFAULT_NAMES_WEIGHT = 0.15
IDENTIFIER_SCORE = 0.95
NAMES_FLOOR_TERMS = 3


@dataclass(frozen=True)
class StoryModel:
    """The matcher's settings: the threshold an average-link score must reach, and the windows."""

    threshold: float = DEFAULT_THRESHOLD
    window_days: int = DEFAULT_WINDOW_DAYS
    identifier_window_days: int = DEFAULT_IDENTIFIER_WINDOW_DAYS
    same_outlet_factor: float = DEFAULT_SAME_OUTLET_FACTOR
    names_weight: float = DEFAULT_NAMES_WEIGHT
    source: str = "default"

    def to_json(self) -> dict[str, object]:
        """The stored form."""
        return {
            "threshold": self.threshold,
            "window_days": self.window_days,
            "identifier_window_days": self.identifier_window_days,
            "same_outlet_factor": self.same_outlet_factor,
            "names_weight": self.names_weight,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> StoryModel:
        """Read the stored form (missing keys keep their defaults)."""
        defaults = cls()

        def number(key: str, default: float) -> float:
            value = data.get(key, default)
            return float(value) if isinstance(value, int | float) else default

        return cls(
            threshold=number("threshold", defaults.threshold),
            window_days=int(number("window_days", defaults.window_days)),
            identifier_window_days=int(number("identifier_window_days", defaults.identifier_window_days)),
            same_outlet_factor=number("same_outlet_factor", defaults.same_outlet_factor),
            names_weight=number("names_weight", defaults.names_weight),
            source=str(data.get("source", defaults.source)),
        )


@dataclass
class TermWeights:
    """Inverse document frequencies of entities and numbers among the items being compared."""

    documents: int = 0
    frequency: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, docs: Iterable[StoryDoc]) -> TermWeights:
        """Count every term of ``docs``."""
        weights = cls()
        for doc in docs:
            weights.add(doc)
        return weights

    def add(self, doc: StoryDoc) -> None:
        """Count ``doc``'s terms."""
        self.documents += 1
        self.frequency.update(doc.terms)

    def weight(self, term: str) -> float:
        """Smoothed IDF: a term in every item weighs about 0, a term in one item the most."""
        return math.log((self.documents + 1) / (self.frequency.get(term, 0) + 0.5))


@dataclass(frozen=True)
class PairEvidence:
    """Everything the score of a pair is made of (shown to editors as the reason)."""

    copy: float
    identifiers: tuple[str, ...]
    meaning: float
    names: float
    days_apart: int | None
    same_outlet: bool
    score: float

    def reason(self) -> str:
        """A short human reading of the evidence."""
        if self.copy >= COPY_THRESHOLD:
            return f"copies of one text ({self.copy:.0%} shared)"
        if self.identifiers:
            return "same " + ", ".join(self.identifiers)
        return f"meaning {self.meaning:.2f}, names {self.names:.2f}"


def _names(a: StoryDoc, b: StoryDoc, weights: TermWeights) -> float:
    shared = a.terms & b.terms
    if not shared:
        return 0.0
    wa = sum(weights.weight(t) ** 2 for t in a.terms)
    wb = sum(weights.weight(t) ** 2 for t in b.terms)
    both = sum(weights.weight(t) ** 2 for t in shared)
    # A short item naming one or two things would score 1.0 by sharing them: the shorter side counts
    # as naming at least NAMES_FLOOR_TERMS rare things.
    floor = NAMES_FLOOR_TERMS * weights.weight("") ** 2
    return both / max(min(wa, wb), floor) if wa and wb else 0.0


def _meaning(a: StoryDoc, b: StoryDoc) -> float:
    if a.vector is None or b.vector is None:
        return 0.0
    return max(0.0, float(a.vector @ b.vector))


def _days_apart(a: StoryDoc, b: StoryDoc) -> int | None:
    if a.day is None or b.day is None:
        return None
    return abs((a.day - b.day).days)


def evidence(a: StoryDoc, b: StoryDoc, weights: TermWeights, model: StoryModel) -> PairEvidence:
    """The evidence and the same-story score of ``a`` and ``b``."""
    copy = estimated_similarity(a.signature, b.signature) if a.signature and b.signature else 0.0
    shared = tuple(i.key for i in shared_identifiers(a.identifiers, b.identifiers))
    meaning, names = _meaning(a, b), _names(a, b, weights)
    days = _days_apart(a, b)
    same_outlet = bool(a.brand) and a.brand == b.brand
    # One outlet's pages share its template: a copy is only a copy across outlets (syndication).
    if copy >= COPY_THRESHOLD and not same_outlet:
        score = max(copy, IDENTIFIER_SCORE)
    elif shared and (days is None or days <= model.identifier_window_days):
        score = IDENTIFIER_SCORE
    elif days is not None and days > model.window_days:
        score = 0.0
    else:
        score = (1 - model.names_weight) * meaning + model.names_weight * names
        if same_outlet:
            score *= model.same_outlet_factor
    return PairEvidence(copy, shared, meaning, names, days, same_outlet, score)


def same_story_score(a: StoryDoc, b: StoryDoc, weights: TermWeights, model: StoryModel) -> float:
    """Only the score of :func:`evidence`."""
    return evidence(a, b, weights, model).score
