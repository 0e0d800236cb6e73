"""Stage 1, sources: turn every kind of input into :class:`SourceEntry` records.

One module per kind of input, each a pure function from bytes or text::

    free text, e-mail, post  -> text.parse_text / urls_from_text (plain, HTML, Markdown or a MIME message)
    a file of URLs           -> text.parse_text                 (one per line, ``#`` comments)
    RSS, Atom, JSON Feed     -> feeds.parse_feed                (feedparser; JSON Feed with json)
    OPML subscription list   -> opml.parse_opml                 (each entry is a *feed* to fetch next)
    sitemap, Google News     -> sitemaps.parse_sitemap          (an index lists further sitemaps)
    Netscape bookmarks       -> bookmarks.parse_bookmarks       (browsers, Pocket, Raindrop; tags kept)
    saved pages (.html[.gz]) -> pages.parse_saved_page / read_saved_pages

``detect`` sniffs the kind and dispatches; ``collect`` is the one entry point callers use: it reads
files, fetches URLs through the function it is given, and expands OPML lists and sitemap indexes.
To add a kind: a module here with its ``parse_*`` function, a ``SourceKind`` member, a line in
``detect._sniff`` and ``detect.parse_source``.
"""

from medcurate.ingest.sources.bookmarks import parse_bookmarks
from medcurate.ingest.sources.collect import Collection, FetchDocument, SourceInput, collect
from medcurate.ingest.sources.common import (
    DEFAULT_MAX_FEED_ENTRIES,
    DEFAULT_MAX_SOURCE_BYTES,
    SourceEntry,
    SourceKind,
    SourceReport,
)
from medcurate.ingest.sources.detect import detect_source_kind, entries_of, parse_source, read_source
from medcurate.ingest.sources.feeds import parse_feed
from medcurate.ingest.sources.opml import parse_opml
from medcurate.ingest.sources.pages import parse_saved_page, read_saved_pages
from medcurate.ingest.sources.sitemaps import parse_sitemap
from medcurate.ingest.sources.text import parse_text, urls_from_text

__all__ = [
    "DEFAULT_MAX_FEED_ENTRIES",
    "DEFAULT_MAX_SOURCE_BYTES",
    "Collection",
    "FetchDocument",
    "SourceEntry",
    "SourceInput",
    "SourceKind",
    "SourceReport",
    "collect",
    "detect_source_kind",
    "entries_of",
    "parse_bookmarks",
    "parse_feed",
    "parse_opml",
    "parse_saved_page",
    "parse_sitemap",
    "parse_source",
    "parse_text",
    "read_saved_pages",
    "read_source",
    "urls_from_text",
]
