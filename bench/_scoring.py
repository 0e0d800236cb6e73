"""Shingle scoring of extracted article text, as the article-extraction benchmark does it.

Both texts are lower-cased and split on white space; each becomes a multiset of word 4-grams
("shingles"). Per page the shared shingles are the multiset intersection; precision and recall are
micro-averaged, i.e. the counts are summed over all pages before dividing. An empty prediction
shares nothing, so its page's true shingles all count as missed. A text shorter than four words
is one shorter shingle, as in the benchmark, so a tiny text still counts.

Hand-written because it is a dozen lines and must match the benchmark exactly; a library's
similarity measure (Jaccard on sets, say) would give different figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

SHINGLE_SIZE = 4


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Return the multiset of word ``size``-grams of ``text``, lower-cased, split on white space."""
    words = text.lower().split()
    if not words:
        return Counter()
    return Counter(tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1)))


@dataclass(frozen=True, slots=True, kw_only=True)
class PageCounts:
    """Shingle counts of one page: shared, predicted and true."""

    shared: int
    predicted: int
    true: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """Micro-averaged precision, recall and F1 over a set of pages."""

    precision: float
    recall: float
    f1: float
    pages: int


def page_counts(predicted: str | None, true: str) -> PageCounts:
    """Count the shared, predicted and true shingles of one page."""
    pred = shingles(predicted or "")
    gold = shingles(true)
    return PageCounts(
        shared=sum((pred & gold).values()), predicted=sum(pred.values()), true=sum(gold.values())
    )


def micro_score(counts: Iterable[PageCounts]) -> Score:
    """Sum the counts over all pages, then compute precision, recall and F1."""
    shared = predicted = true = pages = 0
    for page in counts:
        shared += page.shared
        predicted += page.predicted
        true += page.true
        pages += 1
    precision = shared / predicted if predicted else 0.0
    recall = shared / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision=precision, recall=recall, f1=f1, pages=pages)


def score_pages(pairs: Iterable[tuple[str | None, str]]) -> Score:
    """Score ``(predicted, true)`` text pairs, micro-averaged."""
    return micro_score(page_counts(pred, true) for pred, true in pairs)
