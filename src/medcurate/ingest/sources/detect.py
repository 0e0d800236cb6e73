"""Which kind an input is (sniffed from its first bytes), and the parser each kind goes to.

:func:`detect_source_kind` sniffs a file, directory or byte string; :func:`parse_source` and
:func:`read_source` dispatch on the kind, so ``medcurate ingest --file X`` needs no flag.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from pathlib import Path

from trafilatura.utils import decode_file

from medcurate.errors import SourceError
from medcurate.ingest.sources.bookmarks import parse_bookmarks
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_FEED_ENTRIES,
    DEFAULT_MAX_SOURCE_BYTES,
    SourceEntry,
    SourceKind,
    SourceReport,
    gunzip,
    read_bytes,
)
from medcurate.ingest.sources.feeds import parse_feed
from medcurate.ingest.sources.opml import parse_opml
from medcurate.ingest.sources.pages import parse_saved_page, read_saved_pages
from medcurate.ingest.sources.sitemaps import parse_sitemap
from medcurate.ingest.sources.text import is_url_list, parse_text

_SNIFF_BYTES = 64 * 1024
_FIRST_TAG_RE = re.compile(r"<([A-Za-z][\w:.-]*)")
# White space, <?xml ...?>, comments and a DOCTYPE (with its internal subset) before the root element.
_SKIP_PROLOGUE_RE = re.compile(
    r"^(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*(?:\[.*?\])?\s*>)+", re.DOTALL | re.IGNORECASE
)


def _sniff(head: bytes, *, origin: str) -> SourceKind:
    """The kind of an input from its first bytes (already decompressed)."""
    if not head.strip():
        raise SourceError("the input is empty", origin=origin)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError("binary data: not text, HTML, a feed, OPML or bookmarks", origin=origin)
    text = decode_file(head).lstrip("\ufeff \t\r\n")
    lowered = text[:_SNIFF_BYTES].lower()
    if lowered.startswith("{"):
        if "jsonfeed.org/version/1" in lowered:
            return SourceKind.FEED
        raise SourceError("JSON that is not a JSON Feed (no jsonfeed.org version)", origin=origin)
    if not lowered.startswith("<"):
        return SourceKind.URL_LIST if is_url_list(text) else SourceKind.TEXT
    if "netscape-bookmark-file" in lowered[:1024] or " add_date=" in lowered or " time_added=" in lowered:
        return SourceKind.BOOKMARKS
    prologue = _SKIP_PROLOGUE_RE.match(lowered)
    first = _FIRST_TAG_RE.match(lowered, prologue.end() if prologue else 0)
    tag = first.group(1) if first else ""
    if tag in ("rss", "feed", "rdf:rdf") or tag.endswith(":rdf"):
        return SourceKind.FEED
    if tag == "opml":
        return SourceKind.OPML
    if tag in ("urlset", "sitemapindex"):
        return SourceKind.SITEMAP
    if tag in ("html", "head", "meta", "title", "link", "base") or lowered.startswith("<!doctype html"):
        return SourceKind.SAVED_PAGE
    if tag == "dl":
        return SourceKind.BOOKMARKS
    if lowered.startswith("<?xml"):
        raise SourceError(f"XML whose root is <{tag}>: not RSS, Atom, OPML or a sitemap", origin=origin)
    return SourceKind.TEXT  # an HTML fragment (a pasted e-mail body) or a Markdown note


def detect_source_kind(source: Path | bytes) -> SourceKind:
    """Sniff whether a file, directory or bytes hold a feed, OPML, bookmarks, saved page, URL list or text.

    Raises:
        SourceError: the input is empty, binary, unreadable, or JSON/XML of another kind.
    """
    if isinstance(source, bytes):
        head, origin = source[:_SNIFF_BYTES], "<bytes>"
        if head[:2] == b"\x1f\x8b":
            head = gunzip(source, origin=origin, max_bytes=DEFAULT_MAX_SOURCE_BYTES)[:_SNIFF_BYTES]
        return _sniff(head, origin=origin)
    origin = str(source)
    if source.is_dir():
        return SourceKind.SAVED_PAGE
    try:
        with source.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
            head = stream.read(_SNIFF_BYTES)
    except (OSError, EOFError) as err:
        raise SourceError(f"cannot read: {err}", origin=origin) from err
    return _sniff(head, origin=origin)


def parse_source(
    data: bytes,
    *,
    origin: str,
    kind: SourceKind | None = None,
    base_url: str | None = None,
    max_entries: int = DEFAULT_MAX_FEED_ENTRIES,
) -> SourceReport:
    """Parse bytes of any supported kind (sniffed unless ``kind`` is given) into a report."""
    kind = kind or _sniff(data[:_SNIFF_BYTES], origin=origin)
    if kind is SourceKind.FEED:
        return parse_feed(data, origin=origin, base_url=base_url, max_entries=max_entries)
    if kind is SourceKind.OPML:
        return parse_opml(data, origin=origin)
    if kind is SourceKind.SITEMAP:
        return parse_sitemap(data, origin=origin, max_entries=max_entries)
    if kind is SourceKind.BOOKMARKS:
        return parse_bookmarks(data, origin=origin)
    if kind is SourceKind.SAVED_PAGE:
        entry = parse_saved_page(data, origin=origin)
        problems = () if entry.url else ("no <link rel=canonical> or og:url; url left empty",)
        return SourceReport(kind=kind, origin=origin, entries=(entry,), problems=problems)
    return parse_text(decode_file(data), origin=origin)


def read_source(
    path: Path,
    *,
    kind: SourceKind | None = None,
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    max_entries: int = DEFAULT_MAX_FEED_ENTRIES,
) -> SourceReport:
    """Read a file (gzip accepted) or a directory of saved pages into a report; the I/O edge of this stage.

    Args:
        path: a feed, OPML, bookmark export, URL list, text/e-mail, saved page, or a directory of pages.
        kind: skip sniffing and parse as this kind.
        max_bytes: refuse files larger than this, before or after decompression.
        max_entries: read at most this many entries of a feed.

    Raises:
        SourceError: the file is missing, too large, or not of the kind sniffed or given.
    """
    if path.is_dir():
        return read_saved_pages(path, max_bytes=max_bytes)
    data = read_bytes(path, max_bytes=max_bytes)
    return parse_source(data, origin=str(path), kind=kind, max_entries=max_entries)


def entries_of(reports: Iterable[SourceReport]) -> list[SourceEntry]:
    """All entries of several reports, first occurrence of each URL kept (entries without URL all kept)."""
    seen: set[str] = set()
    out = []
    for report in reports:
        for entry in report.entries:
            if entry.url is None or entry.url not in seen:
                out.append(entry)
                if entry.url:
                    seen.add(entry.url)
    return out
