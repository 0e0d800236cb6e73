"""Plan every output of the site as a ``PageSpec``: where it goes, which template, what it shows.

Planning renders nothing. Each spec carries a digest of its inputs (the site digest, the template,
the digests of the items it shows, its pager), so the builder can skip any page whose digest the
manifest already records, without rendering it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from medcurate.publish.site.views import DIGEST_SIZE, ItemView, NavLink, Section, digest_of

INDEX = "index.html"
HOME_TOPICS = 12  # topics the home page lists, the busiest first


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One output file: its path below the site root, its template and context, its input digest."""

    path: str
    template: str
    context: Mapping[str, Any]
    digest: str
    sitemap: bool = False
    lastmod: str = ""


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a listing page sits among its pages."""

    number: int
    count: int
    prev_url: str | None
    next_url: str | None
    first_url: str


@dataclass(frozen=True, slots=True)
class Listing:
    """A set of items shown as a paginated list with feeds (a section, a topic, a brand, everything)."""

    kind: str
    title: str
    url: str
    items: Sequence[ItemView]
    description: str = ""
    feeds: bool = False
    crumbs: tuple[NavLink, ...] = field(default_factory=tuple)


def page_url(base: str, number: int) -> str:
    """The URL of page ``number`` of a listing (``/news/``, ``/news/page/2/``)."""
    return base if number == 1 else f"{base}page/{number}/"


def file_of(url: str, name: str = INDEX) -> str:
    """The output path of a site URL (``/news/x/`` -> ``news/x/index.html``)."""
    stripped = url.strip("/")
    return f"{stripped}/{name}" if stripped else name


def listing_pages(
    listing: Listing, *, site_digest: str, page_size: int, numbers: AbstractSet[int] | None = None
) -> Iterator[PageSpec]:
    """The paginated pages of a listing (only pages ``numbers``, counted from 1, when given)."""
    items = listing.items
    count = max(1, -(-len(items) // page_size))
    # What every page of the listing shares is hashed once (the item count too: every page prints it);
    # each page adds its number and its items.
    head = digest_of(
        site_digest, "list", listing.kind, listing.title, listing.description, listing.crumbs, len(items)
    )
    for number in range(1, count + 1) if numbers is None else sorted(n for n in numbers if n <= count):
        chunk = items[(number - 1) * page_size : number * page_size]
        pager = Pager(
            number=number,
            count=count,
            prev_url=page_url(listing.url, number - 1) if number > 1 else None,
            next_url=page_url(listing.url, number + 1) if number < count else None,
            first_url=listing.url,
        )
        url = page_url(listing.url, number)
        yield PageSpec(
            path=file_of(url),
            template="site/list.html",
            context={"listing": listing, "items": chunk, "pager": pager, "url": url},
            digest=joined_digest(head, f"{number}/{count}", *(v.digest for v in chunk)),
            sitemap=number == 1,
            lastmod=max((v.date_iso for v in chunk), default=""),
        )


def joined_digest(*parts: str) -> str:
    """A digest of strings that contain no newline (digests, numbers): cheaper than ``digest_of``."""
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=DIGEST_SIZE).hexdigest()


def feed_pages(listing: Listing, *, site_digest: str, feed_size: int) -> Iterator[PageSpec]:
    """RSS 2.0 and Atom feeds of a listing's newest items; dated by the newest item, never by now."""
    chunk = listing.items[:feed_size]
    updated = max((v.published for v in chunk if v.published is not None), default=None)
    for name, template in (("index.xml", "site/rss.xml"), ("atom.xml", "site/atom.xml")):
        yield PageSpec(
            path=file_of(listing.url, name),
            template=template,
            context={"listing": listing, "items": chunk, "updated": updated, "self_url": listing.url + name},
            digest=digest_of(
                site_digest, template, listing.title, listing.description, tuple(v.digest for v in chunk)
            ),
        )


def item_page(view: ItemView, *, site_digest: str) -> PageSpec:
    """The page of one item."""
    url = view.url
    return PageSpec(
        # file_of, inlined: a view's URL is always a directory path (``/news/x/``).
        path=f"{url[1:]}{INDEX}" if url.startswith("/") and url.endswith("/") else file_of(url),
        template="site/item.html",
        context={"item": view, "url": url},
        digest=f"{site_digest}:{view.digest}",  # joined, not re-hashed: 10,000 hashes cost 0.1 s
        sitemap=True,
        lastmod=view.date_iso,
    )


def alias_digest(view_digest: str, *, site_digest: str) -> str:
    """The input digest of an alias page of the item whose view has ``view_digest``."""
    return f"{site_digest}:alias:{view_digest}"


