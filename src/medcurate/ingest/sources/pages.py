"""Saved pages (``.html``, ``.htm``, gzip'd or not): the page's own URL, title, date and HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.etree
from htmldate import find_date
from trafilatura.utils import decode_file

from medcurate.errors import SourceError
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_SOURCE_BYTES,
    SourceEntry,
    SourceKind,
    SourceReport,
    absolute_http_url,
    collapse,
    html_tree,
    read_bytes,
)

_SAVED_PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
# Browsers' "Save page as" (Mark of the Web) and SingleFile record the address in a comment.
_SAVED_FROM_RE = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.IGNORECASE)
_SINGLEFILE_RE = re.compile(r"<!--[^>]*?Page saved with SingleFile\s+url:\s*(\S+)", re.IGNORECASE)


def _first_meta(tree: Any, *names: str) -> str | None:
    """The content of the first ``<meta property|name=...>`` among ``names``."""
    for name in names:
        for meta in tree.iter("meta"):
            if name in ((meta.get("property") or "").lower(), (meta.get("name") or "").lower()):
                value = collapse(meta.get("content"))
                if value:
                    return value
    return None


def _page_url(tree: Any, text: str) -> str | None:
    """The page's own URL: rel=canonical, then og:url, then a save tool's comment; absolute http(s) only."""
    og_url = absolute_http_url(_first_meta(tree, "og:url"), None)
    match = _SAVED_FROM_RE.search(text[:8192]) or _SINGLEFILE_RE.search(text[:8192])
    saved_from = absolute_http_url(match.group(1), None) if match else None
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            canonical = absolute_http_url(link.get("href"), og_url or saved_from)
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
        tree = html_tree(text)
    except lxml.etree.ParserError as err:
        raise SourceError(f"not an HTML page: {err}", origin=origin) from err
    url = _page_url(tree, text)
    title = _first_meta(tree, "og:title")
    if title is None:
        title_el = tree.find(".//title")
        title = collapse(title_el.text_content()) if title_el is not None else None
    tags = tuple(
        dict.fromkeys(
            value
            for meta in tree.iter("meta")
            if (meta.get("property") or "").lower() == "article:tag"
            and (value := collapse(meta.get("content")))
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
            entry = parse_saved_page(read_bytes(path, max_bytes=max_bytes), origin=str(path))
        except SourceError as err:
            problems.append(f"{path.name}: skipped: {err.message}")
            continue
        if entry.url is None:
            problems.append(f"{path.name}: no <link rel=canonical> or og:url; url left empty")
        entries.append(entry)
    return SourceReport(
        kind=SourceKind.SAVED_PAGE, origin=str(directory), entries=tuple(entries), problems=tuple(problems)
    )
