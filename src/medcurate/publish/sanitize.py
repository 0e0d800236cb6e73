"""Make text from the web safe to publish: briefs through nh3, URLs by scheme, control characters out.

Everything an item carries came from someone else's page, so the brief's HTML passes nh3 (the Rust
``ammonia`` sanitiser) with a small allow-list, links keep only ``http``/``https`` targets, and the
plain-text fields lose the C0 control characters that would make a feed or a sitemap ill-formed XML
(and the lone surrogates that no UTF-8 file can hold).
Escaping of everything else is left to Jinja's autoescape.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

import nh3

from medcurate.models import CuratedItem, Variant
from medcurate.rules import plain_text

ALLOWED_TAGS = frozenset({"p", "br", "a", "em", "strong", "ul", "ol", "li", "blockquote"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_SCHEMES = frozenset({"http", "https"})
LINK_REL = "nofollow noopener noreferrer"
# Tags whose text is code or chrome, never prose: dropped with their content, not just unwrapped.
_DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "math"})
# XML 1.0 forbids these; a single one in a title makes a feed unparseable. Lone surrogates (which a
# JSON "\ud800" escape can leave in any text) are not even UTF-8: no page holding one could be written.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_HTML_TAG = re.compile(r"<[a-zA-Z/!]")
# White space (str.isspace's set), quotes and angle brackets never belong in a URL that a page prints.
_NOT_IN_URL = re.compile(r'[\s"<]')


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    """The one configured sanitiser (building it parses the allow-lists)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def clean_text(text: str | None) -> str:
    """Plain text without XML-forbidden control characters, white space folded."""
    if not text:
        return ""
    text = str(text)
    # Every character _CONTROL removes is unprintable: most text skips the substitution.
    return " ".join((text if text.isprintable() else _CONTROL.sub("", text)).split())


def clean_html(fragment: str) -> str:
    """A brief's HTML reduced to the allow-list (p, br, a[href], em, strong, ul, ol, li, blockquote)."""
    return str(_cleaner().clean(_CONTROL.sub("", fragment))).strip()


def safe_http_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None (no javascript:, data:...)."""
    if not url:
        return None
    text = _CONTROL.sub("", str(url)).strip()
    if _NOT_IN_URL.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        return None
    return text


def looks_like_html(body: str) -> bool:
    """True when a body carries markup (seed briefs) rather than Markdown prose (2019 bookmarks)."""
    return bool(_HTML_TAG.search(body))


def brief_html(item: CuratedItem) -> str:
    """The item's brief as sanitised HTML: HTML bodies cleaned, Markdown bodies rendered then cleaned."""
    body = item.body.strip()
    if not body:
        return ""
    if item.variant is Variant.BOOKMARK_2019 and not looks_like_html(body):
        # Only the 2019 bookmarks are Markdown; importing the library costs ~50 ms, so only then.
        import markdown

        body = markdown.markdown(body, output_format="html")
    return clean_html(body)


def brief_text(html_fragment: str) -> str:
    """The plain text of a sanitised brief."""
    return plain_text(html_fragment)


EXCERPT_CHARS = 200
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_WORD_END = re.compile(r"[\s.,;:!?)\]»”’\"']$")


def excerpt(description: str, full_text: str, *, limit: int = EXCERPT_CHARS) -> str:
    """What a listing shows of an item: its description, cut at a word with an ellipsis when it is a cut.

    The seeds' descriptions are the brief's first 200 characters, cut mid-word in the news variant
    (the stored field keeps that); a reader sees the cut end at a word, followed by "…". A cut at
    the end of a sentence is shown as it is.
    """
    shown = description or full_text[:limit]
    body = " ".join(full_text.split())
    flat = " ".join(shown.split())
    if not flat or len(flat) >= len(body) or not body.startswith(flat) or _SENTENCE_END.search(flat):
        return shown  # the whole text, a summary of its own, or a cut at the end of a sentence
    if body[len(flat)] != " " and not _WORD_END.search(flat):
        flat = flat.rsplit(" ", 1)[0] if " " in flat else flat
    return flat.rstrip(" ,;:-–—") + "…"