def alias_page(view: ItemView, alias: str, *, site_digest: str) -> PageSpec:
    """A page at one of the item's former addresses that sends readers to the item's page."""
    return PageSpec(
        path=file_of(alias),
        template="site/alias.html",
        context={"target": view.url, "title": view.title, "url": alias},
        digest=alias_digest(view.digest, site_digest=site_digest),
    )


def item_pages(views: Sequence[ItemView], *, site_digest: str) -> Iterator[PageSpec]:
    """One page per item, then one redirecting page per alias that no real page occupies."""
    taken = {v.url for v in views}
    for view in views:
        yield item_page(view, site_digest=site_digest)
    for view in views:
        for alias in view.aliases:
            if alias in taken:
                continue
            taken.add(alias)
            yield alias_page(view, alias, site_digest=site_digest)


def home_page(
    latest: Sequence[ItemView], sections: Sequence[Listing], topics: Sequence[Listing], *, site_digest: str
) -> PageSpec:
    """The home page: the latest items, the communities and the busiest topics with their counts."""
    topic_counts = sorted(((len(t.items), t.title, t.url) for t in topics), key=lambda x: (-x[0], x[1]))
    home_topics = [(NavLink(title, url), count) for count, title, url in topic_counts[:HOME_TOPICS]]
    home_sections = [(NavLink(s.title, s.url), len(s.items)) for s in sections]
    return PageSpec(
        path=INDEX,
        template="site/home.html",
        context={"items": latest, "sections": home_sections, "topics": home_topics, "url": "/"},
        digest=digest_of(site_digest, "home", [v.digest for v in latest], home_sections, home_topics),
        sitemap=True,
        lastmod=latest[0].date_iso if latest else "",
    )


def site_listings(views: Sequence[ItemView], site_title: str) -> tuple[Listing, Listing]:
    """The whole site's feeds (``/index.xml``, ``/atom.xml``) and the paginated archive of every item."""
    everything = Listing(kind="site", title=site_title, url="/", items=views, feeds=True)
    archive = Listing(
        kind="archive",
        title="All news",
        url="/archive/",
        items=views,
        description="Every curated item, newest first.",
        crumbs=(NavLink("Home", "/"),),
    )
    return everything, archive


def term_index(
    kind: str, title: str, url: str, entries: Sequence[tuple[NavLink, int]], *, site_digest: str
) -> PageSpec:
    """An index page of topics, sources or sections, each with its item count."""
    return PageSpec(
        path=file_of(url),
        template="site/terms.html",
        context={"kind": kind, "title": title, "entries": entries, "url": url},
        digest=digest_of(site_digest, "terms", kind, title, tuple(entries)),
        sitemap=True,
    )


def group_listings(views: Sequence[ItemView]) -> tuple[list[Listing], list[Listing], list[Listing]]:
    """The section, topic and brand listings of newest-first views (each keeps that order)."""
    sections: dict[str, tuple[Section, list[ItemView]]] = {}
    topics: dict[str, tuple[str, list[ItemView]]] = {}
    brands: dict[str, tuple[str, list[ItemView]]] = {}
    topic_labels: dict[str, dict[str, int]] = {}
    # get-then-insert rather than setdefault: setdefault would build a new tuple or dict per call.
    for view in views:
        section = sections.get(view.section.url)
        if section is None:
            section = sections[view.section.url] = (view.section, [])
        section[1].append(view)
        for topic in view.topics:
            url = topic.url or ""
            entry = topics.get(url)
            if entry is None:
                entry = topics[url] = (topic.label, [])
                topic_labels[url] = {}
            entry[1].append(view)
            labels = topic_labels[url]
            labels[topic.label] = labels.get(topic.label, 0) + 1
        if view.brand and view.brand_url:
            brand = brands.get(view.brand_url)
            if brand is None:
                brand = brands[view.brand_url] = (view.brand, [])
            brand[1].append(view)
    home = NavLink("Home", "/")
    section_listings = [
        Listing(
            kind="section",
            title=section.name,
            url=url,
            items=items,
            description=section.description,
            feeds=True,
            crumbs=(home, NavLink("Communities", "/communities/")),
        )
        for url, (section, items) in sorted(sections.items())
    ]
    topic_listings = [
        Listing(
            kind="topic",
            # The spelling most items use names the topic: labels differ only in case and spacing.
            title=Counter(topic_labels[url]).most_common(1)[0][0],
            url=url,
            items=items,
            feeds=True,
            crumbs=(home, NavLink("Topics", "/topic/")),
        )
        for url, (_label, items) in sorted(topics.items())
    ]
    brand_listings = [
        Listing(
            kind="source",
            title=label,
            url=url,
            items=items,
            description=f"Items curated from {label}.",
            crumbs=(home, NavLink("Sources", "/source/")),
        )
        for url, (label, items) in sorted(brands.items())
    ]
    return section_listings, topic_listings, brand_listings
