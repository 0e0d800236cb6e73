"""Page metadata beyond trafilatura's: meta-tag maps, title cleansing, brand, images, favicon, language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement

from medcurate.extract.body import WHITESPACE, is_prose, normalise, truncate_paragraph
from medcurate.extract.decode import fix_text
from medcurate.extract.types import ExtractOptions
from medcurate.ingest.resolve import registrable_domain


def meta_key(name: str) -> str:
    """Key a meta name as the seeds do: lower case, colons removed (``og:title`` -> ``ogtitle``)."""
    return name.strip().lower().replace(":", "")


@dataclass(frozen=True, slots=True)
class MetaMaps:
    html_meta: dict[str, str]
    open_graph: dict[str, str]
    twitter: dict[str, str]


def read_meta(tree: HtmlElement) -> MetaMaps:
    """Collect every named ``<meta>`` tag; the first of repeated names wins."""
    html_meta: dict[str, str] = {}
    open_graph: dict[str, str] = {}
    twitter: dict[str, str] = {}
    for meta in tree.iter("meta"):
        name = meta.get("name") or meta.get("property") or meta.get("itemprop")
        content = meta.get("content")
        if not name or content is None:
            continue
        raw = name.strip().lower()
        key = meta_key(raw)
        if not key or key in html_meta:
            continue
        value = fix_text(content.strip())
        html_meta[key] = value
        if raw.startswith("og:"):
            open_graph[key] = value
        elif raw.startswith("twitter:"):
            twitter[key] = value
    return MetaMaps(html_meta, open_graph, twitter)


def first_value(meta: Mapping[str, str], *keys: str) -> str | None:
    """Return the first non-empty value among ``keys``."""
    for key in keys:
        value = meta.get(key)
        if value:
            return value
    return None


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•»]\s+")


def clean_title(title: str | None, names: list[str]) -> str | None:
    """Drop a leading or trailing ' | Site' part when it names the site (site name or brand)."""
    if not title:
        return None
    title = fix_text(WHITESPACE.sub(" ", title).strip())
    wanted = {n for n in (normalise(name) for name in names if name) if n}
    if not wanted:
        return title
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title

    def is_site(part: str) -> bool:
        norm = normalise(part)
        return bool(norm) and any(norm == w or (len(norm) > 3 and w.startswith(norm)) for w in wanted)

    seps = _TITLE_SEPARATORS.findall(title)
    if is_site(parts[-1]):
        return title[: len(title) - len(parts[-1]) - len(seps[-1])].strip() or title
    if is_site(parts[0]):
        return title[len(parts[0]) + len(seps[0]) :].strip() or title
    return title


def brand_of(url: str | None) -> str | None:
    """Registrable domain of a URL (``www.example.co.uk`` -> ``example.co.uk``)."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    return registrable_domain(url) or None


def absolute_url(link: str | None, base: str | None) -> str | None:
    """Make a link absolute against ``base``; ``None`` for empty, data: or script links."""
    if not link:
        return None
    link = link.strip()
    if link.startswith("//"):
        link = "https:" + link
    if link.lower().startswith(("data:", "javascript:", "about:")):
        return None
    absolute = urljoin(base, link) if base else link
    return absolute if absolute.startswith(("http://", "https://")) else None


_TINY_IMAGE = re.compile(r"(sprite|pixel|spacer|blank|icon|logo|avatar|badge|1x1|placeholder)", re.IGNORECASE)


_NAMED_SIZE = re.compile(r"[-_](\d{2,4})x(\d{2,4})\.\w+$")


def _side(value: str | None) -> int | None:
    """Read an image width/height attribute (``"640"``, ``"640px"``)."""
    match = re.match(r"\s*(\d+)", value or "")
    return int(match.group(1)) if match else None


_ARTICLE_IMAGES = XPath(
    "(//article | //*[@itemprop='articleBody'] | //main | //*[@role='main'])//img | //figure//img"
)


def _img_src(img: Any) -> str | None:
    """An image's source, including the lazy-loading attributes and the first srcset entry."""
    for attr in ("src", "data-src", "data-lazy-src", "data-original"):
        value = img.get(attr)
        if value and not value.startswith("data:"):
            return str(value)
    srcset = img.get("srcset") or img.get("data-srcset")
    return srcset.strip().split(",")[0].split()[0] if srcset and srcset.strip() else None


def _is_large(img: Any, src: str, min_side: int) -> bool:
    """Reject icons, tracking pixels, vector art and images declared smaller than ``min_side``."""
    if _TINY_IMAGE.search(src) or src.lower().split("?")[0].endswith((".svg", ".gif", ".ico")):
        return False
    sides: tuple[int | None, ...] = (_side(img.get("width")), _side(img.get("height")))
    if named := _NAMED_SIZE.search(src.rsplit("/", 1)[-1]):
        # WordPress-style thumbnails carry their size in the name: photo-115x115.png
        sides = (*sides, int(named.group(1)), int(named.group(2)))
    return not any(side is not None and side < min_side for side in sides)


