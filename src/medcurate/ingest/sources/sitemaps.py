"""Sitemaps (sitemaps.org ``<urlset>``), Google News sitemaps and sitemap indexes, for sites with no feed.

A ``<urlset>`` lists pages; a Google News sitemap adds ``<news:news>`` with the article's title and
publication date. Entries come out newest first (by the news date, else ``<lastmod>``), since a
sitemap, unlike a feed, keeps no order and a site's whole archive may be in it: ``max_entries``
keeps the newest. A ``<sitemapindex>`` lists further sitemaps, returned as entries that list
sources (``lists_sources``), which ``collect`` fetches in turn as it does an OPML list's feeds.

Parsed with the same hardened lxml parser as OPML (no entities, no DTD, no network).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import lxml.etree

from medcurate.errors import SourceError
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_FEED_ENTRIES,
    SourceEntry,
    SourceKind,
    SourceReport,
    absolute_http_url,
    collapse,
    local_name,
    safe_xml_parser,
)

_EPOCH = datetime.min.replace(tzinfo=UTC)


def _w3c_datetime(value: str | None) -> datetime | None:
    """A W3C datetime (``2026-11-30``, ``2026-11-30T08:15:00+01:00``, ``...Z``) in UTC; None if unreadable."""
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _child_text(element: Any, name: str) -> str | None:
    """The collapsed text of the first descendant named ``name`` (any namespace)."""
    for child in element.iter():
        if local_name(child.tag) == name:
            return collapse(child.text)
    return None


def _page_entry(url_element: Any, *, origin: str) -> SourceEntry | None:
    """One ``<url>``: its ``<loc>``, and the news title and date when it is a Google News entry."""
    url = absolute_http_url(_child_text(url_element, "loc"), None)
    if url is None:
        return None
    news_date = _w3c_datetime(_child_text(url_element, "publication_date"))
    keywords = _child_text(url_element, "keywords") or ""
    return SourceEntry(
        url=url,
        kind=SourceKind.SITEMAP,
        origin=origin,
        title=_child_text(url_element, "title"),
        published=news_date or _w3c_datetime(_child_text(url_element, "lastmod")),
        tags=tuple(dict.fromkeys(k.strip() for k in keywords.split(",") if k.strip())),
    )


def _index_entry(sitemap_element: Any, *, origin: str) -> SourceEntry | None:
    """One ``<sitemap>`` of an index: a further sitemap to read."""
    url = absolute_http_url(_child_text(sitemap_element, "loc"), None)
    if url is None:
        return None
    published = _w3c_datetime(_child_text(sitemap_element, "lastmod"))
    return SourceEntry(
        url=url, kind=SourceKind.SITEMAP, origin=origin, published=published, lists_sources=True
    )


def parse_sitemap(data: bytes, *, origin: str, max_entries: int = DEFAULT_MAX_FEED_ENTRIES) -> SourceReport:
    """The pages of a sitemap or Google News sitemap (newest first), or the sitemaps of an index.

    Raises:
        SourceError: the bytes are not well-formed XML, or the root is neither ``<urlset>`` nor
            ``<sitemapindex>``.
    """
    try:
        root = lxml.etree.fromstring(data, parser=safe_xml_parser())
    except lxml.etree.XMLSyntaxError as err:
        raise SourceError(f"not well-formed XML, so not a sitemap: {err}", origin=origin) from err
    root_name = local_name(root.tag)
    if root_name not in ("urlset", "sitemapindex"):
        raise SourceError(f"XML root is <{root_name}>, expected <urlset> or <sitemapindex>", origin=origin)
    is_index = root_name == "sitemapindex"
    read = _index_entry if is_index else _page_entry
    wanted = "sitemap" if is_index else "url"
    entries: list[SourceEntry] = []
    skipped = 0
    for element in root:
        if local_name(element.tag) != wanted:
            continue
        entry = read(element, origin=origin)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    entries.sort(key=lambda e: e.published or _EPOCH, reverse=True)
    problems = [f"{skipped} <{wanted}> element(s) without an http(s) <loc>; skipped"] if skipped else []
    if len(entries) > max_entries:
        problems.append(f"the sitemap lists {len(entries)} pages; the newest {max_entries} were read")
        entries = entries[:max_entries]
    if not entries:
        problems.append("the sitemap lists no pages")
    return SourceReport(
        kind=SourceKind.SITEMAP, origin=origin, entries=tuple(entries), problems=tuple(problems)
    )
