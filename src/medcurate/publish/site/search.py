"""The client-side search index: one JSON file the search page fetches and filters in the browser.

Rows are arrays, not objects (the field names once, in ``fields``), which keeps the file about a
third smaller at 10,000 items; the text of each brief is cut at ``text_chars`` characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from medcurate.publish.site.views import ItemView

SEARCH_FIELDS = ("title", "url", "date", "brand", "topics", "section", "text")


def search_index(views: Sequence[ItemView], *, text_chars: int) -> str:
    """The JSON search index of the items, newest first."""
    rows = [
        [
            view.title,
            view.url,
            view.date_iso[:10],
            view.brand,
            " · ".join(t.label for t in view.topics),
            view.section.name,
            view.text[:text_chars],
        ]
        for view in views
    ]
    text = json.dumps({"fields": SEARCH_FIELDS, "items": rows}, ensure_ascii=True, separators=(",", ":"))
    # Escaped like Jinja's tojson, so the index stays inert even if someone inlines it in a page.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
