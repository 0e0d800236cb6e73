"""Each label's title words: the name as the query, moved by the items that carry or reject it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from medcurate.suggest.labels import LabelInfo, Vocabulary
from medcurate.suggest.lexical import StemFrequencies, TitleTerms, label_profiles, title_terms

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
    profiles = label_profiles(LABELS, TitleTerms(), np.zeros((0, 2)), np.zeros(0), StemFrequencies())
    match = profiles.match("Agency to fund eight patient safety laboratories")
    assert match[0] > 0.1
    assert match[1] == 0.0


def test_an_item_that_carries_a_label_moves_its_profile_towards_the_item_s_title() -> None:
    vocabulary = StemFrequencies.of(Vocabulary.of(TEXTS))
    weights = np.ones(2)
    untaught = label_profiles(LABELS, TitleTerms(), np.zeros((0, 2)), np.zeros(0), vocabulary)
    taught = label_profiles(LABELS, TitleTerms.of(TITLES), _votes((1, 0), (0, 1)), weights, vocabulary)
    title = "Genetic data startup raises $6M"
    assert untaught.match(title)[0] == 0.0
    assert taught.match(title)[0] > 0.1
    assert taught.match(title)[0] > taught.match(title)[1]


def test_a_reject_moves_the_profile_away_from_the_rejected_title() -> None:
    vocabulary = StemFrequencies.of(Vocabulary.of(TEXTS))
    title = "Ransomware attack shuts down clinic network"
    carried = label_profiles(LABELS, TitleTerms.of(TITLES), _votes((1, 0), (0, 1)), np.ones(2), vocabulary)
    # The same store, but an editor rejected "Digital Health Funding" for the ransomware item.
    rejected = label_profiles(LABELS, TitleTerms.of(TITLES), _votes((1, 0), (-1, 1)), np.ones(2), vocabulary)
    assert rejected.match(title)[0] < carried.match(title)[0]
    assert rejected.match(title)[0] < 0


def test_a_rare_word_counts_more_than_a_common_one() -> None:
    # "hospital" is in every text, "ransomware" in one: sharing the rare word is the stronger match.
    vocabulary = StemFrequencies.of(Vocabulary.of(TEXTS))
    profiles = label_profiles(LABELS, TitleTerms.of(TITLES), _votes((1, 0), (0, 1)), np.ones(2), vocabulary)
    assert profiles.match("Ransomware hits a clinic")[1] > profiles.match("A hospital clinic opens")[1]


def test_no_words_at_all_give_zero_matches() -> None:
    profiles = label_profiles(
        [LabelInfo(label="AI")], TitleTerms(), np.zeros((0, 1)), np.zeros(0), StemFrequencies()
    )
    assert profiles.match("").tolist() == [0.0]
    assert profiles.match("Anything at all").tolist() == [0.0]


def test_title_rows_grown_one_title_at_a_time_give_the_profiles_of_rows_built_at_once() -> None:
    vocabulary = StemFrequencies.of(Vocabulary.of(TEXTS))
    titles = [*TITLES, "Hospital opens telehealth wing"]
    votes = _votes((1, 0), (0, 1), (-1, 0))
    weights = np.array([0.5, 0.75, 1.0])
    grown = TitleTerms().adding(titles[:1]).adding(titles[1:2]).adding(titles[2:])
    assert grown.titles == tuple(titles)
    at_once = label_profiles(LABELS, TitleTerms.of(titles), votes, weights, vocabulary)
    step_by_step = label_profiles(LABELS, grown, votes, weights, vocabulary)
    for title in ("Startup raises funds for a telehealth wing", "Ransomware at the hospital", "Nothing here"):
        assert np.allclose(step_by_step.match(title), at_once.match(title))


def test_selected_rows_are_the_rows_of_those_titles_and_keep_every_column() -> None:
    terms = TitleTerms.of(TITLES)
    kept = terms.selecting([1])
    assert kept.titles == (TITLES[1],)
    assert kept.columns == terms.columns
    stems = {stem for stem, column in kept.columns.items() if kept.rows[0, column]}
    assert stems == set(title_terms(TITLES[1]))
    assert terms.selecting(slice(None)) is terms


def test_a_label_s_query_words_get_columns_without_adding_a_row() -> None:
    terms = TitleTerms.of(TITLES[:1]).adding((), indexing=["Cybersecurity"])
    assert len(terms.titles) == 1 and terms.rows.shape == (1, len(terms.columns))
    assert "cybersecur" in terms.columns
    # Stems no title or query has are left out of an encoded text; a title's stem counts once.
    encoded = terms.encode(["Cybersecurity funding for cybersecurity startups and bananas"])
    assert encoded.shape == (1, len(terms.columns))
    assert sorted(encoded.indices.tolist()) == sorted(terms.columns[s] for s in ("cybersecur", "startup"))


def test_each_thread_stems_as_the_others() -> None:
    words = ["funding", "agencies", "hospitals", "ransomware", "telehealth", "laboratories"] * 50
    expected = title_terms(" ".join(words))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: title_terms(" ".join(words)), range(16)))
    assert all(result == expected for result in results)


def test_stem_counts_carried_as_texts_are_counted_are_those_of_the_whole_vocabulary() -> None:
    vocabulary = Vocabulary.of(TEXTS[:1])
    carried = StemFrequencies.of(vocabulary)
    for text in TEXTS[1:]:
        vocabulary = vocabulary.adding([text])
        carried = carried.adding([text], vocabulary)
    assert carried.vocabulary is vocabulary
    assert carried.counts == StemFrequencies.of(vocabulary).counts
    # "hospital" and "hospitals" are one stem, in all three texts.
    assert carried.counts["hospit"] == 3
