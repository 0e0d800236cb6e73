"""Candidate labels: the words that describe them, their vectors, and where their words occur.

Pure: labels and texts in, arrays out.

1. ``LabelInfo``: a label (``Namespace: Name`` for topics) with its description and synonyms;
   ``label_prototypes`` embeds them into one vector per label (the cold-start signal).
2. ``term_hits``: which labels' names or synonyms occur as phrases in a text (``HIMSS 19`` also as
   ``HIMSS19`` and ``HIMSS 2019``).
3. ``Vocabulary``: in how many of the site's labelled items each word occurs. A match of a phrase
   most items contain ("data", "patient") says little about the item; ``term_hits`` weighs each
   match by the phrase's rarity, so a label named after a common word (often one an editor has
   just added) does not win every item that mentions the word.
4. ``typical_neighbour_similarity``: how similar an item typically is to its nearest item sharing
   a label (``engine`` admits an item editors decided on as a neighbour only that close).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from medcurate.suggest.embedding import EMBEDDING_DIM, Embed, Vector, normalise_rows
from medcurate.suggest.mesh import mesh_words

Matrix = npt.NDArray[np.float64]

PROTOTYPE_TEXTS = 8


@dataclass(frozen=True, kw_only=True)
class LabelInfo:
    """A candidate label with the words that describe it (``Namespace: Name`` for topics)."""

    label: str
    description: str = ""
    synonyms: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The part after ``Namespace: ``, or the whole label."""
        _, sep, tail = self.label.partition(": ")
        return tail if sep else self.label

    @property
    def prototype_texts(self) -> tuple[str, ...]:
        """What the label is about: its name, description and first synonyms, each a text to embed.

        The first ``PROTOTYPE_TEXTS`` only: a concept's first entry terms carry its meaning, and each
        text costs an encoder call on a site's first suggestion (all synonyms still match as terms).
        """
        parts = (self.name, self.description, *self.synonyms)
        return tuple(part for part in parts if part.strip())[:PROTOTYPE_TEXTS]


def label_prototypes(embed: Embed, labels: Sequence[LabelInfo]) -> Vector:
    """One vector per label: half its name's vector, half the mean of all its texts' vectors.

    One text of name, description and synonyms joined would be dominated by a long synonym list;
    the name keeps half the weight, and every synonym still pulls the label towards its meaning.
    """
    if not labels:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    texts = [info.prototype_texts or (info.label,) for info in labels]
    flat = embed([text for group in texts for text in group])
    rows: list[Vector] = []
    start = 0
    for group in texts:
        vectors = flat[start : start + len(group)]
        rows.append(0.5 * vectors[0] + 0.5 * vectors.mean(axis=0))
        start += len(group)
    return normalise_rows(np.vstack(rows))


@dataclass(frozen=True, kw_only=True)
class Vocabulary:
    """In how many labelled items each word occurs (``documents``: how many items were counted)."""

    counts: Mapping[str, int] = field(default_factory=dict)
    documents: int = 0

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        """The vocabulary of ``texts``, one item each."""
        return cls().adding(texts)

    def adding(self, texts: Iterable[str]) -> Vocabulary:
        """This vocabulary with more items counted."""
        counts = Counter(self.counts)
        documents = self.documents
        for text in texts:
            counts.update(set(mesh_words(text)))
            documents += 1
        return Vocabulary(counts=dict(counts), documents=documents)

    def rarity(self, phrase: Sequence[str]) -> float:
        """1 for a phrase no counted item contains, 0 for one every item contains (log scale).

        A phrase occurs at most as often as its rarest word. With nothing counted, every phrase is 1.
        """
        if self.documents <= 0:
            return 1.0
        frequency = min((self.counts.get(word, 0) for word in phrase), default=0)
        return math.log((self.documents + 1) / (frequency + 1)) / math.log(self.documents + 1)


def _phrases(info: LabelInfo) -> list[tuple[str, ...]]:
    phrases: list[tuple[str, ...]] = []
    for name in (info.name, *info.synonyms):
        words = tuple(mesh_words(name))
        if not words:
            continue
        phrases.append(words)
        if len(words) > 1:
            # "HIMSS 19" is written "HIMSS19" as often as not, and "HIMSS 2019" too.
            phrases.append(("".join(words),))
            if len(words[-1]) == 2 and words[-1].isdigit():
                phrases.append((*words[:-1], f"20{words[-1]}"))
    return phrases


def term_hits(
    labels: Sequence[LabelInfo], text: str, *, vocabulary: Vocabulary | None = None
) -> tuple[Matrix, list[list[str]]]:
    """Which labels' names or synonyms occur as phrases in ``text``, and each match's words.

    A label's hit is 1, or with a ``vocabulary`` the rarity of the rarest phrase of it that occurs.
    """
    index: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for column, info in enumerate(labels):
        for phrase in _phrases(info):
            index.setdefault(phrase[0], []).append((phrase, column))
    words = mesh_words(text)
    hits = np.zeros(len(labels))
    matched: list[list[str]] = [[] for _ in labels]
    for position, word in enumerate(words):
        for phrase, column in index.get(word, ()):
            if tuple(words[position : position + len(phrase)]) == phrase:
                weight = 1.0 if vocabulary is None else vocabulary.rarity(phrase)
                hits[column] = max(hits[column], weight)
                matched[column].append(" ".join(phrase))
    return hits, matched


def typical_neighbour_similarity(
    vectors: Vector, votes: Matrix | sparse.csr_matrix, *, chunk: int = 1024
) -> float:
    """The median, over items carrying a label, of their similarity to the nearest other item sharing one.

    ``vectors``: normalised item vectors; ``votes``: items x labels (> 0: carries it), dense or
    sparse. -1 (every similarity passes) when no two items share a label. Computed in row chunks, so
    memory grows with the items, not with their square.
    """
    carried = sparse.csr_matrix(votes > 0, dtype=np.float32)
    rows = np.flatnonzero(carried.getnnz(axis=1))
    labelled = carried[rows].T.tocsc()
    nearest: list[float] = []
    for start in range(0, len(rows), chunk):
        block = rows[start : start + chunk]
        similarities = vectors[block] @ vectors[rows].T
        shares = (carried[block] @ labelled).toarray() > 0
        shares[np.arange(len(block)), np.arange(start, start + len(block))] = False  # not itself
        best = np.where(shares, similarities, -np.inf).max(axis=1)
        nearest.extend(float(b) for b in best if np.isfinite(b))
    return float(np.median(nearest)) if nearest else -1.0
