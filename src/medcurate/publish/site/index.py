"""The client-side search index: JSON files the search page fetches and filters in the browser.

``search/index.json`` names the fields and the parts; each part (``search/part-NNNN.json``) holds
the rows of the items whose hash bucket falls in it (``plan.part_of``), as many parts as keep each
under ``ITEMS_PER_PART`` rows: a changed item rewrites its part, about 300 KB, whatever the size of
the site, and a part is made from the rows the state keeps (``state.SiteState.bucket_rows``)
without reading any item. Rows are arrays, not objects (the field names once, in ``fields``); the
date comes first so that sorting the rows' text puts the newest first; the text of each brief is
cut at ``text_chars`` characters.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from medcurate.publish.site.views import ItemView

SEARCH_FIELDS = ("date", "url", "title", "brand", "topics", "section", "text")
SEARCH_DIR = "search"
ITEMS_PER_PART = 256


def _dumps(data: object) -> str:
    # UTF-8, as ``fetch().json()`` always reads it; orjson writes it at four times ``json``'s speed.
    text = orjson.dumps(data).decode("utf-8")
    # Escaped like Jinja's tojson, so the index stays inert even if someone inlines it in a page.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def part_name(number: int) -> str:
    """The file name of a part, relative to the index."""
    return f"part-{number:04d}.json"


def part_path(number: int) -> str:
    """The site path of a part."""
    return f"{SEARCH_DIR}/{part_name(number)}"


def search_manifest(parts: int) -> bytes:
    """``search/index.json``: the row fields and the parts' file names."""
    return _dumps({"fields": SEARCH_FIELDS, "parts": [part_name(n) for n in range(parts)]}).encode("utf-8")


def search_row(view: ItemView, *, text_chars: int) -> str:
    """One item's row as JSON text, its fields in ``SEARCH_FIELDS`` order."""
    return _dumps(
        [
            view.date_iso[:10],
            view.url,
            view.title,
            view.brand,
            " · ".join(t.label for t in view.topics),
            view.section.name,
            view.text[:text_chars],
        ]
    )


def search_part(rows: Iterable[str]) -> bytes:
    """One part of the index from its rows' JSON text: newest first, then by URL, descending."""
    return ('{"items":[' + ",".join(sorted(rows, reverse=True)) + "]}").encode("utf-8")
