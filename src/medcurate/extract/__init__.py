"""EXTRACT stage: the article text, a sanitised brief and the metadata of one HTML page.

``extract(PageInput, ExtractOptions) -> Extraction`` is the only sequencer; its steps:

1. Decode (``_decode``): w3lib's HTML rules (BOM, HTTP charset, ``<meta charset>``, ISO-8859-1 read as
   Windows-1252); an undeclared page that is not valid UTF-8 goes to charset-normalizer, so a
   Windows-1252 page without a charset still decodes right. Binary files and plain text are refused.
2. Parse once (trafilatura's ``load_html``); trafilatura works on its own copy and the same tree
   feeds the meta-tag, image, favicon and brief readers.
3. ``trafilatura.bare_extraction``: the article body as a small XML tree, and the metadata it reads
   (title, authors, date through htmldate, site name, canonical URL).
4. Text (``_body``): the body tree rendered to plain-text blocks here, because trafilatura's text is
   Markdown-flavoured (``- `` list items, ``| a | b |`` rows), which no reader of plain text wants.
5. Brief (``_brief``): the lead paragraphs, taken from the page's own ``<p>`` elements so that links
   and emphasis survive, sanitised by nh3 to an allow-list.
6. Metadata (``_meta``): ``<meta>`` maps keyed as the seeds key them, the title without its site-name
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

import trafilatura
from trafilatura.metadata import extract_metadata
from trafilatura.settings import Extractor, set_date_params
from trafilatura.utils import load_html

from medcurate.errors import ExtractionError
from medcurate.extract._body import _WS, _body_blocks, _merge_split_body, _normalise, source_paragraphs
from medcurate.extract._brief import _brief, sanitise_html
from medcurate.extract._decode import _fix_text, _looks_like_html, decode_html
from medcurate.extract._meta import (
    _absolute,
    _article_links,
    _brand,
    _clean_title,
    _dedupe,
    _favicon,
    _first,
    _first_sentences,
    _image_candidates,
    _jsonld_publisher,
    _jsonld_types,
    _language,
    _read_meta,
    meta_key,
)

__all__ = [
    "DEFAULT_EXTRACT_OPTIONS",
    "ExtractOptions",
    "Extraction",
    "PageInput",
    "decode_html",
    "extract",
    "meta_key",
    "sanitise_html",
]

from medcurate.extract._types import DEFAULT_EXTRACT_OPTIONS, Extraction, ExtractOptions, PageInput


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
    # 1. decode
    text_html = decode_html(page.html, page.content_type)
    if not _looks_like_html(text_html):
        raise ExtractionError(
            "the input is not an HTML page (no markup found)", stage="extract", url=page.url
        )
    # 2. parse once
    tree = load_html(text_html)
    if tree is None:
        raise ExtractionError("the page could not be parsed as HTML", stage="extract", url=page.url)
    # 3. article body and trafilatura's metadata
    document = trafilatura.bare_extraction(tree, options=_trafilatura_options(page.url, options))
    body = getattr(document, "body", None)
    if document is None:
        # too little text for an article: keep the metadata, the page is still a link worth curating
        document = extract_metadata(tree, page.url, set_date_params(extensive=True))
    meta = _read_meta(tree)
    doc_url = getattr(document, "url", None)
    canonical = _absolute(doc_url, page.url) if doc_url else None
    base = page.url or canonical
    brand = _brand(page.url) or _brand(canonical)
    # The source's name: og:site_name, then the JSON-LD publisher; the registrable domain stands in.
    site_name = _first(meta.html_meta, "ogsite_name") or _jsonld_publisher(tree)
    raw_title = getattr(document, "title", None) or meta.html_meta.get("ogtitle")
    named = [site_name, meta.html_meta.get("application-name"), getattr(document, "sitename", None), brand]
    title = _clean_title(raw_title, [name or "" for name in named])
    titles_seen = tuple(t for t in (raw_title, title, meta.html_meta.get("ogtitle")) if t)
    # 4. text and brief
    blocks = (
        []
        if body is None
        else _body_blocks(
            body,
            titles=titles_seen,
            standfirsts=tuple(
                d
                for d in map(meta.html_meta.get, ("description", "ogdescription", "twitterdescription"))
                if d
            ),
            drop_boilerplate=options.drop_boilerplate,
        )
    )
    sources = source_paragraphs(tree, {_normalise(b.text) for b in blocks if b.element.tag == "p"})
    if options.merge_split_body:
        blocks = _merge_split_body(blocks, sources)
    text = _fix_text("\n\n".join(b.text for b in blocks))
    brief_html = _fix_text(_brief(blocks, sources, base, options)) if blocks else ""
    if not text and not title:
        raise ExtractionError(
            "the page holds neither article text nor a title", stage="extract", url=page.url
        )
    # 5. metadata
    description = _first(meta.html_meta, "ogdescription", "description", "twitterdescription")
    description = _fix_text(_WS.sub(" ", description).strip()) if description else None
    if not description:
        description = _first_sentences(text, options.description_max_chars)
    authors_raw = getattr(document, "author", None) or meta.html_meta.get("author") or ""
    images = _image_candidates(tree, meta.html_meta, base, options)
    return Extraction(
        url=page.url,
        canonical_url=canonical,
        title=title,
        description=description,
        authors=_dedupe([a.strip() for a in re.split(r";|\s+and\s+", authors_raw) if a.strip()]),
        date=getattr(document, "date", None),
        site_name=_fix_text(site_name) if site_name else None,
        brand=brand,
        language=_language(tree, meta.html_meta),
        image=images[0] if images else None,
        images=images,
        favicon=_favicon(tree, base),
        text=text,
        brief_html=brief_html,
        html_meta=meta.html_meta,
        open_graph=meta.open_graph,
        twitter=meta.twitter,
        jsonld_types=_jsonld_types(tree),
        links=_article_links(tree, base),
    )
