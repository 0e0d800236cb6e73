"""Stage 1, sources: turn every kind of input into :class:`SourceEntry` records.

Inputs and the parser for each (all pure functions from bytes or text; only :func:`read_source`
and :func:`read_saved_pages` touch the file system)::

    free text, e-mail, post  -> parse_text / urls_from_text   (plain, HTML, Markdown or a MIME message)
    a file of URLs           -> parse_text                    (one per line, ``#`` comments)
    RSS, Atom, JSON Feed     -> parse_feed                    (feedparser; JSON Feed by hand, see below)
    OPML subscription list   -> parse_opml                    (each entry is a *feed* to fetch next)
    Netscape bookmarks       -> parse_bookmarks               (browsers, Pocket, Raindrop; tags kept)
    saved pages (.html[.gz]) -> parse_saved_page / read_saved_pages (URL from canonical or og:url)

:func:`detect_source_kind` sniffs which of these a file or a byte string is, and :func:`parse_source` /
:func:`read_source` dispatch on it, so ``medcurate ingest --file X`` needs no flag.

Hand-written parts and why:

* URL finding in free text is a regular expression plus trimming rules, because no installed library
  handles the cases editors paste (Markdown links, ``<...>`` autolinks, Wikipedia parentheses,
  trailing sentence punctuation) and linkify-style libraries would add a dependency for ~40 lines.
* JSON Feed 1.0/1.1 is read with :mod:`json`, because feedparser only reads XML feeds.
* OPML is parsed with lxml with entity resolution, DTD loading and network access all off, so a
  hostile file can neither expand entities nor make the parser fetch anything.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html
from htmldate import find_date
from trafilatura.utils import decode_file

from medcurate.errors import SourceError
from medcurate.models import LONE_SURROGATE

__all__ = [
    "DEFAULT_MAX_SOURCE_BYTES",
    "SourceEntry",
    "SourceKind",
    "SourceReport",
    "detect_source_kind",
    "entries_of",
    "parse_bookmarks",
    "parse_feed",
    "parse_opml",
    "parse_saved_page",
    "parse_source",
    "parse_text",
    "read_saved_pages",
    "read_source",
    "urls_from_text",
]

DEFAULT_MAX_SOURCE_BYTES = 50 * 1024 * 1024
# Entries read from one feed: a feed of 100,000 entries took 655 MB in feedparser's dictionaries.
DEFAULT_MAX_FEED_ENTRIES = 1_000
# The end of an RSS <item> or an Atom <entry>, with or without a namespace prefix.
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>", re.IGNORECASE)
"""Largest input file (after decompression) any reader accepts: a guard against gzip bombs."""

_SNIFF_BYTES = 64 * 1024
_SAVED_PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


class SourceKind(StrEnum):
    """What an input is; also recorded on every entry read from it."""

    TEXT = "text"
    URL_LIST = "url-list"
    FEED = "feed"
    OPML = "opml"
    BOOKMARKS = "bookmarks"
    SAVED_PAGE = "saved-page"


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

    @property
    def is_feed(self) -> bool:
        """True when the URL is a feed (from an OPML list) rather than an article."""
        return self.kind is SourceKind.OPML


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


# --- free text -------------------------------------------------------------------------------------

# A URL runs until white space or a character that never appears unescaped in one as typed.
_URL_RE = re.compile(r"""https?://[^\s<>"`]+""", re.IGNORECASE)
# [title](url) with one level of balanced parentheses inside the URL (Wikipedia titles).
_MD_LINK_RE = re.compile(
    r"\[([^\[\]\n]+)\]\((https?://[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)[^)]*\)", re.IGNORECASE
)
_TRAILING_PUNCT = ".,;:!?'\"*…。，、；：！？"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_HTML_HINT_RE = re.compile(r"<(?:a\s|html\b|body\b|p\b|div\b|br\b|table\b|span\b|ul\b|li\b)", re.IGNORECASE)
_HEADER_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_MAIL_HEADERS = ("from:", "mime-version:", "content-type:", "subject:", "message-id:")
_URL_LINE_RE = re.compile(r"^<?(https?://\S+?)>?(?:\s+#.*)?$", re.IGNORECASE)


def _trim_url(raw: str) -> str:
    """Drop trailing sentence punctuation and unbalanced closing brackets."""
    url = raw
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)
        if last in _TRAILING_PUNCT or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an invalid IPv6 literal
        return False


