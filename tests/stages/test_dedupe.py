"""Tests of medcurate.dedupe: URL keys, MinHash signatures, the LSH index and its verdicts."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from medcurate.dedupe import (
    DEFAULT_NUM_PERM,
    DedupeIndex,
    DedupeOptions,
    DedupeReason,
    DedupeVerdict,
    estimated_similarity,
    shingle_words,
    signature,
    url_key,
)
from medcurate.errors import ConfigError, StorageError
from paths import FIXTURES, SHARED

ARTICLES = FIXTURES / "sources" / "dedupe"
GROUND_TRUTH = SHARED / "corpora" / "extraction-dev" / "ground-truth.json"


def article(name: str) -> str:
    """One of the hand-written article fixtures."""
    return (ARTICLES / f"{name}.txt").read_text(encoding="utf-8")


# --- URL keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "http://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://EXAMPLE.com/a/", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?fbclid=IwAR0x&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("  https://example.com/a ", "https://example.com/a"),
    ],
)
def test_url_key_equal(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "https://example.com/b"),
        ("https://example.com/A", "https://example.com/a"),
        ("https://example.com/story?id=1", "https://example.com/story?id=2"),
        ("https://example.com/a", "https://example.org/a"),
        ("https://example.com:8443/a", "https://example.com/a"),
        ("https://news.example.com/a", "https://example.com/a"),
    ],
)
def test_url_key_different(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)


# --- signatures ------------------------------------------------------------------------------------


def test_words_normalise_case_width_and_punctuation() -> None:
    words = shingle_words("The FDA’s ＡＩ rule—finally! 2023.")
    assert words == ["the", "fda", "s", "ai", "rule", "finally", "2023"]


def test_signature_is_compact_stable_and_ignores_case_and_punctuation() -> None:
    text = article("original")
    blob = signature(text)
    assert len(blob) == 11 + 4 * DEFAULT_NUM_PERM
    assert signature(text) == blob
    assert signature(text.upper().replace(",", " ")) == blob


@pytest.mark.parametrize(
    ("left", "right", "low", "high"),
    [
        ("original", "original", 1.0, 1.0),
        ("original", "republished", 0.45, 0.85),
        ("original", "same_topic", 0.0, 0.15),
        ("republished", "same_topic", 0.0, 0.15),
    ],
)
def test_estimated_similarity_of_fixtures(left: str, right: str, low: float, high: float) -> None:
    assert low <= estimated_similarity(signature(article(left)), signature(article(right))) <= high


def test_empty_text_has_similarity_zero() -> None:
    assert estimated_similarity(signature(""), signature("")) == 0.0


def test_signature_from_other_options_is_refused() -> None:
    blob = signature(article("original"), DedupeOptions(shingle_words=3))
    with pytest.raises(ConfigError, match="recompute the signatures"):
        DedupeIndex.from_signatures([(1, blob)])


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "bad header"),
        (b"XXXX" + bytes(600), "bad header"),
        (signature("some words here")[:-4], "wrong length"),
    ],
)
def test_corrupt_signature_is_a_storage_error(blob: bytes, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        DedupeIndex().add_signature(1, blob)


@pytest.mark.parametrize(
    "options",
    [
        {"shingle_words": 0},
        {"num_perm": 8},
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"seed": -1},
        {"lsh_rows": 0},
    ],
)
def test_invalid_options_are_a_config_error(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="dedupe"):
        DedupeOptions(**options)  # type: ignore[arg-type]


# --- the index -------------------------------------------------------------------------------------


@pytest.fixture
def index() -> DedupeIndex:
    """An index holding the original article as item 1."""
    index = DedupeIndex()
    index.add(1, article("original"), url="https://news.example.com/health/hospital-at-home")
    return index


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        ("republished", None, (True, 1, DedupeReason.NEAR_DUPLICATE)),
        ("same_topic", None, (False, None, DedupeReason.UNIQUE)),
        (
            "same_topic",
            "http://www.news.example.com/health/hospital-at-home/?utm_source=x",
            (True, 1, DedupeReason.SAME_URL),
        ),
        ("same_topic", "https://news.example.com/health/other", (False, None, DedupeReason.UNIQUE)),
    ],
)
def test_check_verdicts(index: DedupeIndex, name: str, url: str | None, expected: tuple[object, ...]) -> None:
    verdict = index.check(article(name), url=url)
    assert (verdict.is_duplicate, verdict.duplicate_of, verdict.reason) == expected
    if verdict.reason is DedupeReason.SAME_URL:
        assert verdict.similarity == 1.0
    elif verdict.is_duplicate:
        assert verdict.similarity >= index.options.threshold


def test_short_texts_are_never_near_duplicates(index: DedupeIndex) -> None:
    index.add(2, "Access denied")
    verdict = index.check("Access denied")
    assert verdict == DedupeVerdict(
        is_duplicate=False, duplicate_of=None, similarity=0.0, reason=DedupeReason.TOO_SHORT
    )
    assert 2 not in index
    assert index.query("Access denied") == []


def test_query_ranks_by_similarity(index: DedupeIndex) -> None:
    index.add("copy", article("original") + " One extra closing line for the exact copy.")
    index.add("other", article("same_topic"))
    found = index.query(article("original"))
    assert [item for item, _ in found] == [1, "copy"]
    assert found[0][1] == 1.0 > found[1][1] >= index.options.threshold


def test_round_trip_through_stored_signatures(index: DedupeIndex) -> None:
    stored = {
        "a": index.add("a", article("republished")),
        "b": index.add("b", article("same_topic")),
    }
    rebuilt = DedupeIndex.from_signatures(stored.items(), urls=[("b", "https://example.org/b")])
    # The rebuilt index answers exactly as the live one did.
    assert rebuilt.query(article("original")) == [("a", index.query(article("original"))[1][1])]
    assert index.query(article("original"))[0] == (1, 1.0)
    assert rebuilt.check("", url="https://www.example.org/b/").duplicate_of == "b"
    assert len(rebuilt) == 2


def test_remove_and_replace(index: DedupeIndex) -> None:
    index.add(1, article("same_topic"))  # item 1's body is replaced, its URL kept
    assert index.check(article("republished")).reason is DedupeReason.UNIQUE
    assert index.check("", url="https://news.example.com/health/hospital-at-home").duplicate_of == 1
    index.remove(1)
    assert 1 not in index and len(index) == 0
    assert index.check(
        article("same_topic"), url="https://news.example.com/health/hospital-at-home"
    ).reason is (DedupeReason.UNIQUE)


def test_signatures_of_many_synthetic_texts_are_distinct() -> None:
    rng = random.Random(7)
    vocabulary = sorted(set(shingle_words(article("original") + article("same_topic"))))
    texts = [" ".join(rng.choices(vocabulary, k=600)) for _ in range(1000)]
    blobs = [signature(text) for text in texts]
    assert len(set(blobs)) == len(texts)
    # Speed is a benchmark figure (bench/dedupe.py), never a timed test.


# --- the corpus in ../shared -----------------------------------------------------------------------


@pytest.mark.shared
def test_corpus_articles_are_not_duplicates_of_each_other_but_edited_copies_are() -> None:
    if not GROUND_TRUTH.exists():
        pytest.skip(f"{GROUND_TRUTH} is absent: the shared corpora live outside the repository")
    bodies = [page["articleBody"] for page in json.loads(GROUND_TRUTH.read_text(encoding="utf-8")).values()]
    index = DedupeIndex()
    blobs = [index.add(number, body) for number, body in enumerate(bodies)]
    worst = max(estimated_similarity(a, b) for a, b in itertools.combinations(blobs, 2))
    assert worst < 0.15, f"two different articles reached {worst:.2f}"
    rng = random.Random(3)
    chrome = [
        "menu",
        "home",
        "news",
        "health",
        "contact",
        "about",
        "terms",
        "login",
        "copyright",
        "all",
        "rights",
        "reserved",
    ]
    found = 0
    for number, body in enumerate(bodies):
        sentences = body.split(". ")
        sentences[len(sentences) // 2] = "This sentence was rewritten by the editor of the syndicating site"
        boilerplate = " ".join(rng.choices(chrome, k=25))
        copy = f"{boilerplate} {'. '.join(sentences)} {boilerplate}"
        verdict = index.check(copy)
        assert verdict.duplicate_of in (None, number), "an edited copy matched a different article"
        found += verdict.duplicate_of == number
    assert found / len(bodies) >= 0.9, f"only {found} of {len(bodies)} edited copies flagged"