def image_candidates(
    tree: HtmlElement, meta: Mapping[str, str], base: str | None, options: ExtractOptions
) -> tuple[str, ...]:
    """Featured-image candidates: og:image, twitter:image, image_src, then large article images."""
    found: list[str] = []

    def add(link: str | None) -> None:
        absolute = absolute_url(link, base)
        if absolute and absolute not in found:
            found.append(absolute)

    for key in ("ogimage", "ogimagesecure_url", "ogimageurl", "twitterimage", "twitterimagesrc"):
        add(meta.get(key))
    for link in tree.iterfind(".//link[@rel='image_src']"):
        add(link.get("href"))
    images = _ARTICLE_IMAGES(tree) or list(tree.iter("img"))
    for img in images:
        if len(found) >= options.max_images:
            break
        src = _img_src(img)
        if src and _is_large(img, src, options.min_image_side):
            add(src)
    return tuple(found[: options.max_images])


def favicon_url(tree: HtmlElement, base: str | None) -> str | None:
    """The page's declared icon, else ``/favicon.ico`` at its origin."""
    best: str | None = None
    for link in tree.iterfind(".//link[@rel][@href]"):
        rels = set((link.get("rel") or "").lower().split())
        if "icon" in rels:
            return absolute_url(link.get("href"), base)
        if best is None and rels & {"apple-touch-icon", "apple-touch-icon-precomposed"}:
            best = link.get("href")
    if best:
        return absolute_url(best, base)
    if base and base.startswith(("http://", "https://")):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}/favicon.ico"
    return None


def page_language(tree: HtmlElement, meta: Mapping[str, str]) -> str | None:
    """Primary language subtag from ``<html lang>``, content-language or og:locale."""
    raw = tree.get("lang") or tree.get("xml:lang") or meta.get("content-language") or meta.get("language")
    if not raw:
        http_equiv = tree.find(".//meta[@http-equiv='content-language']")
        raw = http_equiv.get("content") if http_equiv is not None else meta.get("oglocale")
    if not raw:
        return None
    primary = re.split(r"[-_,\s]", raw.strip().lower(), maxsplit=1)[0]
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def first_sentences(text: str, limit: int) -> str | None:
    """Leading sentences of the first prose paragraph, up to ``limit`` characters."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    first = next((p for p in paragraphs if is_prose(p)), paragraphs[0] if paragraphs else "")
    return truncate_paragraph(first.strip(), limit) or None


def unique_in_order(values: list[str]) -> tuple[str, ...]:
    """Keep the first of equal values (case-insensitive), in order."""
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        if value and value.lower() not in seen:
            seen.add(value.lower())
            kept.append(value)
    return tuple(kept)


_JSON_LD = XPath("//script[@type='application/ld+json']/text()")
_ARTICLE_LINKS = XPath("(//article | //*[@itemprop='articleBody'] | //main | //*[@role='main'])//a/@href")
_PARAGRAPH_LINKS = XPath("//p//a/@href")
MAX_LINKS = 400


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
    if "@graph" in node:
        yield from _types_of(node["@graph"])


def jsonld_types(tree: HtmlElement) -> tuple[str, ...]:
    """The entity types the page's JSON-LD scripts declare, each once; broken scripts are skipped."""
    found: dict[str, None] = {}
    for script in _JSON_LD(tree):
        try:
            document = json.loads(str(script), strict=False)
        except ValueError:
            continue
        found.update(dict.fromkeys(_types_of(document)))
    return tuple(found)


def _publisher_of(node: Any) -> str | None:
    """The name of the first ``publisher`` a JSON-LD document (or its ``@graph``) names."""
    if isinstance(node, list):
        return next((name for entry in node if (name := _publisher_of(entry))), None)
    if not isinstance(node, dict):
        return None
    publisher = node.get("publisher")
    if isinstance(publisher, list):
        publisher = publisher[0] if publisher else None
    name = publisher.get("name") if isinstance(publisher, dict) else publisher
    if isinstance(name, str) and name.strip():
        return name.strip()
    return _publisher_of(node.get("@graph"))


def jsonld_publisher(tree: HtmlElement) -> str | None:
    """The publisher's name the page's JSON-LD gives (``publisher.name``), if any."""
    for script in _JSON_LD(tree):
        try:
            document = json.loads(str(script), strict=False)
        except ValueError:
            continue
        name = _publisher_of(document)
        if name:
            return name
    return None


def article_links(tree: HtmlElement, base: str | None) -> tuple[str, ...]:
    """The absolute addresses the article links to (its container's links, else its paragraphs')."""
    links: dict[str, None] = {}
    for href in (_ARTICLE_LINKS(tree) or _PARAGRAPH_LINKS(tree))[:MAX_LINKS]:
        absolute = absolute_url(str(href), base)
        if absolute:
            links.setdefault(absolute)
    return tuple(links)
