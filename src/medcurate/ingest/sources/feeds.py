"""RSS 0.9x/1.0/2.0, Atom (feedparser) and JSON Feed 1.0/1.1 (read with :mod:`json`, since
feedparser reads XML feeds only): the articles a feed lists, newest first as feeds order them.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.etree
import lxml.html

from medcurate.errors import SourceError
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_FEED_ENTRIES,
    SourceEntry,
    SourceKind,
    SourceReport,
    absolute_http_url,
    collapse,
    is_web_url,
)
from medcurate.models import LONE_SURROGATE

# The end of an RSS <item> or an Atom <entry>, with or without a namespace prefix.
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>", re.IGNORECASE)


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
        return collapse(fragment)
    try:
        return collapse(lxml.html.fragment_fromstring(fragment, create_parent="div").text_content())
    except (lxml.etree.ParserError, ValueError):
        return collapse(fragment)


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
        url = absolute_http_url(item.get("external_url"), base) or absolute_http_url(item.get("url"), base)
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
                title=collapse(item.get("title")) if isinstance(item.get("title"), str) else None,
                published=published,
                summary=_html_to_text(summary) if isinstance(summary, str) else None,
                tags=tuple(str(t).strip() for t in tags if str(t).strip()),
                guid=str(item["id"]) if item.get("id") not in (None, "") else None,
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
    base = base_url or (origin if is_web_url(origin) else None)
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
        url = absolute_http_url(link, base or feed_link)
        if url is None:
            problems.append(f"entry {number} ({item.get('title', '')!r}) has no http(s) link; skipped")
            continue
        terms = [t.get("term") or t.get("label") or "" for t in item.get("tags") or []]
        entries.append(
            SourceEntry(
                url=url,
                kind=SourceKind.FEED,
                origin=origin,
                title=collapse(item.get("title")),
                published=_struct_to_datetime(item.get("published_parsed") or item.get("updated_parsed")),
                summary=_html_to_text(item.get("summary")),
                tags=tuple(dict.fromkeys(t.strip() for t in terms if t.strip())),
                guid=collapse(item.get("id")),
            )
        )
    return SourceReport(kind=SourceKind.FEED, origin=origin, entries=tuple(entries), problems=tuple(problems))
