"""Each label's title words: the name as the query, moved by the items that carry or reject it."""

from __future__ import annotations

import numpy as np

from medcurate.suggest.labels import LabelInfo, Vocabulary
from medcurate.suggest.lexical import label_profiles, title_terms

FUNDING = LabelInfo(label="Digital Health Funding")
SECURITY = LabelInfo(label="Cybersecurity")
LABELS = [FUNDING, SECURITY]
TITLES = [
    "Telehealth startup raises $12M in Series A round",
    "Ransomware attack shuts down hospital network",
]
TEXTS = [
    "The startup raises money from investors to grow its telehealth platform for hospitals.",
    "A ransomware attack on the hospital network encrypted patient records and the hospital paid.",
    "The hospital opens a new wing with telehealth rooms and patient records online.",
]


def _votes(*rows: tuple[float, float]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def test_title_terms_are_stemmed_content_words() -> None:
    assert title_terms("The Agency Funds the Funding of Hospitals") == ["agenc", "fund", "fund", "hospit"]


def test_a_label_matches_a_title_by_the_stem_of_its_name() -> None:
    profiles = label_profiles(LABELS, [], np.zeros((0, 2)), np.zeros(0), Vocabulary())
    match = profiles.match("Agency to fund eight patient safety laboratories")
    assert match[0] > 0.1
    assert match[1] == 0.0


def test_an_item_that_carries_a_label_moves_its_profile_towards_the_item_s_title() -> None:
    vocabulary = Vocabulary.of(TEXTS)
    weights = np.ones(2)
    untaught = label_profiles(LABELS, [], np.zeros((0, 2)), np.zeros(0), vocabulary)
    taught = label_profiles(LABELS, TITLES, _votes((1, 0), (0, 1)), weights, vocabulary)
    title = "Genetic data startup raises $6M"
    assert untaught.match(title)[0] == 0.0
    assert taught.match(title)[0] > 0.1
    assert taught.match(title)[0] > taught.match(title)[1]


def test_a_reject_moves_the_profile_away_from_the_rejected_title() -> None:
    vocabulary = Vocabulary.of(TEXTS)
    title = "Ransomware attack shuts down clinic network"
    carried = label_profiles(LABELS, TITLES, _votes((1, 0), (0, 1)), np.ones(2), vocabulary)
    # The same store, but an editor rejected "Digital Health Funding" for the ransomware item.
    rejected = label_profiles(LABELS, TITLES, _votes((1, 0), (-1, 1)), np.ones(2), vocabulary)
    assert rejected.match(title)[0] < carried.match(title)[0]
    assert rejected.match(title)[0] < 0


def test_a_rare_word_counts_more_than_a_common_one() -> None:
    # "hospital" is in every text, "ransomware" in one: sharing the rare word is the stronger match.
    vocabulary = Vocabulary.of(TEXTS)
    profiles = label_profiles(LABELS, TITLES, _votes((1, 0), (0, 1)), np.ones(2), vocabulary)
    assert profiles.match("Ransomware hits a clinic")[1] > profiles.match("A hospital clinic opens")[1]


def test_no_words_at_all_give_zero_matches() -> None:
    profiles = label_profiles([LabelInfo(label="AI")], [], np.zeros((0, 1)), np.zeros(0), Vocabulary())
    assert profiles.match("").tolist() == [0.0]
    assert profiles.match("Anything at all").tolist() == [0.0]
