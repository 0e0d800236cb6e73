"""Response bodies for the fetcher: inflate under the bomb guard, decode HTML text, read PDF text.

Public API (used by ``fetch`` and ``session``)::

    BodyReader(encoding, *, max_bytes, max_decompressed_bytes, max_ratio, url)   # .feed(chunk), .finish()
    decode_html(body, http_charset=None) -> (text, encoding)
    pdf_text(body) -> str
    media_type(headers) -> (media, charset);  page_kind(media, body) -> "html" | "pdf" | None
    retry_after(value) -> seconds | None

gzip/deflate are inflated by hand with ``zlib`` and ``max_length`` because httpx inflates each
network chunk whole, so a 64 KiB chunk of a bomb would already be ~64 MiB in memory before any
check. HTML decoding follows the WHATWG order (BOM, HTTP charset, ``<meta charset>``), then
detection by charset_normalizer.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import re
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from medcurate.charset import guess_encoding
from medcurate.errors import FetchError, TooLarge, UnsupportedContent

LOGGER = logging.getLogger(__name__)

DEFAULT_PDF_MAX_PAGES = 100
# Ratios are only judged past this much output: a small page of repeated markup may legitimately
# compress very well.
RATIO_FLOOR_BYTES = 1024 * 1024
_INFLATE_STEP = 256 * 1024
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
SNIFF_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# WHATWG decodes these labels as windows-1252, as every browser does: pages declaring latin-1
# routinely contain 0x80-0x9f punctuation (curly quotes, dashes).
_WHATWG_1252 = frozenset({"latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "ascii", "us-ascii", "cp819"})
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
Kind = Literal["html", "pdf"]


class BodyReader:
    """Accumulate a streamed body under the wire cap, inflating gzip/deflate under the bomb guard."""

    def __init__(
        self, encoding: str, *, max_bytes: int, max_decompressed_bytes: int, max_ratio: float, url: str
    ) -> None:
        self._url = url
        self._max_raw = max_bytes
        self._max_out = max_decompressed_bytes
        self._max_ratio = max_ratio
        self._raw = 0
        self._consumed = 0
        self._out = bytearray()
        codings = [
            c.strip().lower() for c in encoding.split(",") if c.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise UnsupportedContent(f"content encoding {encoding!r} is not supported", url=url)
        self._coding = codings[0] if codings else None
        self._inflater: Any = None

    def _new_inflater(self, first: bytes) -> Any:
        """A zlib decompressor for the coding; raw deflate when the zlib header is missing."""
        if self._coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def _emit(self, data: bytes) -> None:
        """Add decoded bytes, refusing past the output cap or the ratio cap."""
        self._out += data
        size = len(self._out)
        if size > self._max_out:
            raise TooLarge(
                f"refused: the body decompressed past {self._max_out:,} bytes (decompression bomb guard); "
                "raise FetchOptions.max_decompressed_bytes to allow it",
                url=self._url,
            )
        if size > RATIO_FLOOR_BYTES and size > self._max_ratio * max(self._consumed, 1):
            ratio = size / max(self._consumed, 1)
            raise TooLarge(
                f"refused: compression ratio above {ratio:,.0f}:1, over the {self._max_ratio:,.0f}:1 cap "
                "(decompression bomb guard)",
                url=self._url,
            )

    def feed(self, chunk: bytes) -> None:
        """Take one chunk from the wire."""
        self._raw += len(chunk)
        if self._raw > self._max_raw:
            raise TooLarge(
                f"refused: the body passed the {self._max_raw:,} byte cap while streaming; "
                "raise FetchOptions.max_bytes to allow it",
                url=self._url,
            )
        if self._coding is None:
            self._consumed += len(chunk)
            self._emit(chunk)
            return
        pending = chunk
        try:
            while pending:
                if self._inflater is None:
                    self._inflater = self._new_inflater(pending)
                before = len(pending)
                out = self._inflater.decompress(pending, _INFLATE_STEP)
                pending = self._inflater.unconsumed_tail
                if self._inflater.eof:
                    # A further gzip member may follow; trailing NUL padding is ignored.
                    rest = self._inflater.unused_data
                    self._consumed += before - len(rest)
                    self._inflater = None
                    pending = rest if rest.strip(b"\0") and self._coding != "deflate" else b""
                else:
                    self._consumed += before - len(pending)
                self._emit(out)
        except zlib.error as exc:
            raise FetchError(f"the {self._coding} body is corrupt ({exc})", url=self._url) from exc

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self._inflater is not None:
            with contextlib.suppress(zlib.error):
                self._emit(self._inflater.flush())
        return bytes(self._out)


def _bom_encoding(body: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark names, and the mark's length."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, with WHATWG's windows-1252 aliases; None if unknown."""
    if not label:
        return None
    low = label.strip().strip("\"'").lower()
    if low in _WHATWG_1252:
        return "cp1252"
    try:
        return codecs.lookup(low).name
    except LookupError:
        return None


def decode_html(body: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML body: BOM, then HTTP charset, then ``<meta charset>``, then detection.

    Returns:
        The text and the Python codec name used.
    """
    bom = _bom_encoding(body)
    if bom is not None:
        name, skip = bom
        return body[skip:].decode(name, errors="replace"), name
    encoding = _codec(http_charset)
    if encoding is None:
        match = _META_CHARSET.search(body[:4096])
        encoding = _codec(match.group(1).decode("ascii", "replace")) if match else None
        # A <meta> can only be read if the page is ASCII-compatible, so it cannot mean UTF-16.
        if encoding is not None and encoding.startswith("utf-16"):
            encoding = "utf-8"
    if encoding is None:
        encoding = guess_encoding(body)
    return body.decode(encoding, errors="replace"), encoding


def pdf_text(body: bytes) -> str:
    """The text of a PDF's pages, or "" when pypdf cannot read it."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(body))
        pages = reader.pages[:DEFAULT_PDF_MAX_PAGES]
        return "\n\n".join((page.extract_text() or "").strip() for page in pages).strip()
    except Exception as exc:  # pypdf raises many unrelated types on damaged files
        LOGGER.info("no text from PDF: %s", exc)
        return ""


def media_type(headers: dict[str, str]) -> tuple[str, str | None]:
    """The media type and charset parameter of a Content-Type header."""
    value = headers.get("content-type", "")
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return media.strip().lower(), charset


def page_kind(media: str, body: bytes | None) -> Kind | None:
    """HTML or PDF by media type, sniffing the body when the type says nothing; None otherwise."""
    if media in HTML_TYPES:
        return "html"
    if media in PDF_TYPES:
        return "pdf"
    if media in SNIFF_TYPES and body is not None:
        head = body[:1024].lstrip().lower()
        if head.startswith(b"%pdf-"):
            return "pdf"
        if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")):
            return "html"
    return None


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, counted from ``now``)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