def _collapse(text: str | None) -> str | None:
    """Collapse white space; None for empty."""
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def _links_in_plain(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield (url, markdown link title or None) for each URL in plain text, in order."""
    titles: dict[str, str | None] = {}
    for match in _MD_LINK_RE.finditer(text):
        titles.setdefault(_trim_url(match.group(2)), _collapse(match.group(1)))
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if _is_web_url(url):
            yield url, titles.get(url)


def _html_tree(text: str) -> Any:
    """Parse HTML text with lxml, tolerating an XML encoding declaration."""
    try:
        return lxml.html.document_fromstring(text)
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        parser = lxml.html.HTMLParser(encoding="utf-8")
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)


def _links_in_html(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield (url, anchor text) for hrefs and bare URLs of an HTML document, in document order."""
    try:
        tree = _html_tree(text)
    except lxml.etree.ParserError:  # nothing parseable: treat as plain text
        yield from _links_in_plain(text)
        return
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            if isinstance(el.tail, str):
                yield from _links_in_plain(el.tail)
            continue
        href = el.get("href") if el.tag == "a" else None
        if href and _is_web_url(href.strip()):
            label = _collapse(el.text_content())
            # Anchor text that is itself a URL is not a title (mail trackers wrap the real link).
            yield href.strip(), None if label is None or _URL_RE.match(label) else label
        for chunk in (el.text, el.tail):
            if chunk:
                yield from _links_in_plain(chunk)


def _mail_bodies(text: str) -> list[str] | None:
    """The decoded text and HTML bodies of a raw e-mail (RFC 5322), or None when it is not one."""
    head = text.lstrip().split("\n\n", 1)[0].split("\n")
    if not head or not _HEADER_LINE_RE.match(head[0]):
        return None
    if not any(line.lower().startswith(_MAIL_HEADERS) for line in head):
        return None
    message = email.message_from_string(text, policy=email.policy.default)
    bodies = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text" or part.is_attachment():
            continue
        try:
            bodies.append(str(part.get_content()))
        except (LookupError, UnicodeError):  # an unknown or lying charset
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                bodies.append(payload.decode("utf-8", "replace"))
    return bodies


def _is_url_list(text: str) -> bool:
    """True when every non-blank line is a ``#`` comment or one URL (optionally with a comment)."""
    seen_url = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not _URL_LINE_RE.match(stripped):
            return False
        seen_url = True
    return seen_url


def _links_from_text(text: str) -> list[tuple[str, str | None]]:
    """(url, title) pairs of any free text, de-duplicated in order; the first title seen wins."""
    text = text.lstrip("\ufeff")
    if _is_url_list(text):
        text = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("#"))
        text = re.sub(r"[ \t]+#.*", "", text)
    bodies = _mail_bodies(text) or [text]
    found: dict[str, str | None] = {}
    for body in bodies:
        pairs = _links_in_html(body) if _HTML_HINT_RE.search(body) else _links_in_plain(body)
        for url, title in pairs:
            if found.get(url) is None:
                found[url] = title
    return list(found.items())


def urls_from_text(text: str) -> list[str]:
    """Every http(s) URL in free text (plain, HTML, Markdown, a raw e-mail or a URL list), in order, once.

    Args:
        text: an e-mail, a post, a Markdown note, an HTML fragment, or one URL a line with ``#`` comments.

    Returns:
        The URLs with trailing punctuation and unbalanced closing brackets removed.
    """
    return [url for url, _ in _links_from_text(text)]


def parse_text(text: str, *, origin: str) -> SourceReport:
    """Entries for the URLs in free text or a URL list; Markdown and HTML link text become titles."""
    kind = SourceKind.URL_LIST if _is_url_list(text.lstrip("\ufeff")) else SourceKind.TEXT
    entries = tuple(
        SourceEntry(url=url, title=title, kind=kind, origin=origin) for url, title in _links_from_text(text)
    )
    problems = () if entries else ("no http(s) links found",)
    return SourceReport(kind=kind, origin=origin, entries=entries, problems=problems)


# --- feeds -----------------------------------------------------------------------------------------


def _struct_to_datetime(value: Any) -> datetime | None:
    """A feedparser UTC time tuple as an aware datetime."""
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _html_to_text(fragment: str | None) -> str | None:
    """Plain text of an HTML fragment (feed summaries are HTML)."""
    if not fragment or not fragment.strip():
        return None
    if "<" not in fragment and "&" not in fragment:
        return _collapse(fragment)
    try:
        return _collapse(lxml.html.fragment_fromstring(fragment, create_parent="div").text_content())
    except (lxml.etree.ParserError, ValueError):
        return _collapse(fragment)


