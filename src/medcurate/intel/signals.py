"""What a page says about itself beyond its article text: JSON-LD types, meta tags, links, byline.

``page_signals`` reads them once from the page's HTML and the extraction of it; the source-type
classifier and the identifier finder both work on the resulting ``PageSignals``. An item without
its page (imported from Markdown) gets the same shape from its front matter (``item_signals``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import LxmlError, ParserError, XPath

from medcurate.resolve import registrable_domain

if TYPE_CHECKING:
    from medcurate.extract import Extraction
    from medcurate.models import CuratedItem

_ARTICLE_LINKS = XPath("(//article | //*[@itemprop='articleBody'] | //main | //*[@role='main'])//a/@href")
_PARAGRAPH_LINKS = XPath("//p//a/@href")
_JSON_LD = XPath("//script[@type='application/ld+json']/text()")
_HREF = re.compile(r"""href=["']([^"']+)["']""")
MAX_LINKS = 400


def site_domain(url: str) -> str:
    """The registrable domain of a URL (``news.example.co.uk`` -> ``example.co.uk``), else its host."""
    if not url.startswith(("http://", "https://", "//")):
        return ""
    return (registrable_domain(url) or urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass(frozen=True, slots=True)
class PageSignals:
    """Everything the classifiers read about one page; every field may be empty."""

    url: str = ""
    title: str = ""
    text: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    jsonld_types: frozenset[str] = frozenset()
    authors: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        """The page's host name, lower case, without ``www.``."""
        host = (urlsplit(self.url).hostname or "").lower()
        return host.removeprefix("www.")

    @property
    def domain(self) -> str:
        """The page's registrable domain (``news.example.co.uk`` -> ``example.co.uk``)."""
        return site_domain(self.url)

    @property
    def path(self) -> str:
        """The page's URL path, lower case."""
        return urlsplit(self.url).path.lower()


def _types_of(node: Any) -> Iterator[str]:
    """The ``@type`` names of a JSON-LD document's top-level entities (and of its ``@graph``)."""
    if isinstance(node, list):
        for entry in node:
            yield from _types_of(entry)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("@type")
    for name in kind if isinstance(kind, list) else [kind]:
        if isinstance(name, str) and name:
            yield name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    graph = node.get("@graph")
    if graph is not None:
        yield from _types_of(graph)


def jsonld_types(scripts: list[str]) -> frozenset[str]:
    """The entity types declared by a page's JSON-LD scripts; broken scripts are skipped."""
    found: set[str] = set()
    for script in scripts:
        try:
            document = json.loads(script, strict=False)
        except ValueError:
            continue
        found.update(_types_of(document))
    return frozenset(found)


def _page_links(tree: Any, base: str) -> tuple[str, ...]:
    hrefs = _ARTICLE_LINKS(tree) or _PARAGRAPH_LINKS(tree)
    links: dict[str, None] = {}
    for href in hrefs[:MAX_LINKS]:
        href = str(href).strip()
        if href and not href.startswith(("#", "javascript:", "mailto:")):
            links.setdefault(urljoin(base, href) if base else href)
    return tuple(links)


def page_signals(extraction: Extraction, html: str | bytes | None = None) -> PageSignals:
    """The signals of a fetched page: its extraction, plus JSON-LD and links read from its HTML."""
    url = extraction.canonical_url or extraction.url or ""
    types: frozenset[str] = frozenset()
    links: tuple[str, ...] = ()
    if html:
        try:
            tree = lxml.html.fromstring(html)
        except (LxmlError, ParserError, ValueError):
            tree = None
        if tree is not None:
            types = jsonld_types([str(s) for s in _JSON_LD(tree)])
            links = _page_links(tree, extraction.url or url)
    if not links and extraction.brief_html:
        links = tuple(dict.fromkeys(_HREF.findall(extraction.brief_html)))
    return PageSignals(
        url=url,
        title=extraction.title or "",
        text=extraction.text,
        meta=dict(extraction.html_meta),
        jsonld_types=types,
        authors=extraction.authors,
        links=links,
    )


def item_signals(item: CuratedItem, *, text: str = "") -> PageSignals:
    """The signals an item carries without its page: title, body text and links, front-matter meta."""
    fields = item.fields
    meta = fields.html_meta_data or {}
    body = item.body
    return PageSignals(
        url=item.url or "",
        title=item.title,
        text=text or re.sub(r"<[^>]+>", " ", body),
        meta={str(k): str(v) for k, v in meta.items() if isinstance(v, (str, int, float))},
        authors=tuple(item.authors),
        links=tuple(dict.fromkeys(_HREF.findall(body))),
    )
