"""Each label's title words, learned from the items it carries (Rocchio), and an item's match to them.

Pure: labels, titles and votes in, a matrix of profiles out.

The embeddings place an item by what it is about. Some labels say what kind of news it is rather
("Digital Health Funding": a startup raises $6M, an agency funds eight laboratories), and the items
nearest in meaning do not share that; their titles do, in a word or two. A label's profile is
Rocchio's relevance feedback over title words, with the label's name (and first synonyms) as the
query, moved towards the titles of the items that carry it and away from those an editor rejected
it for::

    profile = ALPHA * name + BETA * mean(titles carrying it) - GAMMA * mean(titles rejecting it)

each a TF-IDF vector of stemmed words (Snowball's English stemmer, so "funding" meets "fund"), stop
words dropped, the means weighted by the model's recency weights. A word's rarity comes from the
whole texts of the stored items (the model's ``Vocabulary``), not from the few words of their titles:
"health" is in a third of the titles but in nearly every text, and says little. The ``lexical`` feature of the
learner is the cosine of an item's title with each profile. Profiles are computed from the model's
store, so an accept, an add or a reject (``online.apply_decisions`` extends the store) moves them for
the very next item, and a label an editor has just added has a profile from its name and first item.

Why the sums are written here: scikit-learn's centroid classifiers (``NearestCentroid``) have neither
the query term nor negative feedback, and its ``TfidfVectorizer`` fixes its vocabulary when fitted: a
store that grows by one title with each editor's decision would be stemmed and fitted again, every
title, before the next suggestion (seconds at 100,000 items). ``TitleTerms`` keeps the stored titles'
stems as sparse rows over an index that grows, so a decision stems its own title only. The stemmer is
PyStemmer (Snowball's C library; the same stems as the pure-Python ``snowballstemmer``, a hundred
times faster).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import Stemmer
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.preprocessing import normalize

from medcurate.suggest.labels import LabelInfo, Matrix, Vocabulary
from medcurate.suggest.mesh import mesh_words

# Rocchio's weights as the literature gives them (query, relevant, non-relevant); not tuned here.
ALPHA = 1.0
BETA = 0.75
GAMMA = 0.15
QUERY_SYNONYMS = 3  # a label's first synonyms join its name in the query

_THREAD = threading.local()


def _stemmer() -> Any:
    """This thread's English stemmer: PyStemmer's keep state between calls, so one per thread."""
    stemmer = getattr(_THREAD, "stemmer", None)
    if stemmer is None:
        stemmer = _THREAD.stemmer = Stemmer.Stemmer("english")
    return stemmer


def title_terms(text: str) -> list[str]:
    """The stemmed content words of ``text`` (stop words and single characters dropped)."""
    words = [w for w in mesh_words(text) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]
    return [str(stem) for stem in _stemmer().stemWords(words)] if words else []


def _query(info: LabelInfo) -> str:
    return " ".join((info.name, *info.synonyms[:QUERY_SYNONYMS]))


def _rarity(frequency: int, documents: int) -> float:
    """A term's inverse document frequency, smoothed as scikit-learn's."""
    return float(np.log((documents + 1) / (frequency + 1)) + 1.0)


def _no_rows() -> sparse.csr_matrix:
    return sparse.csr_matrix((0, 0))


def _grown(columns: Mapping[str, int], stems: Sequence[str]) -> Mapping[str, int]:
    """``columns`` with a new column for each stem it lacks (copied only if it grows)."""
    new = [stem for stem in stems if stem not in columns]
    if not new:
        return columns
    grown = dict(columns)
    for stem in new:
        grown.setdefault(stem, len(grown))
    return grown


def _binary_rows(stems: Sequence[Sequence[str]], columns: Mapping[str, int]) -> sparse.csr_matrix:
    """One row per list of (distinct, indexed) stems, 1 in each stem's column."""
    indices = np.fromiter((columns[stem] for row in stems for stem in row), dtype=np.int64)
    indptr = np.cumsum([0, *(len(row) for row in stems)])
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(stems), len(columns)))


