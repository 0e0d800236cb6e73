"""Quality gate of the EXTRACT stage on the shared extraction corpus, and unit tests of its scorer."""

from __future__ import annotations

import json

import pytest
from bench._scoring import PageCounts, micro_score, page_counts, score_pages, shingles
from bench.extraction import DEFAULT_CORPUS, load_corpus, medcurate_text, trafilatura_text

from paths import BENCH

BASELINE = BENCH / "eval_baseline.json"


# the scorer ----------------------------------------------------------------------------------------


def test_shingles_are_lowercased_word_4grams_as_a_multiset() -> None:
    grams = shingles("A b c d A B C D")
    assert grams[("a", "b", "c", "d")] == 2
    assert sum(grams.values()) == 5
    assert shingles("") == {}


def test_a_text_shorter_than_a_shingle_is_one_shingle() -> None:
    assert shingles("Two  words") == {("two", "words"): 1}


def test_page_counts_use_the_multiset_intersection() -> None:
    counts = page_counts("one two three four one two three four", "one two three four five")
    # predicted: (1234)x2 (2341) (3412) (4123); true: (1234) (2345)
    assert counts == PageCounts(shared=1, predicted=5, true=2)


def test_perfect_and_empty_predictions() -> None:
    text = "hospitals must rehearse their ransomware response before an attack"
    perfect = score_pages([(text, text)])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    empty = score_pages([(None, text), ("", text)])
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)


def test_scores_are_micro_averaged_and_an_empty_prediction_counts_as_missed() -> None:
    true_a = "a b c d e f g"  # 4 shingles
    true_b = "h i j k l"  # 2 shingles
    score = score_pages([("a b c d e f g x y z", true_a), ("", true_b)])
    # page a: 7 predicted, 4 shared; page b: nothing predicted, 2 missed
    assert score.precision == pytest.approx(4 / 7)
    assert score.recall == pytest.approx(4 / 6)
    assert score.f1 == pytest.approx(2 * (4 / 7) * (4 / 6) / (4 / 7 + 4 / 6))
    assert score.pages == 2
    assert micro_score([]).f1 == 0.0


# the gate ------------------------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_extraction_f1_holds_its_floor_and_beats_trafilatura() -> None:
    pages = load_corpus(DEFAULT_CORPUS)
    if not pages:
        pytest.skip(
            f"{DEFAULT_CORPUS} is absent: the shared corpora sit beside the repo only on the team's machines"
        )
    floor = json.loads(BASELINE.read_text(encoding="utf-8"))["extraction"]["f1_floor"]
    ours = score_pages((medcurate_text(page), page.truth) for page in pages)
    theirs = score_pages((trafilatura_text(page), page.truth) for page in pages)
    assert ours.f1 >= theirs.f1, f"medcurate F1 {ours.f1:.4f} < trafilatura F1 {theirs.f1:.4f}"
    assert ours.f1 >= floor, f"medcurate F1 {ours.f1:.4f} fell below the pinned floor {floor}"
