"""EXTRACT stage: the article text, a sanitised brief and the metadata of one HTML page.

``extract(PageInput, ExtractOptions) -> Extraction`` is the only sequencer; its steps:

1. Decode (``decode``): w3lib's HTML rules (BOM, HTTP charset, ``<meta charset>``, ISO-8859-1 read as
   Windows-1252); an undeclared page that is not valid UTF-8 goes to ``medcurate.charset``, so a
   Windows-1252 page without a charset still decodes right. Binary files and plain text are refused.
2. Parse once (trafilatura's ``load_html``); trafilatura works on its own copy and the same tree
   feeds the meta-tag, image, favicon and brief readers.
3. ``trafilatura.bare_extraction``: the article body as a small XML tree, and the metadata it reads
   (title, authors, date through htmldate, site name, canonical URL).
4. Text (``body``): the body tree rendered to plain-text blocks here, because trafilatura's text is
   Markdown-flavoured (``- `` list items, ``| a | b |`` rows), which no reader of plain text wants.
5. Brief (``brief``): the lead paragraphs, taken from the page's own ``<p>`` elements so that links
   and emphasis survive, sanitised by nh3 to an allow-list.
6. Metadata (``meta``): ``<meta>`` maps keyed as the seeds key them, the title without its site-name
   suffix, brand (courlan), images, favicon, language, JSON-LD types and the article's links; ftfy
   repairs mojibake throughout.

Choices measured on the article-extraction benchmark (``bench/extraction.py``, docs/benchmarks.md);
each is a general rule and none names a site:

- Comments are never part of an article (trafilatura includes them by default).
- ``favor_recall`` in ``fast`` mode: trafilatura's own rules with their recall setting beat its
  balanced cascade, whose readability/justext comparison mostly adds navigation and teasers, and run
  twice as fast, which pays for the metadata work.
- Links and images stay out of trafilatura's body: its link mode splits paragraphs around some links
  and its image mode changes which container wins; the brief and the images read the page instead.
- A body the page split into repeated sibling containers (advertising between them) is read whole.
- The headline repeated at the top of the body is dropped (it is the title); so are short blocks that
  are page furniture ("Related: ...", "Sign up for our ...", "3 Comments") and a trailing
  "You may also like" section of teasers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import trafilatura
from lxml.html import HtmlElement
from trafilatura.metadata import extract_metadata
from trafilatura.settings import Extractor, set_date_params
from trafilatura.utils import load_html

from medcurate.errors import ExtractionError
from medcurate.extract.body import WHITESPACE, body_blocks, merge_split_body, normalise, source_paragraphs
from medcurate.extract.brief import build_brief, sanitise_html
from medcurate.extract.decode import decode_page, fix_text, is_html_page
from medcurate.extract.meta import (
    MetaMaps,
    absolute_url,
    article_links,
    brand_of,
    clean_title,
    favicon_url,
    first_sentences,
    first_value,
    image_candidates,
    jsonld_publisher,
    jsonld_types,
    meta_key,
    page_language,
    read_meta,
    unique_in_order,
)
from medcurate.extract.types import DEFAULT_EXTRACT_OPTIONS, Extraction, ExtractOptions, PageInput

__all__ = [
    "DEFAULT_EXTRACT_OPTIONS",
    "ExtractOptions",
    "Extraction",
    "PageInput",
    "decode_page",
    "extract",
    "meta_key",
    "sanitise_html",
]


def _trafilatura_options(url: str | None, options: ExtractOptions) -> Extractor:
    """Build trafilatura's options object for one page."""
    return Extractor(
        output_format="python",
        fast=options.fast,
        precision=options.focus == "precision",
        recall=options.focus == "recall",
        comments=False,
        formatting=False,
        links=False,
        images=False,
        tables=options.include_tables,
        url=url,
        with_metadata=True,
        # htmldate's extensive search finds dates in pages without date meta tags, even in fast mode.
        date_params=set_date_params(extensive=True),
    )


@dataclass(frozen=True)
class _Headline:
    """What the page says it is: its canonical URL, the base for its links, brand, site and title."""

    canonical: str | None
    base: str | None
    brand: str | None
    site_name: str | None
    title: str | None
    titles_seen: tuple[str, ...]


def _parse(page: PageInput) -> HtmlElement:
    """Steps 1 and 2: decode the page and parse it once; refuse what is not HTML."""
    text_html = decode_page(page.html, page.content_type)
    if not is_html_page(text_html):
        raise ExtractionError(
            "the input is not an HTML page (no markup found)", stage="extract", url=page.url
        )
    tree = load_html(text_html)
    if tree is None:
        raise ExtractionError("the page could not be parsed as HTML", stage="extract", url=page.url)
    return cast(HtmlElement, tree)


