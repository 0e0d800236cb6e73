"""The demo news site shipped as package data: files present, pages well formed, the special cases intact.

The site is rendered by ``src/medcurate/data/demo/make_site.py`` and committed; these tests read the
committed files, and one renders the site again in memory so sources, templates and output cannot drift.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import urllib.robotparser
from importlib import resources
from types import ModuleType
from typing import Any

import feedparser
import pytest
from lxml import html as lxml_html
from PIL import Image

from medcurate.dedupe import DEFAULT_THRESHOLD, estimated_similarity, signature
from paths import PACKAGE

DEMO = PACKAGE / "data" / "demo"
SITE = DEMO / "site"
BASE = "http://127.0.0.1:8080"
UTM_QUERY = "utm_source=newsletter&utm_medium=email"

REQUIRED_NAMES = (
    "description",
    "author",
    "keywords",
    "twitter:card",
    "twitter:title",
    "twitter:description",
    "twitter:image",
)
REQUIRED_PROPERTIES = (
    "article:published_time",
    "og:title",
    "og:description",
    "og:image",
    "og:site_name",
    "og:type",
    "og:url",
)


def _load(name: str) -> ModuleType:
    """Import one of the demo's maintenance scripts by path (``data/demo`` is not a package)."""
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMO / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


MAKE_SITE = _load("make_site")
ARTICLES: list[Any] = list(MAKE_SITE.load_articles())
ARTICLE_IDS = [a.source for a in ARTICLES]


@pytest.fixture(scope="module")
def make_site() -> ModuleType:
    """The site generator module."""
    return MAKE_SITE


@pytest.fixture(scope="module")
def articles() -> list[Any]:
    """The parsed sources, one per article page."""
    return ARTICLES


@pytest.fixture(scope="module")
def urls() -> list[str]:
    """The lines of ``urls.txt``."""
    return (SITE / "urls.txt").read_text(encoding="ascii").splitlines()


def _page(path: str, encoding: str = "utf-8") -> Any:
    """One article page parsed with lxml, after the demo server's ``{{BASE}}`` substitution."""
    raw = (SITE / path).read_bytes().replace(b"{{BASE}}", BASE.encode("ascii"))
    return lxml_html.document_fromstring(raw.decode(encoding))


def _meta(tree: Any, attribute: str, key: str) -> list[str]:
    """The ``content`` of every ``<meta {attribute}="{key}">``."""
    return [str(v) for v in tree.xpath(f"//meta[@{attribute}=$key]/@content", key=key)]


def test_generated_files_match_the_sources(make_site: ModuleType) -> None:
    """Re-rendering the sources gives the committed files byte for byte."""
    for rel, data in make_site.render_site().items():
        assert (SITE / rel).read_bytes() == data, f"{rel} is stale: run make_site.py"


def test_every_file_is_there(articles: list[Any], urls: list[str]) -> None:
    """Articles, images, icons, feed, robots.txt and the private page exist; nothing stray is served."""
    assert len(articles) >= 8
    assert urls == [a.path for a in articles]
    for name in ("feed.xml", "robots.txt", "index.html", "private/secret.html", "urls.txt"):
        assert (SITE / name).is_file(), name
    # The demo runner finds the site as package data, not through the repository layout.
    assert resources.files("medcurate").joinpath("data", "demo", "site", "urls.txt").is_file()
    pages = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")}
    assert pages == {*urls, "index.html", "private/secret.html"}
    for article in articles:
        assert (SITE / "images" / f"{article.image}.jpg").is_file()
    assert len({a.publisher for a in articles}) >= 3


def test_urls_are_relative(urls: list[str]) -> None:
    """urls.txt holds paths the demo joins to its own base URL."""
    for line in urls:
        assert not line.startswith(("/", "http:", "https:")), line
        assert (SITE / line).is_file(), line


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_IDS)
def test_article_page_metadata(article: Any) -> None:
    """Every listed meta tag, a suffixed title, canonical and icon links, byline, date and one image."""
    tree = _page(article.path, article.encoding)
    for name in REQUIRED_NAMES:
        assert [v for v in _meta(tree, "name", name) if v.strip()], name
    for prop in REQUIRED_PROPERTIES:
        assert [v for v in _meta(tree, "property", prop) if v.strip()], prop
    site_name = _meta(tree, "property", "og:site_name")[0]
    title = tree.findtext(".//title")
    assert title in (f"{article.title} | {site_name}", f"{article.title} - {site_name}")
    assert _meta(tree, "name", "author") == [article.author]
    assert _meta(tree, "property", "article:published_time") == [article.published.isoformat()]
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    assert len(canonical) == 1
    assert canonical[0].startswith(f"{BASE}/{article.path}")
    assert _meta(tree, "property", "og:url") == canonical
    assert _meta(tree, "property", "og:image")[0] == f"{BASE}/images/{article.image}.jpg"
    icon = tree.xpath("//link[@rel='icon']/@href")
    assert len(icon) == 1 and (SITE / icon[0].lstrip("/")).is_file()

    body = tree.find("body")
    assert article.author in body.text_content()  # the byline
    assert body.xpath(".//time/@datetime") == [article.published.isoformat()]
    images = [img for img in body.iter("img") if img.get("src") == f"/images/{article.image}.jpg"]
    assert len(images) == 1 and images[0].get("alt") == article.image_alt
    paragraphs = [" ".join(p.text_content().split()) for p in body.iter("p")]
    for kind, text in article.blocks:
        if kind == "p":
            assert text in paragraphs


