"""Render the demo news site under ``site/`` from ``sources/*.md`` and ``templates/``.

A maintenance script, not part of the running package: run it after editing a source or a template,
``python src/medcurate/data/demo/make_site.py``, and commit what it writes (the article pages,
``index.html``, ``feed.xml`` and ``urls.txt``). The demo and the tests read the committed files; a test
renders the site again in memory and fails when the two have drifted apart.

Each source is Markdown-like text with YAML front matter: blank-line separated paragraphs and ``## ``
subheadings, nothing more. That tiny subset is parsed here rather than with a Markdown library so the
rendered paragraphs are exactly the source paragraphs, which the demo's near-duplicate pair relies on.
Absolute URLs are written as ``{{BASE}}`` + root-relative path; the demo server substitutes its own base
URL at serve time (see README.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
TEMPLATES = HERE / "templates"
SITE = HERE / "site"

BASE_PLACEHOLDER = "{{BASE}}"
YEAR = 2024
WORDS_PER_MINUTE = 230
RELATED_LINKS = 4


@dataclass(frozen=True, kw_only=True)
class Publisher:
    """A fictional publisher: its name, how its titles end and its navigation."""

    key: str
    name: str
    title_separator: str
    tagline: str
    twitter: str
    nav: tuple[tuple[str, str], ...]


def _slug(text: str) -> str:
    """Lower-case, hyphen-separated ASCII slug for navigation and tag links."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _nav(key: str, *labels: str) -> tuple[tuple[str, str], ...]:
    """Section links under the publisher's root-relative home."""
    return tuple((label, f"/{key}/{_slug(label)}/") for label in labels)


