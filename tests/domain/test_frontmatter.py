"""The front-matter codec: lossless round trips over every variant, and safe YAML edge cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

import paths
from medcurate.errors import FrontMatterError
from medcurate.frontmatter import (
    detect_variant,
    dump_front_matter,
    parse_document,
    read_document,
    render_document,
    split_document,
)
from medcurate.models import CuratedItem, Variant

FIXTURES = paths.FIXTURES / "foundation"


def _yaml_of(text: str) -> object:
    return yaml.safe_load(split_document(text)[0])


def _round_trip(path: Path) -> tuple[str, str]:
    original = path.read_text(encoding="utf-8")
    written = render_document(read_document(path))
    return original, written


def test_seeds_round_trip_to_equal_yaml_and_identical_body(seeds_dir: Path) -> None:
    for path in sorted(seeds_dir.glob("*.txt")):
        original, written = _round_trip(path)
        assert _yaml_of(written) == _yaml_of(original), path.name
        assert split_document(written)[1] == split_document(original)[1], path.name


def test_2020_seeds_are_written_byte_for_byte(seeds_dir: Path) -> None:
    community = [
        p for p in sorted(seeds_dir.glob("*.txt")) if read_document(p).variant is Variant.COMMUNITY_2020
    ]
    assert len(community) == 4
    for path in community:
        original, written = _round_trip(path)
        assert written == original, path.name


def test_news_seed_keeps_key_order_and_js_yaml_shape(seeds_dir: Path) -> None:
    path = next(seeds_dir.glob("002_*.txt"))
    item = read_document(path)
    assert item.variant is Variant.NEWS_2022
    written = render_document(item)
    original_keys = list(yaml.safe_load(split_document(path.read_text())[0]))
    assert list(yaml.safe_load(split_document(written)[0])) == original_keys
    assert "\n  - Athira Ravi\n" in written  # sequences indented under their key
    assert "description: >-\n" in written  # long strings folded


def test_dev_corpus_round_trips(curated_posts_dir: Path) -> None:
    paths = sorted(curated_posts_dir.glob("*.md"))
    assert len(paths) == 260
    for path in paths:
        item = read_document(path)
        assert item.variant is Variant.BOOKMARK_2019
        original, written = _round_trip(path)
        assert _yaml_of(written) == _yaml_of(original), path.name
        assert split_document(written)[1] == split_document(original)[1], path.name


def test_yaml_edge_cases_survive_a_round_trip() -> None:
    path = FIXTURES / "edge-cases.md"
    item = read_document(path)
    assert item.title == 'Ransomware: what "zero trust" means --- for #hospitals'
    assert item.front_matter["author"] == ["@curator", "*starred* name"]
    assert item.front_matter["date"] == date(2022, 11, 11)
    assert item.front_matter["empty"] is None
    assert item.front_matter["unicode"] == "Café — Köln ✓ 日本語"
    assert item.body.startswith("\n<p>Body with --- dashes")
    assert "\n---\n<p>still body</p>\n" in item.body
    for variant in Variant:
        again = parse_document(render_document(CuratedItem(item.front_matter, item.body, variant)))
        assert dict(again.front_matter) == dict(item.front_matter), variant
        assert again.body == item.body, variant


@pytest.mark.parametrize(
    "value",
    [
        "---",
        "# not a comment",
        "@handle",
        "*bold*",
        "key: value",
        "'single' and \"double\"",
        "line one\nline two\n",
        "  leading spaces",
        "yes",
        "null",
        "2020-12-15T11:25:20.067935Z",
        "",
        "x" * 300,
        "a long title that goes on and on: with a colon and — a dash and more words to pass eighty",
    ],
)
def test_tricky_strings_round_trip_in_every_variant(value: str) -> None:
    data = {"title": value, "list": [value], "nested": {"k": value}}
    for variant in Variant:
        assert yaml.safe_load(dump_front_matter(data, variant)) == data


def test_both_date_shapes_are_read() -> None:
    item = parse_document("---\ndate: '2020-12-15T11:25:20.067935Z'\n---\n")
    assert item.published == datetime(2020, 12, 15, 11, 25, 20, 67935, tzinfo=UTC)
    assert parse_document("---\ndate: '2022-11-11'\n---\n").published == datetime(2022, 11, 11, tzinfo=UTC)
    assert parse_document("---\ndate: 2019-01-31T10:38:39Z\n---\n").published == datetime(
        2019, 1, 31, 10, 38, 39, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter here\n", "no front matter"),
        ("---\ntitle: [unclosed\n---\nbody\n", "broken YAML"),
        ("---\n- a\n- b\n---\n", "must be a YAML mapping"),
        ("---\ntitle: x\n\x00\n---\n", "binary"),
        ("---\ntitle: [1, 2]\n---\n", "wrong type"),
        ('---\ntitle: "Half \\ud800 a pair"\n---\n', "field title holds an escaped lone surrogate"),
        ('---\nhtmlMetaData:\n  keywords: ["a", "\\udfff"]\n---\n', r"htmlMetaData\.keywords\[1\] holds"),
        ('---\n"\\ud83d": key\n---\n', "field \\\\ud83d holds"),
    ],
)
def test_bad_documents_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(FrontMatterError, match=message):
        parse_document(text)


@pytest.mark.parametrize(
    ("front_matter", "variant"),
    [
        ({"archetype": "bookmark"}, Variant.BOOKMARK_2019),
        ({"archetype": "curated-content", "htmlMetaData": {}}, Variant.NEWS_2022),
        ({"archetype": "curate-content", "communityTopics": []}, Variant.COMMUNITY_2020),
    ],
)
def test_variant_detection(front_matter: dict[str, object], variant: Variant) -> None:
    assert detect_variant(front_matter) is variant


def test_typed_view_reads_every_seed_field(seeds_dir: Path) -> None:
    item = read_document(next(seeds_dir.glob("002_*.txt")))
    fields = item.fields
    assert fields.related_offerings is not None and fields.related_offerings[0].offering_id == 16930
    assert fields.html_meta_data is not None and "msvalidate.01" in fields.html_meta_data
    assert item.md_name == "cfa999dd-5e32-5f0f-9cac-ca06ae6ab807"
    assert item.topics == ["Healthcare IT News: Health IT Security", "Healthcare IT News: Cybersecurity"]
    community = read_document(next(seeds_dir.glob("000_*.txt")))
    assert community.topics[0] == "U.S. Food and Drug Administration (FDA): Cybersecurity"
    assert community.brand == "healthtechmagazine.net"
    assert community.fields.featured_image is not None
    assert community.fields.featured_image.size == [1180, 409]