@pytest.mark.parametrize("article", ARTICLES, ids=ARTICLE_IDS)
def test_article_prose_and_boilerplate(article: Any, urls: list[str]) -> None:
    """500-900 words in 6-12 paragraphs, wrapped in the furniture an extractor has to drop."""
    paragraphs = [text for kind, text in article.blocks if kind == "p"]
    assert 6 <= len(paragraphs) <= 12
    assert 500 <= article.words <= 900
    tree = _page(article.path, article.encoding)
    text = " ".join(tree.find("body").text_content().split()).lower()
    for furniture in ("cookie", "©", "all rights reserved"):
        assert furniture in text, furniture
    assert tree.xpath("//form//input[@type='email']"), "newsletter box"
    assert len(tree.xpath("//button")) >= 4, "share and cookie buttons"
    assert len(tree.xpath("//nav//a | //ul[contains(@class, 'menu')]//a")) >= 4, "navigation"
    related = {href.lstrip("/") for href in tree.xpath("//a/@href")} & set(urls)
    assert len(related - {article.path}) >= 3, "related links"


def test_links_do_not_name_a_host() -> None:
    """Every link is root-relative or uses the ``{{BASE}}`` placeholder, so any host and port work."""
    for page in SITE.rglob("*.html"):
        raw = page.read_bytes()
        tree = lxml_html.document_fromstring(raw)
        for attribute in ("href", "src", "action"):
            for value in tree.xpath(f"//@{attribute}"):
                assert value.startswith(("/", "{{BASE}}/")), f"{page.name}: {attribute}={value}"
        hosts = set(re.findall(rb"https?://([^/\"'<\s]+)", raw)) - {b"schema.org"}
        assert not hosts, f"{page.name} names {hosts}"


def test_cp1252_page(articles: list[Any]) -> None:
    """One page is Windows-1252 bytes with curly quotes and no charset declared anywhere."""
    [article] = [a for a in articles if a.encoding == "cp1252"]
    assert "cp1252" in article.path
    raw = (SITE / article.path).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    for curly in ("\u201c", "\u201d", "\u2019"):
        assert curly.encode("cp1252") in raw
    assert b"charset" not in raw.lower() and b"encoding" not in raw.lower()
    assert "Hélène" in raw.decode("cp1252")
    others = [a for a in articles if a is not article]
    for other in others:
        (SITE / other.path).read_bytes().decode("utf-8")  # the rest are valid UTF-8
        assert b'<meta charset="utf-8">' in (SITE / other.path).read_bytes()


def test_utm_canonical(articles: list[Any]) -> None:
    """Exactly one page's canonical URL carries newsletter tracking parameters."""
    tagged = [a for a in articles if a.canonical_query]
    assert len(tagged) == 1 and tagged[0].canonical_query == UTM_QUERY
    tree = _page(tagged[0].path)
    [canonical] = tree.xpath("//link[@rel='canonical']/@href")
    assert canonical == f"{BASE}/{tagged[0].path}?{UTM_QUERY}"


def test_near_duplicate_pair(articles: list[Any]) -> None:
    """The syndicated copy differs from its original in one sentence and in everything around the body."""
    [copy] = [a for a in articles if a.syndicated_from]
    [original] = [a for a in articles if a.path == copy.syndicated_from]
    assert copy.publisher != original.publisher
    ours = [t for k, t in copy.blocks if k == "p"]
    theirs = [t for k, t in original.blocks if k == "p"]
    assert len(ours) == len(theirs)
    assert sum(a != b for a, b in zip(ours, theirs, strict=True)) == 1

    signatures = {a.path: signature("\n".join(t for k, t in a.blocks if k == "p")) for a in articles}
    assert estimated_similarity(signatures[copy.path], signatures[original.path]) >= DEFAULT_THRESHOLD
    paths = sorted(signatures)
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if {a, b} != {copy.path, original.path}:
                assert estimated_similarity(signatures[a], signatures[b]) < DEFAULT_THRESHOLD, (a, b)


def test_feed_parses(articles: list[Any]) -> None:
    """feed.xml is RSS 2.0 that feedparser reads cleanly and lists every article."""
    xml = (SITE / "feed.xml").read_text(encoding="utf-8").replace("{{BASE}}", BASE)
    feed = feedparser.parse(xml)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert {e.link for e in feed.entries} == {f"{BASE}/{a.path}" for a in articles}
    assert all(e.get("published_parsed") and e.get("title") for e in feed.entries)


def test_robots_disallows_private_only(urls: list[str]) -> None:
    """robots.txt refuses /private/ and allows the articles."""
    parser = urllib.robotparser.RobotFileParser()
    parser.parse((SITE / "robots.txt").read_text(encoding="ascii").splitlines())
    assert not parser.can_fetch("medcurate", f"{BASE}/private/secret.html")
    for path in [*urls, "feed.xml", "images/cloud-ehr.jpg"]:
        assert parser.can_fetch("medcurate", f"{BASE}/{path}"), path


def test_images() -> None:
    """Featured images are 1200x630 JPEGs under 60 KB; publisher icons are 32x32 PNGs."""
    jpegs = sorted((SITE / "images").glob("*.jpg"))
    assert len(jpegs) >= 8
    for path in jpegs:
        data = path.read_bytes()
        assert len(data) <= 60_000, path.name
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (1200, 630), path.name
    icons = sorted((SITE / "images").glob("*-icon.png"))
    assert len(icons) == 4
    for path in icons:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (32, 32), path.name
