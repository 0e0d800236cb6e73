"""The client-side search index: JSON files the search page fetches and filters in the browser.

``search/index.json`` names the fields and the parts; each part (``search/part-NN.json``) holds the
rows of the items whose key hashes to it, newest first. Parts keep rebuilds small: one changed
item rewrites its part, about 300 KB at 10,000 items, not a 10 MB index. The number of parts
grows with the site (one per ``ITEMS_PER_PART`` items, up to ``MAX_PARTS``), so a small site is
one part. Rows are arrays, not objects (the field names once, in ``fields``), which keeps the files
about a third smaller; the text of each brief is cut at ``text_chars`` characters.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import orjson

from medcurate.publish.site.views import ItemView

SEARCH_FIELDS = ("title", "url", "date", "brand", "topics", "section", "text")
SEARCH_DIR = "search"
ITEMS_PER_PART = 300
MAX_PARTS = 32


def part_count(items: int) -> int:
    """How many parts an index of ``items`` rows is split into."""
    return max(1, min(MAX_PARTS, items // ITEMS_PER_PART))


def part_of(key: str, parts: int) -> int:
    """The part an item's row lives in: stable for the item as long as the number of parts holds."""
    return zlib.crc32(key.encode("utf-8")) % parts


def part_name(number: int) -> str:
    """The file name of a part, relative to the index."""
    return f"part-{number:02d}.json"


def _dumps(data: object) -> str:
    # UTF-8, as ``fetch().json()`` always reads it; orjson writes it at four times ``json``'s speed.
    text = orjson.dumps(data).decode("utf-8")
    # Escaped like Jinja's tojson, so the index stays inert even if someone inlines it in a page.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def search_manifest(parts: int) -> str:
    """``search/index.json``: the row fields and the parts' file names."""
    return _dumps({"fields": SEARCH_FIELDS, "parts": [part_name(n) for n in range(parts)]})


def search_row(view: ItemView, *, text_chars: int) -> list[str]:
    """One item's row, its fields in ``SEARCH_FIELDS`` order."""
    return [
        view.title,
        view.url,
        view.date_iso[:10],
        view.brand,
        " · ".join(t.label for t in view.topics),
        view.section.name,
        view.text[:text_chars],
    ]


def search_part(views: Sequence[ItemView], *, text_chars: int) -> str:
    """One part of the index: the rows of ``views``, in their order."""
    return _dumps({"items": [search_row(view, text_chars=text_chars) for view in views]})


def patched_part(text: str, rows: int, changes: Mapping[int, ItemView], *, text_chars: int) -> str | None:
    """A part the last build wrote (``text``) with the rows at ``changes``' indexes made anew.

    None when ``text`` is not a part of ``rows`` rows. The JSON decoder undoes the escapes ``_dumps``
    adds and ``_dumps`` adds them again, so the result is the part a full build would write.
    """
    try:
        data = orjson.loads(text)
    except ValueError:
        return None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != rows:
        return None
    for index, view in changes.items():
        items[index] = search_row(view, text_chars=text_chars)
    return _dumps({"items": items})