@dataclass(frozen=True, kw_only=True)
class TitleTerms:
    """Titles as binary rows of their stems, over a stem index (``columns``) that only grows.

    Built once for a model's store and carried to the next model: ``online.extend`` adds the decided
    items' titles and drops the rows they replace.
    """

    titles: tuple[str, ...] = ()
    columns: Mapping[str, int] = field(default_factory=dict)
    rows: sparse.csr_matrix = field(default_factory=_no_rows)  # titles x columns

    @classmethod
    def of(cls, titles: Sequence[str]) -> TitleTerms:
        """The rows of ``titles``."""
        return cls().adding(titles)

    def adding(self, titles: Sequence[str], *, indexing: Sequence[str] = ()) -> TitleTerms:
        """These rows and a row for each of ``titles``; the stems of ``indexing`` get columns too."""
        stems = [sorted(set(title_terms(title))) for title in titles]
        extra = [stem for text in indexing for stem in title_terms(text)]
        columns = _grown(self.columns, [*(stem for row in stems for stem in row), *extra])
        if columns is self.columns and not titles:
            return self
        # The same arrays, wider: a new stem is a column no stored title has.
        old = self.rows
        kept = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(len(self.titles), len(columns)))
        rows = sparse.csr_matrix(sparse.vstack([kept, _binary_rows(stems, columns)], format="csr"))
        return TitleTerms(titles=(*self.titles, *titles), columns=columns, rows=rows)

    def selecting(self, rows: Sequence[int] | npt.NDArray[np.int64] | slice) -> TitleTerms:
        """Only the rows ``rows``, in that order (the columns stay)."""
        if isinstance(rows, slice):
            if rows == slice(None):
                return self
            titles = self.titles[rows]
        else:
            titles = tuple(self.titles[i] for i in rows)
        return TitleTerms(titles=titles, columns=self.columns, rows=sparse.csr_matrix(self.rows[rows]))

    def encode(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Binary rows of ``texts`` over these columns (stems without a column are left out)."""
        known = [sorted({stem for stem in title_terms(text) if stem in self.columns}) for text in texts]
        return _binary_rows(known, self.columns)


@dataclass(frozen=True, kw_only=True)
class LabelProfiles:
    """Each label's profile (a row, L2-normalised) over the stems of the store's titles."""

    columns: Mapping[str, int] = field(default_factory=dict)
    rarity: Matrix = field(default_factory=lambda: np.zeros(0))  # each column's stem's rarity
    profiles: sparse.csr_matrix = field(default_factory=_no_rows)
    # In how many stored texts each stem occurs, of ``documents``: the rarity of a title's words.
    frequency: Mapping[str, int] = field(default_factory=dict)
    documents: int = 0

    def match(self, title: str) -> Matrix:
        """The cosine of ``title`` with each label's profile (zeros when there are no words).

        The title's length counts all its words, those no stored title has too: a title that
        shares one word of ten with a profile matches less than one that is that word.
        """
        terms = set(title_terms(title))
        if not self.columns or not terms:
            return np.zeros(self.profiles.shape[0])
        known = [self.columns[term] for term in terms if term in self.columns]
        vector = np.zeros(len(self.columns))
        vector[known] = self.rarity[known]
        norm = float(np.sqrt(sum(_rarity(self.frequency.get(t, 0), self.documents) ** 2 for t in terms)))
        return np.asarray(self.profiles @ vector, dtype=np.float64).ravel() / norm


def _feedback_mean(mask: sparse.csr_matrix, weights: Matrix, titles: sparse.csr_matrix) -> sparse.csr_matrix:
    """Per label (column of ``mask``), the weighted mean of the title vectors of its rows."""
    weighted = sparse.csr_matrix(mask.multiply(weights[:, None]))
    totals = np.asarray(weighted.sum(axis=0)).ravel()
    means = sparse.csr_matrix(weighted.T) @ titles
    return sparse.csr_matrix(sparse.diags(1.0 / np.where(totals > 0, totals, 1.0)) @ means)


def _most_frequent_stems(counts: Mapping[str, int], words: Sequence[str], into: dict[str, int]) -> None:
    """Raise each of ``words``' stem in ``into`` to the word's count, if higher."""
    words = [word for word in words if len(word) > 1 and word not in ENGLISH_STOP_WORDS]
    for word, stem in zip(words, _stemmer().stemWords(words) if words else [], strict=True):
        if (count := counts.get(word, 0)) > into.get(stem, 0):
            into[stem] = count


@dataclass(frozen=True, kw_only=True)
class StemFrequencies:
    """In how many of the vocabulary's texts each stem occurs (at least as many as its most frequent word).

    Carried as the store grows (``adding``): a word's count only grows, so the new texts' words are
    all that can raise a stem's count, and a decision stems those, not the whole vocabulary.
    """

    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    counts: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, vocabulary: Vocabulary) -> StemFrequencies:
        """The stems' counts of ``vocabulary``."""
        counts: dict[str, int] = {}
        _most_frequent_stems(vocabulary.counts, list(vocabulary.counts), counts)
        return cls(vocabulary=vocabulary, counts=counts)

    def adding(self, texts: Sequence[str], vocabulary: Vocabulary) -> StemFrequencies:
        """The counts of ``vocabulary``: this one's with ``texts`` counted (``Vocabulary.adding``)."""
        counts = dict(self.counts)
        words = sorted({word for text in texts for word in mesh_words(text)})
        _most_frequent_stems(vocabulary.counts, words, counts)
        return StemFrequencies(vocabulary=vocabulary, counts=counts)


def label_profiles(
    labels: Sequence[LabelInfo],
    titles: TitleTerms,
    votes: Matrix | sparse.csr_matrix,
    weights: Matrix,
    frequencies: StemFrequencies,
) -> LabelProfiles:
    """The profiles of ``labels`` from the stored ``titles``, their ``votes`` (1 carry, -1 reject),
    the rows' recency ``weights`` and the ``frequencies`` of the stems in the stored texts (how rare
    each word is).

    Each stem counts once in a title: a title's words are few, and one said twice is no more the
    item's kind.
    """
    queries = [_query(info) for info in labels]
    terms = titles.adding((), indexing=queries)
    if not terms.columns:  # not one word among them
        return LabelProfiles(profiles=sparse.csr_matrix((len(labels), 0)))
    frequency = frequencies.counts
    documents = frequencies.vocabulary.documents
    rarity = np.zeros(len(terms.columns))
    for stem, column in terms.columns.items():
        rarity[column] = _rarity(frequency.get(stem, 0), documents)
    weigh = sparse.diags(rarity)
    profile = ALPHA * normalize(terms.encode(queries) @ weigh)
    if terms.titles:
        stored = normalize(terms.rows @ weigh)
        profile = profile + BETA * _feedback_mean(sparse.csr_matrix(votes > 0, dtype=float), weights, stored)
        profile = profile - GAMMA * _feedback_mean(sparse.csr_matrix(votes < 0, dtype=float), weights, stored)
    return LabelProfiles(
        columns=terms.columns,
        rarity=rarity,
        profiles=sparse.csr_matrix(normalize(profile)),
        frequency=frequency,
        documents=documents,
    )
