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

Why the sum is written here: scikit-learn's ``TfidfVectorizer`` makes the vectors (with the rarity
set from the vocabulary), but its centroid classifiers (``NearestCentroid``) have neither the query
term nor negative feedback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import snowballstemmer
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from medcurate.suggest.labels import LabelInfo, Matrix, Vocabulary
from medcurate.suggest.mesh import mesh_words

# Rocchio's weights as the literature gives them (query, relevant, non-relevant); not tuned here.
ALPHA = 1.0
BETA = 0.75
GAMMA = 0.15
QUERY_SYNONYMS = 3  # a label's first synonyms join its name in the query

_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def title_terms(text: str) -> list[str]:
    """The stemmed content words of ``text`` (stop words and single characters dropped)."""
    return [_stem(w) for w in mesh_words(text) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]


def _query(info: LabelInfo) -> str:
    return " ".join((info.name, *info.synonyms[:QUERY_SYNONYMS]))


def _rarity(frequency: int, documents: int) -> float:
    """A term's inverse document frequency, smoothed as scikit-learn's."""
    return float(np.log((documents + 1) / (frequency + 1)) + 1.0)


@dataclass(frozen=True, kw_only=True)
class LabelProfiles:
    """Each label's profile (a row, L2-normalised) over the words of the store's titles."""

    vectorizer: TfidfVectorizer | None
    profiles: sparse.csr_matrix
    # In how many stored texts each stem occurs, of ``documents``: the rarity of a title's words.
    frequency: Mapping[str, int] = field(default_factory=dict)
    documents: int = 0

    def match(self, title: str) -> Matrix:
        """The cosine of ``title`` with each label's profile (zeros when there are no words).

        The title's length counts all its words, those no stored title has too: a title that
        shares one word of ten with a profile matches less than one that is that word.
        """
        terms = set(title_terms(title))
        if self.vectorizer is None or not terms:
            return np.zeros(self.profiles.shape[0])
        vector = self.vectorizer.transform([title])
        norm = float(np.sqrt(sum(_rarity(self.frequency.get(t, 0), self.documents) ** 2 for t in terms)))
        return np.asarray((self.profiles @ vector.T).toarray(), dtype=np.float64).ravel() / norm


def _feedback_mean(mask: Matrix, weights: Matrix, titles: sparse.csr_matrix) -> sparse.csr_matrix:
    """Per label (column of ``mask``), the weighted mean of the title vectors of its rows."""
    weighted = mask * weights[:, None]
    totals = weighted.sum(axis=0)
    weighted = weighted / np.where(totals > 0, totals, 1.0)
    return sparse.csr_matrix(weighted.T) @ titles


def stem_frequencies(vocabulary: Vocabulary) -> dict[str, int]:
    """In how many of the vocabulary's texts each stem occurs (at least as many as its most frequent word)."""
    frequency: dict[str, int] = {}
    for word, count in vocabulary.counts.items():
        if len(word) > 1 and word not in ENGLISH_STOP_WORDS:
            stem = _stem(word)
            frequency[stem] = max(frequency.get(stem, 0), count)
    return frequency


def label_profiles(
    labels: Sequence[LabelInfo],
    titles: Sequence[str],
    votes: Matrix,
    weights: Matrix,
    vocabulary: Vocabulary,
) -> LabelProfiles:
    """The profiles of ``labels`` from the stored ``titles``, their ``votes`` (1 carry, -1 reject),
    the rows' recency ``weights`` and the stored texts' ``vocabulary`` (for the words' rarity)."""
    queries = [_query(info) for info in labels]
    # Each word once: a title's words are few, and one said twice is no more the item's kind.
    vectorizer = TfidfVectorizer(analyzer=title_terms, binary=True, norm=None)
    try:
        vectorizer.fit([*titles, *queries])
    except ValueError:  # not one word among them
        return LabelProfiles(vectorizer=None, profiles=sparse.csr_matrix((len(labels), 0)))
    frequency = stem_frequencies(vocabulary)
    documents = vocabulary.documents
    terms = vectorizer.get_feature_names_out()
    vectorizer.idf_ = np.array([_rarity(frequency.get(t, 0), documents) for t in terms])
    profile = ALPHA * normalize(vectorizer.transform(queries))
    if len(titles):
        stored = normalize(vectorizer.transform(titles))
        profile = profile + BETA * _feedback_mean((votes > 0).astype(float), weights, stored)
        profile = profile - GAMMA * _feedback_mean((votes < 0).astype(float), weights, stored)
    profiles = sparse.csr_matrix(normalize(profile))
    return LabelProfiles(vectorizer=vectorizer, profiles=profiles, frequency=frequency, documents=documents)
