"""What pages the site has, where each goes and what each depends on: pure functions, no I/O.

Three layouts keep a build's work proportional to a change:

* **Stable pagination.** A listing's numbered pages count from its oldest item: page 1 holds the
  ``size`` oldest, page 2 the next ``size``... and the listing's own URL (its front page) holds
  the newest 1 to ``size`` items, the ones that fill no whole page yet. A new item changes the
  front page, and at most the newest numbered page and the one before it, never every page.
* **Buckets.** Each item has a 32-bit hash bucket of its key. The search index and the sitemap are
  cut into a power of two of parts by the top bits of the bucket, as many as keep a part under its
  size (``parts_for``): a change rewrites its item's part, and a part's items are one index range.
* **Digests.** Every output is compared with the last build by a digest of its inputs (the site's
  shared digest, the view digests of the items it shows, its place among its pages), so a page
  whose digest holds is neither rendered nor written.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from medcurate.publish.site.views import DIGEST_SIZE, NavLink

INDEX = "index.html"
SORT_SEPARATOR = "\t"  # between an item's date and its key in its sort key: below every printable character
BUCKET_BITS = 32
HOME = NavLink("Home", "/")
# Listing kinds: crumbs above the listing's title, and whether it has feeds.
LISTING_CRUMBS = {
    "archive": (HOME,),
    "section": (HOME, NavLink("Communities", "/communities/")),
    "topic": (HOME, NavLink("Topics", "/topic/")),
    "source": (HOME, NavLink("Sources", "/source/")),
}
FEED_KINDS = frozenset({"section", "topic"})  # and the whole site's, from the archive's items
ARCHIVE_URL = "/archive/"
ARCHIVE_TITLE = "All news"
ARCHIVE_DESCRIPTION = "Every curated item, newest first."


def joined_digest(*parts: str) -> str:
    """A digest of strings that hold no newline (digests, numbers, URLs)."""
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=DIGEST_SIZE).hexdigest()


def file_of(url: str, name: str = INDEX) -> str:
    """The output path of a site URL (``/news/x/`` -> ``news/x/index.html``)."""
    stripped = url.strip("/")
    return f"{stripped}/{name}" if stripped else name


def listing_sort_key(date_iso: str, key: str) -> str:
    """An item's place in every listing: by date, then by key (the greatest is the newest)."""
    return f"{date_iso}{SORT_SEPARATOR}{key}"


def bucket_of(key: str) -> int:
    """An item's hash bucket: which search index part and sitemap part hold it."""
    return zlib.crc32(key.encode("utf-8"))


def parts_for(items: int, per_part: int) -> int:
    """The bits of the bucket that number the parts: the fewest that keep parts under ``per_part``."""
    bits = 0
    while items > per_part << bits and bits < 16:
        bits += 1
    return bits


def part_of(bucket: int, bits: int) -> int:
    """The part of a bucket, among ``2 ** bits`` parts."""
    return bucket >> (BUCKET_BITS - bits) if bits else 0


def part_range(number: int, bits: int) -> tuple[int, int]:
    """The buckets of part ``number``: [low, high)."""
    width = 1 << (BUCKET_BITS - bits)
    return number * width, (number + 1) * width


@dataclass(frozen=True, slots=True)
class Listing:
    """A paginated list of items (a community, a topic, a source, the archive), as its pages show it."""

    kind: str
    title: str
    url: str
    description: str
    count: int
    feeds: bool
    crumbs: tuple[NavLink, ...]

    @property
    def head(self) -> str:
        """The digest of what every page of the listing shows about the listing itself."""
        crumbs = ",".join(f"{c.label}>{c.url}" for c in self.crumbs)
        return joined_digest(
            self.kind, self.title.replace("\n", " "), self.description.replace("\n", " "), crumbs
        )


def make_listing(kind: str, url: str, title: str, description: str, count: int) -> Listing:
    """A listing of ``kind`` with its crumbs and feeds."""
    if kind == "archive":
        title, description = ARCHIVE_TITLE, ARCHIVE_DESCRIPTION
    if kind == "source" and not description:
        description = f"Items curated from {title}."
    return Listing(
        kind=kind,
        title=title,
        url=url,
        description=description,
        count=count,
        feeds=kind in FEED_KINDS,
        crumbs=LISTING_CRUMBS.get(kind, (HOME,)),
    )


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a listing page sits: ``number`` 0 is the front page (the newest items)."""

    number: int
    numbered: int  # how many numbered pages the listing has
    url: str
    older_url: str | None
    newer_url: str | None


def numbered_pages(count: int, size: int) -> int:
    """How many full numbered pages a listing of ``count`` items has (the rest is its front page)."""
    return max(0, (count - 1) // size)


def page_url(base: str, number: int) -> str:
    """The URL of page ``number`` of a listing (0: the listing's own URL)."""
    return base if number == 0 else f"{base}page/{number}/"


def pager(base: str, number: int, numbered: int) -> Pager:
    """The pager of page ``number`` (0: front) of a listing with ``numbered`` numbered pages."""
    if number == 0:
        older = page_url(base, numbered) if numbered else None
        return Pager(0, numbered, base, older, None)
    older = page_url(base, number - 1) if number > 1 else None
    newer = page_url(base, number + 1) if number < numbered else base
    return Pager(number, numbered, page_url(base, number), older, newer)


def page_of_rank(rank: int, numbered: int, size: int) -> int:
    """The page that holds the item at ``rank`` (0: the oldest) of a listing."""
    return rank // size + 1 if rank < numbered * size else 0


def pages_reached(first_rank: int, last_rank: int, *, before: int, after: int, size: int) -> list[int]:
    """The pages (0: front) a change of the items between ranks ``first_rank`` and ``last_rank`` may alter.

    ``before`` and ``after`` are the listing's sizes around the change. Numbered page ``n`` always
    holds ranks ``[(n - 1) * size, n * size)``, so the items below ``first_rank`` kept their pages;
    when the size held, so did the items above ``last_rank``. Pages whose digest did not change are
    skipped later, so this may name more pages than changed, never fewer.
    """
    old_numbered, new_numbered = numbered_pages(before, size), numbered_pages(after, size)
    start = first_rank // size + 1
    if before != after:
        if old_numbered != new_numbered:
            # Pages came or went above the fewer numbered pages, whose newest one's "newer" link moved.
            start = min(start, max(1, min(old_numbered, new_numbered)))
        return [*range(start, new_numbered + 1), 0]
    end = last_rank // size + 1
    pages = list(range(start, min(end, new_numbered) + 1))
    return [*pages, 0] if end > new_numbered else pages


def listing_page_digest(site_digest: str, listing: Listing, page: Pager, digests: list[str]) -> str:
    """The input digest of one listing page: its listing, its place and its items."""
    size = str(listing.count) if page.number == 0 else ""  # only the front page prints the size
    return joined_digest(
        site_digest,
        listing.head,
        str(page.number),
        size,
        page.older_url or "",
        page.newer_url or "",
        *digests,
    )
