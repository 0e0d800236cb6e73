"""What every source reader shares: the entry and report types, and the small text and XML helpers.

A reader module per kind of input (``text``, ``feeds``, ``opml``, ``sitemaps``, ``bookmarks``,
``pages``) turns bytes into a :class:`SourceReport` of :class:`SourceEntry` records; ``detect``
sniffs which kind an input is; ``collect`` is the one entry point the CLI, the web app and the feed
scheduler call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from medcurate.errors import SourceError

# Largest input file (after decompression) any reader accepts: a guard against gzip bombs.
DEFAULT_MAX_SOURCE_BYTES = 50 * 1024 * 1024
# Entries read from one feed: a feed of 100,000 entries took 655 MB in feedparser's dictionaries.
DEFAULT_MAX_FEED_ENTRIES = 1_000


class SourceKind(StrEnum):
    """What an input is; also recorded on every entry read from it."""

    TEXT = "text"
    URL_LIST = "url-list"
    FEED = "feed"
    OPML = "opml"
    BOOKMARKS = "bookmarks"
    SAVED_PAGE = "saved-page"
    SITEMAP = "sitemap"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceEntry:
    """One link found in an input; for OPML the link is a feed to fetch, for all others an article."""

    url: str | None
    kind: SourceKind
    origin: str
    title: str | None = None
    published: datetime | None = None
    summary: str | None = None
    tags: tuple[str, ...] = ()
    html: str | None = field(default=None, repr=False)
    # The feed's own id for the entry (RSS guid, Atom id, JSON Feed id), when it gives one.
    guid: str | None = None
    # True when the URL is a document listing more sources (an OPML feed, a sitemap index's sitemap).
    lists_sources: bool = False

    @property
    def is_feed(self) -> bool:
        """True when the URL is a feed (from an OPML list) rather than an article."""
        return self.kind is SourceKind.OPML

    @property
    def memory_key(self) -> str | None:
        """What a subscription remembers the entry by: its id when the feed gives one, else its URL."""
        return self.guid or self.url


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceReport:
    """Everything one input yielded: its entries, and what was skipped or incomplete, in words."""

    kind: SourceKind
    origin: str
    entries: tuple[SourceEntry, ...]
    problems: tuple[str, ...] = ()

    @property
    def urls(self) -> list[str]:
        """The entries' URLs in order, leaving out entries without one."""
        return [e.url for e in self.entries if e.url]


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an invalid IPv6 literal
        return False


def collapse(text: str | None) -> str | None:
    """Collapse white space; None for empty."""
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def absolute_http_url(url: str | None, base: str | None) -> str | None:
    """``url`` resolved against ``base`` when it is relative; None unless the result is http(s)."""
    if not url or not url.strip():
        return None
    url = url.strip()
    if base and not is_web_url(url):
        url = urljoin(base, url)
    return url if is_web_url(url) else None


def html_tree(text: str) -> Any:
    """Parse HTML text with lxml, tolerating an XML encoding declaration."""
    try:
        return lxml.html.document_fromstring(text)
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        parser = lxml.html.HTMLParser(encoding="utf-8")
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)


def safe_xml_parser() -> Any:
    """An lxml parser that expands no entities, loads no DTD and never touches the network."""
    return lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def local_name(tag: Any) -> str:
    """An element's tag without its namespace, lower-cased; '' for comments and processing instructions."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def gunzip(data: bytes, *, origin: str, max_bytes: int) -> bytes:
    """Decompress gzip data, refusing to inflate past ``max_bytes``."""
    try:
        inflated = zlib.decompressobj(wbits=31).decompress(data, max_bytes + 1)
    except zlib.error as err:
        raise SourceError(f"corrupt gzip data: {err}", origin=origin) from err
    if len(inflated) > max_bytes:
        raise SourceError(f"decompresses past the {max_bytes}-byte limit", origin=origin)
    return inflated


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A file's bytes, gunzipped when gzip'd, within the size limit."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"file is {size} bytes, over the {max_bytes}-byte limit", origin=str(path))
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"cannot read: {err.strerror or err}", origin=str(path)) from err
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, origin=str(path), max_bytes=max_bytes)
    return data