PUBLISHERS: dict[str, Publisher] = {
    p.key: p
    for p in (
        Publisher(
            key="healthsec-weekly",
            name="HealthSec Weekly",
            title_separator=" | ",
            tagline="Security news for hospitals and health plans",
            twitter="healthsecweekly",
            nav=_nav("healthsec-weekly", "News", "Ransomware", "Awareness", "Policy", "Podcasts"),
        ),
        Publisher(
            key="clinical-it-review",
            name="Clinical IT Review",
            title_separator=" - ",
            tagline="Technology for the people who run clinical systems",
            twitter="clinicalitreview",
            nav=_nav("clinical-it-review", "News", "Security", "Virtual Care", "EHR", "Opinion"),
        ),
        Publisher(
            key="care-ledger",
            name="The Care Ledger",
            title_separator=" | ",
            tagline="Compliance, revenue and technology for independent practices",
            twitter="thecareledger",
            nav=_nav("care-ledger", "Compliance", "Technology", "Revenue Cycle", "Practice Management"),
        ),
        Publisher(
            key="medtech-signal",
            name="Medtech Signal",
            title_separator=" - ",
            tagline="Medical device regulation, engineering and security",
            twitter="medtechsignal",
            nav=_nav("medtech-signal", "Regulation", "Device Security", "Digital Health", "Deals"),
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class Article:
    """One source file: front matter plus body blocks (``("p" | "h2", text)``)."""

    source: str
    path: str
    publisher: str
    section: str
    title: str
    description: str
    author: str
    published: datetime
    keywords: tuple[str, ...]
    image: str
    image_alt: str
    image_caption: str
    canonical_query: str = ""
    encoding: str = "utf-8"
    syndicated_from: str = ""
    blocks: tuple[tuple[str, str], ...] = ()

    @property
    def words(self) -> int:
        """Words in the body paragraphs (headings excluded)."""
        return sum(len(text.split()) for kind, text in self.blocks if kind == "p")


def parse_source(path: Path) -> Article:
    """Read one ``sources/*.md`` file."""
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    meta: dict[str, Any] = yaml.safe_load(front)
    blocks: list[tuple[str, str]] = []
    for chunk in body.strip().split("\n\n"):
        text = " ".join(chunk.split())
        blocks.append(("h2", text[3:]) if text.startswith("## ") else ("p", text))
    published = meta.pop("published")
    if isinstance(published, str):
        published = datetime.fromisoformat(published)
    return Article(
        source=path.name,
        published=published,
        keywords=tuple(meta.pop("keywords")),
        blocks=tuple(blocks),
        **meta,
    )


def load_articles(sources: Path = SOURCES) -> list[Article]:
    """All sources, in file-name order."""
    return [parse_source(p) for p in sorted(sources.glob("*.md"))]


def _environment() -> Environment:
    """The Jinja environment: autoescaped HTML and XML, strict about missing variables."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["slug"] = _slug
    return env


def _related(article: Article, articles: list[Article]) -> list[tuple[str, str]]:
    """Sidebar links: the publisher's other articles first, then the newest from the others."""
    others = [a for a in articles if a.path != article.path]
    others.sort(key=lambda a: (a.publisher != article.publisher, -a.published.timestamp()))
    return [(a.title, f"/{a.path}") for a in others[:RELATED_LINKS]]


def _json_ld(article: Article, pub: Publisher, canonical: str, image_url: str) -> str:
    """schema.org NewsArticle, made safe to sit inside a ``<script>`` element."""
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.description,
        "image": [image_url],
        "datePublished": article.published.isoformat(),
        "author": [{"@type": "Person", "name": article.author}],
        "publisher": {"@type": "Organization", "name": pub.name},
        "mainEntityOfPage": canonical,
    }
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def render_article(article: Article, articles: list[Article], env: Environment) -> bytes:
    """One article page, encoded as the source asks (Windows-1252 pages declare no charset)."""
    pub = PUBLISHERS[article.publisher]
    canonical = f"{BASE_PLACEHOLDER}/{article.path}"
    if article.canonical_query:
        canonical += "?" + article.canonical_query
    image_url = f"{BASE_PLACEHOLDER}/images/{article.image}.jpg"
    html = env.get_template(f"{pub.key}.html.j2").render(
        a=article,
        pub=pub,
        page_title=article.title + pub.title_separator + pub.name,
        canonical=canonical,
        image_url=image_url,
        image_src=f"/images/{article.image}.jpg",
        date_iso=article.published.isoformat(),
        date_human=f"{article.published:%B} {article.published.day}, {article.published.year}",
        section_slug=_slug(article.section),
        author_slug=_slug(article.author),
        blocks=article.blocks,
        related=_related(article, articles),
        json_ld=_json_ld(article, pub, canonical, image_url),
        reading_minutes=max(1, round(article.words / WORDS_PER_MINUTE)),
        declare_charset=article.encoding == "utf-8",
        year=YEAR,
    )
    return html.encode(article.encoding)


def render_feed(articles: list[Article], env: Environment) -> bytes:
    """RSS 2.0 listing every article, newest first."""
    ordered = sorted(articles, key=lambda a: a.published, reverse=True)
    items = [
        {
            "title": a.title,
            "link": f"{BASE_PLACEHOLDER}/{a.path}",
            "pub_date": format_datetime(a.published),
            "author": a.author,
            "section": a.section,
            "description": a.description,
        }
        for a in ordered
    ]
    build_date = format_datetime(ordered[0].published.astimezone(UTC))
    xml = env.get_template("feed.xml.j2").render(base=BASE_PLACEHOLDER, items=items, build_date=build_date)
    return xml.encode("utf-8")


def render_index(articles: list[Article], env: Environment) -> bytes:
    """A home page listing the articles by publisher, for people browsing the demo."""
    groups = [(pub, [a for a in articles if a.publisher == key]) for key, pub in PUBLISHERS.items()]
    return env.get_template("index.html.j2").render(groups=groups).encode("utf-8")


def render_site(sources: Path = SOURCES) -> dict[str, bytes]:
    """Every generated file, keyed by its path under ``site/``."""
    env = _environment()
    articles = load_articles(sources)
    files = {a.path: render_article(a, articles, env) for a in articles}
    files["feed.xml"] = render_feed(articles, env)
    files["index.html"] = render_index(articles, env)
    files["urls.txt"] = "".join(f"{a.path}\n" for a in articles).encode("ascii")
    return files


def main() -> None:
    """Write the generated files under ``site/``."""
    for rel, data in render_site().items():
        target = SITE / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"wrote {target.relative_to(HERE)} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
