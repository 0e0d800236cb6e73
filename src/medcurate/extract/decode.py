"""Decoding raw HTML bytes, telling HTML from other files, and repairing mojibake."""

from __future__ import annotations

import re

import ftfy
from w3lib.encoding import html_to_unicode

from medcurate.charset import guess_encoding
from medcurate.errors import ExtractionError

# Mojibake repair only: curly quotes and full-width characters are the author's, not damage.
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False)


# UTF-8 read as Latin-1/Windows-1252 always leaves a lead byte (Â..ô) before a continuation byte
# (U+0080..U+00BF, or what cp1252 maps those to); text without such a pair is left to itself, which
# spares ftfy's full pass on nearly every page.
_MOJIBAKE_HINT = re.compile(
    "[\u0080-\u009f]|[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


def fix_text(text: str) -> str:
    """Repair mojibake (``Beckerâ€™s`` -> ``Becker’s``) and stray control characters."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    return ftfy.fix_text(text, config=_FTFY_CONFIG)


def decode_page(body: str | bytes, content_type: str | None = None) -> str:
    """Decode a page given as raw HTML bytes by w3lib's HTML rules; text passes through unchanged.

    Unlike the fetcher's ``ingest.body.decode_html`` (bytes it already knows to be HTML), the input
    may be anything a caller hands ``extract``: a gzip stream or a PDF is refused with its reason.
    """
    if isinstance(body, str):
        return body
    if body[:2] == b"\x1f\x8b":
        raise ExtractionError("the page is still gzip-compressed; decompress it first", stage="extract")
    if body[:5] == b"%PDF-":
        raise ExtractionError("the input is a PDF, not an HTML page", stage="extract")
    _, text = html_to_unicode(content_type, body, auto_detect_fun=guess_encoding)
    return text


_MARKUP = re.compile(r"<\s*(!doctype|html|head|body|meta|title|p|div|article)\b", re.IGNORECASE)


def is_html_page(text: str) -> bool:
    """Tell a page from a binary file or plain text: no NULs, and an HTML tag near the start."""
    head = text[:4096]
    return "\x00" not in head and bool(_MARKUP.search(text[:65536]))
