"""What editors' split and merge decisions teach story matching: pairs to honour, and the threshold.

Each decision is stored as item pairs with the score matching gave them when the editor acted
(``store.stories.record_decisions``). A split says "these pairs are not one story", a merge "they
are". Two lessons follow:

1. **Constraints.** A split pair never shares a story again (``cannot_link``), a merged pair always
   does (``must_link``), through rebuilds too. The latest decision about a pair wins.
2. **The threshold.** The threshold moves to where the fewest decisions would have been needed: a
   split of a pair scored at or above it, or a merge of one below it, each counts as one error; the
   threshold that makes the fewest errors wins, the one nearest the current threshold on ties, within
   ``[MIN_THRESHOLD, MAX_THRESHOLD]``. Pairs decided by copy or identifier evidence (score >= 0.95)
   or outside the window (score 0) say nothing about the threshold and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from medcurate.store.stories import StoryDecision
from medcurate.stories.score import IDENTIFIER_SCORE, StoryModel

MIN_THRESHOLD = 0.4
MAX_THRESHOLD = 0.9
SPLIT = "split"
MERGE = "merge"


@dataclass(frozen=True)
class Lessons:
    """The constraints and the model that decisions give."""

    model: StoryModel
    cannot_link: frozenset[frozenset[int]]
    must_link: tuple[tuple[int, int], ...]


def _errors(threshold: float, decisions: Sequence[StoryDecision]) -> int:
    wrong = 0
    for decision in decisions:
        joined = decision.score >= threshold
        wrong += joined if decision.action == SPLIT else not joined
    return wrong


def learned_threshold(base: float, decisions: Sequence[StoryDecision]) -> float:
    """The threshold ``decisions`` point to, starting from ``base``."""
    telling = [d for d in decisions if 0.0 < d.score < IDENTIFIER_SCORE]
    if not telling:
        return base
    # Every place where the error count can change: just above and at each decided score.
    candidates = {base}
    for decision in telling:
        candidates.update({round(decision.score + 0.005, 4), round(decision.score, 4)})
    bounded = [min(max(c, MIN_THRESHOLD), MAX_THRESHOLD) for c in candidates]
    return min(bounded, key=lambda t: (_errors(t, telling), abs(t - base)))


def lessons(decisions: Sequence[StoryDecision], base: StoryModel | None = None) -> Lessons:
    """Constraints and threshold from ``decisions`` (the latest per pair)."""
    base = base or StoryModel()
    threshold = learned_threshold(base.threshold, decisions)
    model = base if threshold == base.threshold else replace(base, threshold=threshold, source="decisions")
    return Lessons(
        model=model,
        cannot_link=frozenset(frozenset((d.item_a, d.item_b)) for d in decisions if d.action == SPLIT),
        must_link=tuple((d.item_a, d.item_b) for d in decisions if d.action == MERGE),
    )