def _absolute(url: str | None, base: str | None) -> str | None:
    """``url`` resolved against ``base`` when it is relative; None unless the result is http(s)."""
    if not url or not url.strip():
        return None
    url = url.strip()
    if base and not _is_web_url(url):
        url = urljoin(base, url)
    return url if _is_web_url(url) else None


def _whole_text(value: Any) -> Any:
    """JSON data with every lone surrogate replaced by U+FFFD, as a UTF-8 decoder replaces a bad byte."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_text(item) for item in value]
    if isinstance(value, dict):
        return {_whole_text(key): _whole_text(item) for key, item in value.items()}
    return value


def _cut_note(max_entries: int) -> str:
    return f"the feed holds more than {max_entries} entries; the first {max_entries} were read"


def _parse_json_feed(data: bytes, *, origin: str, base_url: str | None, max_entries: int) -> SourceReport:
    """Entries of a JSON Feed 1.0/1.1; ``external_url`` wins over ``url`` since link blogs curate it."""
    try:
        doc = _whole_text(json.loads(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SourceError(f"not valid JSON ({err}); expected a JSON Feed", origin=origin) from err
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/1"):
        raise SourceError(
            f"JSON without a JSON Feed version (got {version!r}); expected https://jsonfeed.org/version/1.x",
            origin=origin,
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise SourceError("JSON Feed has no 'items' list", origin=origin)
    base = base_url or (doc.get("home_page_url") if isinstance(doc.get("home_page_url"), str) else None)
    entries, problems = [], [_cut_note(max_entries)] if len(items) > max_entries else []
    for number, item in enumerate(items[:max_entries], start=1):
        if not isinstance(item, dict):
            problems.append(f"item {number} is not an object; skipped")
            continue
        url = _absolute(item.get("external_url"), base) or _absolute(item.get("url"), base)
        if url is None:
            problems.append(f"item {number} ({item.get('id')!r}) has no http(s) url; skipped")
            continue
        published = None
        stamp = item.get("date_published") or item.get("date_modified")
        if isinstance(stamp, str):
            try:
                published = datetime.fromisoformat(stamp).astimezone(UTC)
            except ValueError:
                problems.append(f"item {number}: unreadable date {stamp!r}")
        summary = item.get("summary") or item.get("content_text") or item.get("content_html")
        raw_tags = item.get("tags")
        tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
        entries.append(
            SourceEntry(
                url=url,
                kind=SourceKind.FEED,
                origin=origin,
                title=_collapse(item.get("title")) if isinstance(item.get("title"), str) else None,
                published=published,
                summary=_html_to_text(summary) if isinstance(summary, str) else None,
                tags=tuple(str(t).strip() for t in tags if str(t).strip()),
            )
        )
    return SourceReport(kind=SourceKind.FEED, origin=origin, entries=tuple(entries), problems=tuple(problems))


_CHARACTER_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _without_surrogate_references(data: bytes) -> bytes:
    """XML with every character reference to a lone surrogate (``&#xD800;``) made ``&#xFFFD;``.

    XML forbids them, but feedparser's lenient parser, which takes over from the strict one on a
    malformed feed, turns each into a character and fails to encode it (UnicodeEncodeError).
    """
    if b"&#" not in data:
        return data

    def replace(match: re.Match[bytes]) -> bytes:
        hexadecimal, decimal = match.groups()
        code = int(hexadecimal, 16) if hexadecimal else int(decimal)
        return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF else match.group(0)

    return _CHARACTER_REFERENCE.sub(replace, data)


def _first_entries(data: bytes, max_entries: int) -> tuple[bytes, bool]:
    """The feed cut after its ``max_entries``-th entry (feedparser reads the rest leniently), and
    whether anything was cut; one scan of the bytes, stopped at that entry."""
    for number, match in enumerate(_ENTRY_END.finditer(data), start=1):
        if number == max_entries:
            return data[: match.end()], _ENTRY_END.search(data, match.end()) is not None
    return data, False


def parse_feed(
    data: bytes, *, origin: str, base_url: str | None = None, max_entries: int = DEFAULT_MAX_FEED_ENTRIES
) -> SourceReport:
    """Entries of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document.

    RSS and Atom go through feedparser; JSON Feed is read by hand with :mod:`json` because feedparser
    does not read it. Relative entry links are resolved against ``base_url`` (the feed's own URL).

    Args:
        data: the feed's bytes, as fetched or read from a file.
        origin: the feed's URL or file path, recorded on each entry and named in errors.
        base_url: the URL the feed was fetched from; defaults to ``origin`` when that is a URL.
        max_entries: read at most this many entries (the first ones: feeds list the newest first).

    Returns:
        A report whose entries are the feed's articles.

    Raises:
        SourceError: the bytes are neither an XML feed nor a JSON Feed.
    """
    base = base_url or (origin if _is_web_url(origin) else None)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(data, origin=origin, base_url=base, max_entries=max_entries)
    headers = {"content-location": base} if base else {}
    data, cut = _first_entries(data, max_entries)
    # A stream, never bytes or str: feedparser opens a str that looks like a URL or a path.
    parsed = feedparser.parse(io.BytesIO(_without_surrogate_references(data)), response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> root"
        raise SourceError(f"not an RSS, Atom or JSON feed: {reason}", origin=origin)
    feed_link = parsed.feed.get("link")
    entries, problems = [], [_cut_note(max_entries)] if cut else []
    for number, item in enumerate(parsed.entries[:max_entries], start=1):
        link = item.get("link")
        if not link and item.get("guidislink"):
            link = item.get("id")
        url = _absolute(link, base or feed_link)
        if url is None:
            problems.append(f"entry {number} ({item.get('title', '')!r}) has no http(s) link; skipped")
            continue
        terms = [t.get("term") or t.get("label") or "" for t in item.get("tags") or []]
        entries.append(
            SourceEntry(
                url=url,
                kind=SourceKind.FEED,
                origin=origin,
                title=_collapse(item.get("title")),
                published=_struct_to_datetime(item.get("published_parsed") or item.get("updated_parsed")),
                summary=_html_to_text(item.get("summary")),
                tags=tuple(dict.fromkeys(t.strip() for t in terms if t.strip())),
            )
        )
    return SourceReport(kind=SourceKind.FEED, origin=origin, entries=tuple(entries), problems=tuple(problems))


# --- OPML ------------------------------------------------------------------------------------------


def _safe_xml_parser() -> Any:
    """An lxml parser that expands no entities, loads no DTD and never touches the network."""
    return lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _local(tag: Any) -> str:
    """An element's tag without its namespace, lower-cased; '' for comments and processing instructions."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def parse_opml(data: bytes, *, origin: str) -> SourceReport:
    """The feeds an OPML file lists (``xmlUrl`` of any outline, however nested); folders become tags.

    Raises:
        SourceError: the bytes are not well-formed XML, or the root element is not ``<opml>``.
    """
    try:
        root = lxml.etree.fromstring(data, parser=_safe_xml_parser())
    except lxml.etree.XMLSyntaxError as err:
        raise SourceError(f"not well-formed XML, so not OPML: {err}", origin=origin) from err
    if _local(root.tag) != "opml":
        raise SourceError(f"XML root is <{_local(root.tag)}>, expected <opml>", origin=origin)
    entries, problems = [], []
    for outline in root.iter("{*}outline"):
        attrs = {k.lower(): v for k, v in outline.attrib.items()}
        if "xmlurl" not in attrs:
            continue
        url = _absolute(attrs["xmlurl"], None)
        label = _collapse(attrs.get("title") or attrs.get("text"))
        if url is None:
            problems.append(f"outline {label!r} has xmlUrl {attrs['xmlurl']!r}, not an http(s) URL; skipped")
            continue
        folders = [
            _collapse(a.get("title") or a.get("text"))
            for a in outline.iterancestors()
            if _local(a.tag) == "outline"
        ]
        categories = [c.strip() for c in re.split(r"[,/]", attrs.get("category", "")) if c.strip()]
        tags = tuple(dict.fromkeys([f for f in reversed(folders) if f] + categories))
        entries.append(
            SourceEntry(
                url=url,
                kind=SourceKind.OPML,
                origin=origin,
                title=label,
                summary=_collapse(attrs.get("description")),
                tags=tags,
            )
        )
    if not entries:
        problems.append("no outline has an xmlUrl: nothing to subscribe to")
    return SourceReport(kind=SourceKind.OPML, origin=origin, entries=tuple(entries), problems=tuple(problems))


# --- bookmarks -------------------------------------------------------------------------------------


def _epoch(value: str | None) -> datetime | None:
    """An ADD_DATE / time_added value (seconds, or milli/microseconds in some exports) as UTC."""
    if not value or not value.strip().isdigit():
        return None
    stamp = int(value.strip())
    while stamp > 10**11:  # later than year 5138 in seconds: the export used ms or µs
        stamp //= 1000
    try:
        return datetime.fromtimestamp(stamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_bookmarks(data: bytes | str, *, origin: str) -> SourceReport:
    """Entries of a Netscape bookmark export (Firefox, Chrome, Pocket, Raindrop), keeping TAGS and dates.

    Raises:
        SourceError: the input holds no bookmark links and does not declare itself a bookmark file.
    """
    text = decode_file(data) if isinstance(data, bytes) else data
    try:
        tree = _html_tree(text)
    except lxml.etree.ParserError as err:
        raise SourceError(f"not a bookmark export: {err}", origin=origin) from err
    entries, skipped = [], []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href:
            continue
        if not _is_web_url(href):
            skipped.append(href.split(":", 1)[0] + ":")
            continue
        raw_tags = anchor.get("tags") or ""
        summary = None
        parent = anchor.getparent()
        follower = parent.getnext() if parent is not None and parent.tag == "dt" else None
        if follower is not None and follower.tag == "dd":
            summary = _collapse(follower.text_content())
        entries.append(
            SourceEntry(
                url=href,
                kind=SourceKind.BOOKMARKS,
                origin=origin,
                title=_collapse(anchor.text_content()),
                published=_epoch(anchor.get("add_date") or anchor.get("time_added")),
                summary=summary,
                tags=tuple(dict.fromkeys(t.strip() for t in raw_tags.split(",") if t.strip())),
            )
        )
    if not entries and "netscape-bookmark-file" not in text[:1024].lower():
        raise SourceError("no bookmark links (<A HREF=...>) found: not a bookmark export", origin=origin)
    problems = []
    if skipped:
        schemes = ", ".join(sorted(set(skipped)))
        problems.append(f"skipped {len(skipped)} bookmark(s) that are not web pages ({schemes})")
    return SourceReport(
        kind=SourceKind.BOOKMARKS, origin=origin, entries=tuple(entries), problems=tuple(problems)
    )


# --- saved pages -----------------------------------------------------------------------------------

# Browsers' "Save page as" (Mark of the Web) and SingleFile record the address in a comment.
_SAVED_FROM_RE = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.IGNORECASE)
_SINGLEFILE_RE = re.compile(r"<!--[^>]*?Page saved with SingleFile\s+url:\s*(\S+)", re.IGNORECASE)


def _first_meta(tree: Any, *names: str) -> str | None:
    """The content of the first ``<meta property|name=...>`` among ``names``."""
    for name in names:
        for meta in tree.iter("meta"):
            if name in ((meta.get("property") or "").lower(), (meta.get("name") or "").lower()):
                value = _collapse(meta.get("content"))
                if value:
                    return value
    return None


def _page_url(tree: Any, text: str) -> str | None:
    """The page's own URL: rel=canonical, then og:url, then a save tool's comment; absolute http(s) only."""
    og_url = _absolute(_first_meta(tree, "og:url"), None)
    match = _SAVED_FROM_RE.search(text[:8192]) or _SINGLEFILE_RE.search(text[:8192])
    saved_from = _absolute(match.group(1), None) if match else None
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            canonical = _absolute(link.get("href"), og_url or saved_from)
            if canonical:
                return canonical
    return og_url or saved_from


def _html_date(text: str, url: str | None) -> datetime | None:
    """The page's publication date by htmldate (fast mode), as midnight UTC."""
    try:
        found = find_date(text, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError):
        return None
    return datetime.fromisoformat(found).replace(tzinfo=UTC) if found else None


def parse_saved_page(data: bytes | str, *, origin: str) -> SourceEntry:
    """An entry for one saved HTML page (gzip accepted); ``url`` is None when the page does not say it.

    Raises:
        SourceError: the input is not HTML.
    """
    text = decode_file(data) if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff")
    if not text.strip() or "<" not in text[:4096]:
        raise SourceError("not an HTML page (no markup in the first 4 KiB)", origin=origin)
    try:
        tree = _html_tree(text)
    except lxml.etree.ParserError as err:
        raise SourceError(f"not an HTML page: {err}", origin=origin) from err
    url = _page_url(tree, text)
    title = _first_meta(tree, "og:title")
    if title is None:
        title_el = tree.find(".//title")
        title = _collapse(title_el.text_content()) if title_el is not None else None
    tags = tuple(
        dict.fromkeys(
            value
            for meta in tree.iter("meta")
            if (meta.get("property") or "").lower() == "article:tag"
            and (value := _collapse(meta.get("content")))
        )
    )
    return SourceEntry(
        url=url,
        kind=SourceKind.SAVED_PAGE,
        origin=origin,
        title=title,
        published=_html_date(text, url),
        summary=_first_meta(tree, "og:description", "description"),
        tags=tags,
        html=text,
    )


def _saved_page_files(directory: Path) -> list[Path]:
    """Saved pages under ``directory`` (recursively), sorted for a stable order."""
    return sorted(
        p for p in directory.rglob("*") if p.is_file() and p.name.lower().endswith(_SAVED_PAGE_SUFFIXES)
    )


def read_saved_pages(directory: Path, *, max_bytes: int = DEFAULT_MAX_SOURCE_BYTES) -> SourceReport:
    """Entries for every ``*.html``/``*.htm``/``*.html.gz`` under a directory.

    Pages without a canonical URL keep ``url=None`` and are named in ``problems`` (the caller can fall
    back to ``file://`` provenance); unreadable pages are named there and skipped.

    Raises:
        SourceError: the directory does not exist or holds no saved pages.
    """
    if not directory.is_dir():
        raise SourceError("no such directory", origin=str(directory))
    files = _saved_page_files(directory)
    if not files:
        raise SourceError(
            "no saved pages (*.html, *.htm, *.html.gz) in this directory", origin=str(directory)
        )
    entries, problems = [], []
    for path in files:
        try:
            entry = parse_saved_page(_read_bytes(path, max_bytes=max_bytes), origin=str(path))
        except SourceError as err:
            problems.append(f"{path.name}: skipped: {err.message}")
            continue
        if entry.url is None:
            problems.append(f"{path.name}: no <link rel=canonical> or og:url; url left empty")
        entries.append(entry)
    return SourceReport(
        kind=SourceKind.SAVED_PAGE, origin=str(directory), entries=tuple(entries), problems=tuple(problems)
    )


# --- sniffing and dispatch -------------------------------------------------------------------------

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
        return SourceKind.URL_LIST if _is_url_list(text) else SourceKind.TEXT
    if "netscape-bookmark-file" in lowered[:1024] or " add_date=" in lowered or " time_added=" in lowered:
        return SourceKind.BOOKMARKS
    prologue = _SKIP_PROLOGUE_RE.match(lowered)
    first = _FIRST_TAG_RE.match(lowered, prologue.end() if prologue else 0)
    tag = first.group(1) if first else ""
    if tag in ("rss", "feed", "rdf:rdf") or tag.endswith(":rdf"):
        return SourceKind.FEED
    if tag == "opml":
        return SourceKind.OPML
    if tag in ("html", "head", "meta", "title", "link", "base") or lowered.startswith("<!doctype html"):
        return SourceKind.SAVED_PAGE
    if tag == "dl":
        return SourceKind.BOOKMARKS
    if lowered.startswith("<?xml"):
        raise SourceError(f"XML whose root is <{tag}>: not RSS, Atom or OPML", origin=origin)
    return SourceKind.TEXT  # an HTML fragment (a pasted e-mail body) or a Markdown note


def _gunzip(data: bytes, *, origin: str, max_bytes: int) -> bytes:
    """Decompress gzip data, refusing to inflate past ``max_bytes``."""
    try:
        inflated = zlib.decompressobj(wbits=31).decompress(data, max_bytes + 1)
    except zlib.error as err:
        raise SourceError(f"corrupt gzip data: {err}", origin=origin) from err
    if len(inflated) > max_bytes:
        raise SourceError(f"decompresses past the {max_bytes}-byte limit", origin=origin)
    return inflated


def _read_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A file's bytes, gunzipped when gzip'd, within the size limit."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"file is {size} bytes, over the {max_bytes}-byte limit", origin=str(path))
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"cannot read: {err.strerror or err}", origin=str(path)) from err
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, origin=str(path), max_bytes=max_bytes)
    return data


def detect_source_kind(source: Path | bytes) -> SourceKind:
    """Sniff whether a file, directory or bytes hold a feed, OPML, bookmarks, saved page, URL list or text.

    Raises:
        SourceError: the input is empty, binary, unreadable, or JSON/XML of another kind.
    """
    if isinstance(source, bytes):
        head, origin = source[:_SNIFF_BYTES], "<bytes>"
        if head[:2] == b"\x1f\x8b":
            head = _gunzip(source, origin=origin, max_bytes=DEFAULT_MAX_SOURCE_BYTES)[:_SNIFF_BYTES]
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
    data = _read_bytes(path, max_bytes=max_bytes)
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
