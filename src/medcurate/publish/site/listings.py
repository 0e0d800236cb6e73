"""Listing pages, feeds, the home page and the term indexes, made from the state's compact rows.

A listing page is its items' stored cards (``state``), so no listing reads an item. A full build
streams each listing oldest first and cuts it into pages as it goes (``plan`` numbers them from the
oldest end); with workers, it reads only the items' digests and each worker reads a page's cards
from the state itself (``parallel.ListingJob``); an incremental build renders only the pages a
change may reach (``plan.pages_reached``) and of those only the ones whose digest changed. Feeds
and the home page show items' briefs, so the few items they show are read again from the source,
and only when their digest changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import TypeVar

from medcurate.publish.sanitize import clean_text
from medcurate.publish.site.context import BuildContext
from medcurate.publish.site.itempages import ItemPages, Reach
from medcurate.publish.site.parallel import FeedJob, ListingJob, PageJob
from medcurate.publish.site.plan import (
    ARCHIVE_URL,
    Listing,
    Pager,
    file_of,
    joined_digest,
    listing_page_digest,
    make_listing,
    numbered_pages,
    page_url,
    pager,
    pages_reached,
)
from medcurate.publish.site.state import FileRecord, ListingRow
from medcurate.publish.site.views import NavLink, url_path

Row = TypeVar("Row")

FEED_FILES = ("index.xml", "atom.xml")  # RSS, Atom
HOME_TOPICS = 12  # topics the home page lists, the busiest first
TERM_INDEXES = (
    ("section", "Communities", "/communities/"),
    ("topic", "Topics", "/topic/"),
    ("source", "Sources", "/source/"),
)


class ListingPages:
    """Writes listings, feeds, the home page and term indexes through one build's context."""

    def __init__(self, ctx: BuildContext, items: ItemPages) -> None:
        self.ctx = ctx
        self.items = items
        self.size = ctx.sizes.page_size

    def _listing(self, row: ListingRow) -> Listing:
        return make_listing(row.kind, row.url, row.title, row.description, row.count)

    def write_all(self) -> None:
        """Every listing page and feed, then the home page and the term indexes (a full build)."""
        state = self.ctx.state
        state.refresh_listings()
        for row in state.listings():
            self._stream_pages(self._listing(row))
            if row.kind in ("section", "topic"):
                self._feeds(self._listing(row))
        self._empty_communities()
        self._site_feeds()
        self.write_home()

    def write_reached(self, reach: Reach) -> None:
        """The listing pages and feeds a change reached, then the home page and the term indexes."""
        ctx, state = self.ctx, self.ctx.state
        before = {url: state.listing(url) for url in reach.listings}
        state.refresh_listings(reach.listings)
        for url, sorts in sorted(reach.listings.items()):
            old, row = before[url], state.listing(url)
            if row is None:
                ctx.drop_owned(f"list:{url}")
                ctx.drop_owned(f"feed:{url}")
                continue
            listing = self._listing(row)
            if old is None or old.title != row.title or old.description != row.description:
                self._stream_pages(listing)  # every page shows the title
            else:
                first, last = state.rank(url, min(sorts)), state.rank(url, max(sorts))
                pages = pages_reached(first, last, before=old.count, after=row.count, size=self.size)
                numbered = numbered_pages(row.count, self.size)
                for number in pages:
                    self._one_page(listing, number, numbered)
                ctx.drop_owned(f"list:{url}", numbered + 1)
            if listing.feeds:
                self._feeds(listing)
        self._empty_communities()
        if ARCHIVE_URL in reach.listings:
            self._site_feeds()
        self.write_home()

    def _empty_communities(self) -> None:
        """A page, empty but for a sentence, for each configured community with no item yet.

        The site's menu links to every community: its page must exist before its first item does.
        """
        ctx = self.ctx
        for community in ctx.config.communities:
            url = url_path(*[p for p in community.base_path.split("/") if p])
            if ctx.state.listing(url) is not None:
                continue
            name, description = clean_text(community.name), clean_text(community.description)
            listing = replace(make_listing("section", url, name, description, 0), feeds=False)
            page = pager(url, 0, 0)
            digest = joined_digest(ctx.site_digest, "empty", url, name, description)
            ctx.emit(
                file_of(url), digest, f"list:{url}", partial(ctx.renderer.listing_page, listing, page, [])
            )

    def _emit_page(self, listing: Listing, page: Pager, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Write one listing page from its items' rows (oldest first), if its digest changed."""
        newest_first = rows[::-1]
        digest = listing_page_digest(self.ctx.site_digest, listing, page, [r[1] for r in newest_first])
        job = PageJob(file_of(page.url), "listing_page", (listing, page, [r[3] for r in newest_first]))
        self.ctx.emit_page(digest, f"list:{listing.url}", job, page.number)

    def _stream_pages(self, listing: Listing) -> None:
        """Every page of a listing, its items read once, oldest first."""
        size, url = self.size, listing.url
        numbered = numbered_pages(listing.count, size)
        if self.ctx.pool is not None and self.ctx.pool.reads_state:
            for page, digests in paged(self.ctx.state.listing_digests(url), url, numbered, size):
                self._emit_job(listing, page, digests)
        else:
            for page, rows in paged(self.ctx.state.listing_cards(url), url, numbered, size):
                self._emit_page(listing, page, rows)
        self.ctx.drop_owned(f"list:{url}", numbered + 1)

    def _emit_job(self, listing: Listing, page: Pager, rows: Sequence[tuple[str, str]]) -> None:
        """``_emit_page`` from the items' sort keys and digests: a worker reads the cards from the state."""
        if not rows:  # a listing whose items all fit its numbered pages: an empty front page
            self._emit_page(listing, page, [])
            return
        digest = listing_page_digest(self.ctx.site_digest, listing, page, [d for _, d in reversed(rows)])
        job = ListingJob(file_of(page.url), listing, page, rows[0][0], rows[-1][0])
        self.ctx.emit_listing_page(digest, f"list:{listing.url}", job, page.number)

    def _one_page(self, listing: Listing, number: int, numbered: int) -> None:
        """One page of a listing, its items read from their offset."""
        size = self.size
        offset, limit = ((number - 1) * size, size) if number else (numbered * size, -1)
        rows = list(self.ctx.state.listing_cards(listing.url, offset, limit))
        self._emit_page(listing, pager(listing.url, number, numbered), rows)

    def _feeds(self, listing: Listing, items_of: str | None = None) -> None:
        """A listing's RSS and Atom feeds (of the items of listing ``items_of``, if given)."""
        ctx = self.ctx
        newest = ctx.state.newest(items_of or listing.url, ctx.sizes.feed_size)
        digest = joined_digest(ctx.site_digest, "feed", listing.head, *(d for _, _, d in newest))
        owner = f"feed:{listing.url}"
        if ctx.pool is not None:  # a worker reads nothing: it gets the items as read here
            files = [(name, file_of(listing.url, name)) for name in FEED_FILES]
            stale = [(n, path) for n, path in files if ctx.fresh or ctx.state.file_digest(path) != digest]
            if stale:
                shown = self.items.shown([k for k, _, _ in newest], [u for _, u, _ in newest])
                ctx.send_feeds(FeedJob(listing, shown, stale))
            for _, path in files:
                ctx.record(FileRecord(path, digest, owner))
            return
        made: dict[str, bytes] = {}

        def make(name: str) -> bytes:
            if not made:
                views = self.items.views([k for k, _, _ in newest], [u for _, u, _ in newest])
                made.update(ctx.renderer.feeds(listing, views))
            return made[name]

        for name in FEED_FILES:
            ctx.emit(file_of(listing.url, name), digest, owner, partial(make, name))

    def _site_feeds(self) -> None:
        """The whole site's feeds (``/index.xml``, ``/atom.xml``), of the archive's items."""
        title = self.ctx.renderer.meta.title
        site = Listing(kind="site", title=title, url="/", description="", count=0, feeds=True, crumbs=())
        self._feeds(site, items_of=ARCHIVE_URL)

    def write_home(self) -> None:
        """The home page (the latest items, communities and busiest topics) and the term indexes."""
        ctx = self.ctx
        latest = ctx.state.newest(ARCHIVE_URL, self.size)
        sections = [(NavLink(r.title, r.url), r.count) for r in ctx.state.listings("section")]
        busiest = sorted(ctx.state.listings("topic"), key=lambda r: (-r.count, r.title))[:HOME_TOPICS]
        topics = [(NavLink(r.title, r.url), r.count) for r in busiest]
        digest = joined_digest(
            ctx.site_digest,
            "home",
            *(d for _, _, d in latest),
            _entries_text(sections),
            _entries_text(topics),
        )

        def make() -> bytes:
            views = self.items.views([k for k, _, _ in latest], [u for _, u, _ in latest])
            return ctx.renderer.page("site/home.html", items=views, sections=sections, topics=topics, url="/")

        ctx.emit("index.html", digest, "home", make)
        for kind, title, url in TERM_INDEXES:
            rows = sorted(ctx.state.listings(kind), key=lambda r: (r.title, r.url))
            entries = [(NavLink(r.title, r.url), r.count) for r in rows]
            digest = joined_digest(ctx.site_digest, "terms", kind, _entries_text(entries))
            ctx.emit(
                file_of(url),
                digest,
                "terms",
                partial(
                    ctx.renderer.page, "site/terms.html", kind=kind, title=title, entries=entries, url=url
                ),
            )


def paged(rows: Iterable[Row], url: str, numbered: int, size: int) -> Iterator[tuple[Pager, list[Row]]]:
    """A listing's rows (oldest first) cut into its pages: ``numbered`` pages of ``size``, then the front."""
    chunk: list[Row] = []
    number = 1
    for row in rows:
        chunk.append(row)
        if len(chunk) == size and number <= numbered:
            yield pager(url, number, numbered), chunk
            chunk, number = [], number + 1
    yield pager(url, 0, numbered), chunk


def _entries_text(entries: Iterable[tuple[NavLink, int]]) -> str:
    """Term entries as one line of text, for a digest."""
    return "\t".join(f"{link.label}\x1f{link.url}\x1f{count}" for link, count in entries).replace("\n", " ")


def listing_front_urls(rows: Iterable[ListingRow]) -> list[tuple[str, str]]:
    """The sitemap entries of listings: each listing's own URL and its newest item's date."""
    return [(page_url(row.url, 0), row.newest) for row in rows]