def _read_article(tree: HtmlElement, url: str | None, options: ExtractOptions) -> tuple[Any, Any]:
    """Step 3: trafilatura's document (its metadata) and the article body tree, None without one."""
    document = trafilatura.bare_extraction(tree, options=_trafilatura_options(url, options))
    body = getattr(document, "body", None)
    if document is None:
        # too little text for an article: keep the metadata, the page is still a link worth curating
        document = extract_metadata(tree, url, set_date_params(extensive=True))
    return document, body


def _headline(document: Any, meta: MetaMaps, url: str | None, tree: HtmlElement) -> _Headline:
    """The canonical URL, brand, site name and title, from trafilatura's metadata and the meta tags."""
    doc_url = getattr(document, "url", None)
    canonical = absolute_url(doc_url, url) if doc_url else None
    brand = brand_of(url) or brand_of(canonical)
    # The source's name: og:site_name, then the JSON-LD publisher; the registrable domain stands in.
    site_name = first_value(meta.html_meta, "ogsite_name") or jsonld_publisher(tree)
    raw_title = getattr(document, "title", None) or meta.html_meta.get("ogtitle")
    named = [site_name, meta.html_meta.get("application-name"), getattr(document, "sitename", None), brand]
    title = clean_title(raw_title, [name or "" for name in named])
    return _Headline(
        canonical=canonical,
        base=url or canonical,
        brand=brand,
        site_name=site_name,
        title=title,
        titles_seen=tuple(t for t in (raw_title, title, meta.html_meta.get("ogtitle")) if t),
    )


def _text_and_brief(
    body: Any, tree: HtmlElement, meta: MetaMaps, head: _Headline, options: ExtractOptions
) -> tuple[str, str]:
    """Steps 4 and 5: the article as plain-text blocks, and the brief from the page's own paragraphs."""
    standfirsts = tuple(
        d for d in map(meta.html_meta.get, ("description", "ogdescription", "twitterdescription")) if d
    )
    blocks = (
        []
        if body is None
        else body_blocks(
            body, titles=head.titles_seen, standfirsts=standfirsts, drop_boilerplate=options.drop_boilerplate
        )
    )
    sources = source_paragraphs(tree, {normalise(b.text) for b in blocks if b.element.tag == "p"})
    if options.merge_split_body:
        blocks = merge_split_body(blocks, sources)
    text = fix_text("\n\n".join(b.text for b in blocks))
    brief_html = fix_text(build_brief(blocks, sources, head.base, options)) if blocks else ""
    return text, brief_html


def _description(meta: MetaMaps, text: str, options: ExtractOptions) -> str | None:
    """The page's own description, else the article's first sentences."""
    description = first_value(meta.html_meta, "ogdescription", "description", "twitterdescription")
    description = fix_text(WHITESPACE.sub(" ", description).strip()) if description else None
    return description or first_sentences(text, options.description_max_chars)


def extract(page: PageInput, options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS) -> Extraction:
    """Extract the article and its metadata from one page.

    Args:
        page: the page's HTML (bytes are decoded by the HTML rules) and its URL if known.
        options: how to extract; ``DEFAULT_EXTRACT_OPTIONS`` suits news and blog pages.

    Returns:
        The extraction; ``text`` is empty when the page holds metadata but no article body.

    Raises:
        ExtractionError: the input is not HTML, or holds neither text nor a title.
    """
    # 1. decode and 2. parse once
    tree = _parse(page)
    # 3. article body and trafilatura's metadata
    document, body = _read_article(tree, page.url, options)
    meta = read_meta(tree)
    head = _headline(document, meta, page.url, tree)
    # 4. text and 5. brief
    text, brief_html = _text_and_brief(body, tree, meta, head, options)
    if not text and not head.title:
        raise ExtractionError(
            "the page holds neither article text nor a title", stage="extract", url=page.url
        )
    # 6. metadata
    authors_raw = getattr(document, "author", None) or meta.html_meta.get("author") or ""
    images = image_candidates(tree, meta.html_meta, head.base, options)
    return Extraction(
        url=page.url,
        canonical_url=head.canonical,
        title=head.title,
        description=_description(meta, text, options),
        authors=unique_in_order([a.strip() for a in re.split(r";|\s+and\s+", authors_raw) if a.strip()]),
        date=getattr(document, "date", None),
        site_name=fix_text(head.site_name) if head.site_name else None,
        brand=head.brand,
        language=page_language(tree, meta.html_meta),
        image=images[0] if images else None,
        images=images,
        favicon=favicon_url(tree, head.base),
        text=text,
        brief_html=brief_html,
        html_meta=meta.html_meta,
        open_graph=meta.open_graph,
        twitter=meta.twitter,
        jsonld_types=jsonld_types(tree),
        links=article_links(tree, head.base),
    )
