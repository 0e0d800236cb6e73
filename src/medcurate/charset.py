"""Guessing the character set of bytes that do not declare one.

Shared by the fetcher's HTML decoding (``ingest.body``) and the extractor's (``extract.decode``),
so it sits below both. charset_normalizer does the detection; the rules here keep windows-1252,
the web's legacy default (WHATWG), from losing to look-alike Latin code pages on short text.
"""

from __future__ import annotations

import re

from charset_normalizer import from_bytes

__all__ = ["guess_encoding"]

_WESTERN_LOOKALIKES = re.compile(
    r"^(cp(437|85\d|86[0-5]|125[0247])|latin_?\d*|iso8859_(1|2|3|4|9|10|13|14|15|16)|mac_\w+|hp_roman8)$"
)


def guess_encoding(body: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else charset_normalizer's guess, preferring windows-1252."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(body[:200_000]))
    if not matches:
        return "cp1252"
    best = matches[0]
    guess = str(best.encoding)
    tied = {m.encoding for m in matches if m.chaos == best.chaos and m.coherence == best.coherence}
    tied.update(best.could_be_from_charset)
    # Single-byte Latin code pages (DOS, ISO, Mac, Central European) often tie with windows-1252 or
    # beat it by noise on short Western text; windows-1252 is the web's legacy default (WHATWG), so
    # it wins whenever the guess is one of them and the bytes are valid windows-1252.
    if "cp1252" in tied or _same_text(body, guess, "cp1252"):
        return "cp1252"
    if _WESTERN_LOOKALIKES.match(guess) and _decodes(body, "cp1252"):
        return "cp1252"
    return guess


def _decodes(body: bytes, codec: str) -> bool:
    """Whether every byte is defined in ``codec``."""
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _same_text(body: bytes, first: str, second: str) -> bool:
    """Whether two codecs decode the bytes to the same text."""
    try:
        return body.decode(first) == body.decode(second)
    except (UnicodeDecodeError, LookupError):
        return False
