"""The one way in for every kind of source: ``collect(inputs)`` reads files, fetches URLs, expands lists.

The CLI (``medcurate ingest``), the web app ("check now" on /sources) and the feed scheduler all call
:func:`collect`, so that every kind (a feed, an OPML list, a sitemap or sitemap index, bookmarks,
saved pages, text) is read the same way everywhere. A source that lists other sources (an OPML
list's feeds, a sitemap index's sitemaps) is expanded here, one level deep: the listed documents
are fetched and read, and their entries take the list's place.

Network access is a function passed in (``fetch``), so this module stays free of HTTP: the callers
pass ``medcurate.ingest.fetch.fetch_feed_bytes`` with their options, and the scheduler passes the bytes of
its own conditional request as ``SourceInput.data`` so that a 304 never reaches a parser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from medcurate.errors import MedcurateError, SourceError
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_FEED_ENTRIES,
    SourceEntry,
    SourceKind,
    SourceReport,
    is_web_url,
)
from medcurate.ingest.sources.detect import entries_of, parse_source, read_source

FetchDocument = Callable[[str], bytes]
"""Fetch a feed, OPML list or sitemap by URL and return its bytes; raises a ``MedcurateError``."""

# What the documents a list names are read as.
_LISTED_KIND = {SourceKind.OPML: SourceKind.FEED, SourceKind.SITEMAP: SourceKind.SITEMAP}


@dataclass(frozen=True, kw_only=True)
class SourceInput:
    """One input to read: a URL or a path, its kind when known, and its bytes when already fetched."""

    location: str
    kind: SourceKind | None = None
    data: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class Collection:
    """What the inputs held: a report per document read, and every problem in words."""

    reports: tuple[SourceReport, ...]
    problems: tuple[str, ...]

    @property
    def entries(self) -> list[SourceEntry]:
        """Every article entry once (first occurrence of a URL kept), in input order."""
        return entries_of(self.reports)


def _read_one(source: SourceInput, *, fetch: FetchDocument | None, max_entries: int) -> SourceReport:
    """One document's report: from the bytes given, fetched by URL, or read from a file or folder."""
    if source.data is not None:
        base = source.location if is_web_url(source.location) else None
        return parse_source(
            source.data, origin=source.location, kind=source.kind, base_url=base, max_entries=max_entries
        )
    if is_web_url(source.location):
        if fetch is None:
            raise SourceError("no fetcher given for a URL", origin=source.location)
        data = fetch(source.location)
        return parse_source(
            data, origin=source.location, kind=source.kind, base_url=source.location, max_entries=max_entries
        )
    return read_source(Path(source.location), kind=source.kind, max_entries=max_entries)


def _listed(report: SourceReport) -> list[SourceInput]:
    """The documents a list names (an OPML list's feeds, a sitemap index's sitemaps)."""
    kind = _LISTED_KIND.get(report.kind)
    return [
        SourceInput(location=entry.url, kind=kind)
        for entry in report.entries
        if entry.lists_sources and entry.url and kind is not None
    ]


def collect(
    inputs: Sequence[SourceInput],
    *,
    fetch: FetchDocument | None = None,
    max_entries: int = DEFAULT_MAX_FEED_ENTRIES,
) -> Collection:
    """Read every input, expanding lists of sources one level deep.

    Args:
        inputs: what to read, in order.
        fetch: how to fetch a URL (needed when an input or a listed document is a URL).
        max_entries: read at most this many entries of each feed or sitemap.

    Returns:
        The reports and problems; a URL that cannot be fetched is a problem, not an error, so
        that one dead feed of an OPML list does not stop the others.

    Raises:
        SourceError: a file is missing, too large, or not of the kind sniffed or given.
    """
    reports: list[SourceReport] = []
    problems: list[str] = []
    pending = [(source, True) for source in inputs]
    while pending:
        source, expand = pending.pop(0)
        try:
            report = _read_one(source, fetch=fetch, max_entries=max_entries)
        except MedcurateError as exc:
            if not is_web_url(source.location):
                raise
            problems.append(f"{source.location}: {exc}")
            continue
        listed = _listed(report)
        if listed and expand:
            pending[0:0] = [(child, False) for child in listed]
        elif listed:
            problems.append(f"{report.origin}: a list inside a list is not followed")
        if not listed or any(not e.lists_sources for e in report.entries):
            reports.append(report)
        problems.extend(f"{report.origin}: {p}" for p in report.problems)
    kept = tuple(_articles_only(r) for r in reports)
    return Collection(reports=kept, problems=tuple(problems))


def _articles_only(report: SourceReport) -> SourceReport:
    """The report without its entries that name further sources (expanded above)."""
    if not any(e.lists_sources for e in report.entries):
        return report
    entries = tuple(e for e in report.entries if not e.lists_sources)
    return SourceReport(kind=report.kind, origin=report.origin, entries=entries, problems=report.problems)
