"""Derivation rules, checked against every seed (where a rule and a seed disagree, the seed wins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import draft_input, page_extraction
from medcurate.config import load_config
from medcurate.drafts import StoredImage, build_draft
from medcurate.frontmatter import read_document
from medcurate.models import Variant, format_timestamp
from medcurate.rules import (
    derive_alias,
    derive_breadcrumbs,
    derive_description,
    derive_md_name,
    derive_slug,
    featured_image_filename,
    plain_text,
    slugify,
    with_topics,
)


def _seeds(seeds_dir: Path) -> list[Path]:
    return sorted(seeds_dir.glob("*.txt"))


def test_slug_alias_description_and_image_follow_every_seed(seeds_dir: Path) -> None:
    for path in _seeds(seeds_dir):
        item = read_document(path)
        fields = item.fields
        assert item.brand is not None
        assert derive_slug(item.brand, item.title) == fields.slug, path.name
        assert derive_alias(item.title) == fields.aliases, path.name
        assert derive_description(item.body, item.variant) == fields.description, path.name
        image = fields.featured_image
        assert image is not None and not isinstance(image, str) and image.format
        assert item.md_name is not None
        assert featured_image_filename(item.md_name, image.format) == image.href, path.name


def test_breadcrumbs_follow_the_seeds(seeds_dir: Path) -> None:
    config = load_config(None)
    for path in _seeds(seeds_dir):
        item = read_document(path)
        community = config.community_for_base_path(item.fields.base_path)
        assert community is not None, path.name
        titles, links = derive_breadcrumbs(community, item.title)
        assert titles == item.fields.breadcrumbs, path.name
        assert links == item.fields.breadcrumb_links, path.name


def test_md_name_is_a_stable_uuid5() -> None:
    url = "https://healthitsecurity.com/news/key-needs"
    first = derive_md_name(url)
    assert first == derive_md_name(url)
    assert first != derive_md_name(url + "-2")
    assert first[14] == "5"  # the UUID version digit


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        (
            "Improve Healthcare Security With These Five Steps",
            "improve-healthcare-security-with-these-five-steps",
        ),
        (
            "3 ways healthcare organizations can improve their IT security",
            "3-ways-healthcare-organizations-can-improve-their-it-security",
        ),
        ("Becker’s Hospital Review: 10 things", "beckers-hospital-review-10-things"),
        ("Café — Köln", "cafe-koln"),
        ("  --Odd   spacing!!  ", "odd-spacing"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_description_cut_by_variant() -> None:
    text = "<p>" + " ".join(["word"] * 60) + "</p>"
    news = derive_description(text, Variant.NEWS_2022)
    community = derive_description(text, Variant.COMMUNITY_2020)
    assert len(news) == 200
    assert len(community) <= 200 and community.endswith("word")


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>One</p><p>Two<br>three</p>", "One Two three"),
        ("<ul><li>A &amp; B</li><LI>&lt;C&gt;</LI></ul>", "A & B <C>"),
        ("<h2>Head</h2>\n  <blockquote>Quote</blockquote>", "Head Quote"),
        ("plain   text", "plain text"),
    ],
)
def test_plain_text(fragment: str, text: str) -> None:
    assert plain_text(fragment) == text


def test_timestamp_shape() -> None:
    stamp = format_timestamp()
    assert stamp.endswith("Z") and "T" in stamp and len(stamp) == len("2020-12-16T11:41:52.483267Z")


def test_topics_are_written_the_variant_way(seeds_dir: Path) -> None:
    community = read_document(next(seeds_dir.glob("000_*.txt")))
    labels = ["Gartner: Cybersecurity", "KLAS: Security"]
    updated = with_topics(community, labels)
    assert updated.front_matter["communityTopics"] == labels
    assert json.loads(updated.front_matter["openProjectCustomFields"]["medigyTopics"]) == labels
    assert updated.topics == labels
    news = with_topics(read_document(next(seeds_dir.glob("002_*.txt"))), labels)
    assert news.front_matter["categoryLabel"] == ["Cybersecurity", "Security"]
    assert news.front_matter["categoryUrl"] == ["topic/gartner-cybersecurity", "topic/klas-security"]
    assert news.front_matter["openProjectCustomFields"]["medigyTopics"] == labels
    assert list(news.front_matter) == list(read_document(next(seeds_dir.glob("002_*.txt"))).front_matter)


@pytest.mark.parametrize("community", ["news", "chronic-care-management"])
def test_a_draft_takes_its_communitys_variant_and_names_its_image_file(community: str) -> None:
    image = StoredImage(
        format="JPG", size=(800, 450), source_url="https://cdn.example/a.jpg", file_name="a.jpg"
    )
    draft = build_draft(draft_input(community=community, image=image))
    md_name = derive_md_name(draft_input().canonical_url)
    assert draft.variant is draft_input(community=community).community.variant
    assert draft.front_matter["featuredImage"]["href"] == featured_image_filename(md_name, "JPG")
    assert featured_image_filename(md_name, "JPG").endswith("-featuredImage.jpeg")
    assert draft.front_matter["title"] == page_extraction().title
    assert draft.front_matter["lastMod"] == format_timestamp(draft_input().now)
