"""What a page says about itself beyond its article text: JSON-LD types, meta tags, links, byline.

``page_signals`` takes them from the page's extraction (the EXTRACT stage reads JSON-LD and links
from the tree it parsed anyway); the source-type classifier and the identifier finder both work on
the resulting ``PageSignals``. An item without its page (imported from Markdown) gets the same
shape from its front matter and body (``item_signals``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from medcurate.ingest.resolve import registrable_domain

if TYPE_CHECKING:
    from medcurate.extract import Extraction
    from medcurate.models import CuratedItem

_HREF = re.compile(r"""href=["']([^"']+)["']""")


def site_domain(url: str) -> str:
    """The registrable domain of a URL (``news.example.co.uk`` -> ``example.co.uk``), else its host."""
    if not url.startswith(("http://", "https://", "//")):
        return ""
    return (registrable_domain(url) or urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass(frozen=True, slots=True)
class PageSignals:
    """Everything the classifiers read about one page; every field may be empty."""

    url: str = ""
    title: str = ""
    text: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    jsonld_types: frozenset[str] = frozenset()
    authors: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        """The page's host name, lower case, without ``www.``."""
        host = (urlsplit(self.url).hostname or "").lower()
        return host.removeprefix("www.")

    @property
    def domain(self) -> str:
        """The page's registrable domain (``news.example.co.uk`` -> ``example.co.uk``)."""
        return site_domain(self.url)

    @property
    def path(self) -> str:
        """The page's URL path, lower case."""
        return urlsplit(self.url).path.lower()


def page_signals(extraction: Extraction) -> PageSignals:
    """The signals of a fetched page, from its extraction (which read its JSON-LD and links)."""
    links = extraction.links or tuple(dict.fromkeys(_HREF.findall(extraction.brief_html)))
    return PageSignals(
        url=extraction.canonical_url or extraction.url or "",
        title=extraction.title or "",
        text=extraction.text,
        meta=dict(extraction.html_meta),
        jsonld_types=frozenset(extraction.jsonld_types),
        authors=extraction.authors,
        links=links,
    )


def item_signals(item: CuratedItem, *, text: str = "") -> PageSignals:
    """The signals an item carries without its page: title, body text and links, front-matter meta."""
    fields = item.fields
    meta = fields.html_meta_data or {}
    body = item.body
    return PageSignals(
        url=item.url or "",
        title=item.title,
        text=text or re.sub(r"<[^>]+>", " ", body),
        meta={str(k): str(v) for k, v in meta.items() if isinstance(v, (str, int, float))},
        authors=tuple(item.authors),
        links=tuple(dict.fromkeys(_HREF.findall(body))),
    )
