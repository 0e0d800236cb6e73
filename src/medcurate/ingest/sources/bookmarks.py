"""Netscape bookmark exports (Firefox, Chrome, Pocket, Raindrop), keeping tags and dates."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.etree
from trafilatura.utils import decode_file

from medcurate.errors import SourceError
from medcurate.ingest.sources.common import (
    SourceEntry,
    SourceKind,
    SourceReport,
    collapse,
    html_tree,
    is_web_url,
)


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
        tree = html_tree(text)
    except lxml.etree.ParserError as err:
        raise SourceError(f"not a bookmark export: {err}", origin=origin) from err
    entries, skipped = [], []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href:
            continue
        if not is_web_url(href):
            skipped.append(href.split(":", 1)[0] + ":")
            continue
        raw_tags = anchor.get("tags") or ""
        summary = None
        parent = anchor.getparent()
        follower = parent.getnext() if parent is not None and parent.tag == "dt" else None
        if follower is not None and follower.tag == "dd":
            summary = collapse(follower.text_content())
        entries.append(
            SourceEntry(
                url=href,
                kind=SourceKind.BOOKMARKS,
                origin=origin,
                title=collapse(anchor.text_content()),
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
