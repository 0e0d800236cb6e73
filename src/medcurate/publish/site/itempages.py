"""Item pages: each item's view made, its page and image written, its compact row kept in the state.

Items come in batches (``BATCH`` at a time, read from the source as they are needed) and leave
nothing behind but their rows in the state: its URL, view digest, sort key, listing card and search
row, which listings hold it and which aliases it names. A full build runs every item through
``ItemPages.publish_all`` in key order; an incremental one only the changed items
(``ItemPages.publish_changed``), and reports what they reached (``Reach``) for the later stages.

An item's URL is ``/<basePath>/<slug>/`` (its ``claim``); of the items that claim one URL the
first in key order gets it and every other gets the head of its key's digest appended, so the
outcome never depends on what changed when.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from medcurate.publish.site.context import BuildContext
from medcurate.publish.site.index import search_row
from medcurate.publish.site.itemsource import ItemRevision, ItemsChanged
from medcurate.publish.site.plan import ARCHIVE_TITLE, ARCHIVE_URL, bucket_of, file_of, listing_sort_key
from medcurate.publish.site.state import KeptItem, Member
from medcurate.publish.site.views import (
    ItemView,
    Section,
    SiteItem,
    digest_of,
    item_section_dir,
    item_slug,
    make_view,
    resolve_section,
    url_path,
)

BATCH = 500  # items read, made and recorded at a time
FIXED_PAGES = frozenset({"/", "/communities/", "/topic/", "/source/", "/search/", "/archive/"})


def fingerprint(revision: ItemRevision, images: Mapping[str, str]) -> str:
    """Everything an item's pages are made from, but the site's shared inputs (its stored image too)."""
    name = revision.featured_image
    stored = images.get(name) if name is not None else None
    stamp = ""
    if stored is not None:
        try:  # the file's size and time too: an image replaced under the same name is copied again
            stat = os.stat(stored)
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            stamp = "gone"
    return f"{revision.revision}|{revision.community or ''}|{stamp}"


def suffixed(claim: str, key: str) -> str:
    """The URL of an item whose claimed URL an item earlier in key order holds."""
    return f"{claim.rstrip('/')}-{digest_of(key)[:8]}/"


@dataclass
class Reach:
    """What an incremental change reached: listings (with the sort keys that moved), buckets, paths."""

    listings: dict[str, set[str]] = field(default_factory=dict)
    buckets: set[int] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)  # alias paths and item URLs, old and new
    items: int = 0

    def add_members(self, members: Iterable[Member]) -> None:
        """Note the listing places of changed items, before or after the change."""
        for member in members:
            self.listings.setdefault(member.listing, set()).add(member.sort)


class ItemPages:
    """Makes items' views and writes their pages, through one build's context."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        config = ctx.config
        self._known = FIXED_PAGES | {url_path(*c.base_path.split("/")) for c in config.communities}
        self._sections: dict[tuple[object, ...], tuple[Section, tuple[str, ...], frozenset[str]]] = {}

    def _section(self, site_item: SiteItem) -> tuple[Section, tuple[str, ...], frozenset[str]]:
        """The item's section, its directory and the pages its breadcrumbs may link to (memoised)."""
        item = site_item.item
        directory = item_section_dir(item)
        fields = item.fields
        key = (site_item.community, fields.base_path, fields.identifier, fields.mast_head, directory)
        found = self._sections.get(key)
        if found is None:
            section = resolve_section(site_item, self.ctx.config, directory)
            found = self._sections[key] = (section, directory, self._known | {section.url})
        return found

    def claim(self, site_item: SiteItem) -> str:
        """The URL the item asks for."""
        return url_path(*self._section(site_item)[1], item_slug(site_item))

    def _load(self, revisions: Sequence[ItemRevision]) -> list[tuple[SiteItem, str]]:
        """The items of ``revisions`` with their fingerprints; ``ItemsChanged`` if one changed since."""
        images = self.ctx.images
        loaded = self.ctx.source.load([r.key for r in revisions])
        for wanted, (_, found) in zip(revisions, loaded, strict=True):
            if fingerprint(found, images) != fingerprint(wanted, images):
                raise ItemsChanged(f"item {wanted.key} changed while the site was being built")
        return [(site_item, fingerprint(found, images)) for site_item, found in loaded]

    def _publish(self, entries: Sequence[tuple[SiteItem, str, str, str]]) -> list[Member]:
        """Make and write the pages of (item, fingerprint, claim, URL) entries; their places in listings."""
        ctx = self.ctx
        renderer, site_digest = ctx.renderer, ctx.site_digest
        rows: list[KeptItem] = []
        members: list[Member] = []
        aliases: list[tuple[str, str]] = []
        for site_item, print_, claim, url in entries:
            view = self.view(site_item, url, print_)
            owner = f"item:{view.key}"
            ctx.emit(file_of(url), f"{site_digest}:{view.digest}", owner, partial(renderer.item_page, view))
            image = view.image
            if image is not None and image.source_file is not None:
                with_stat = f"{print_}:{image.source_file}"
                ctx.copy(image.src.lstrip("/"), digest_of(with_stat), owner, image.source_file)
            sort = listing_sort_key(view.date_iso, view.key)
            rows.append(
                KeptItem(
                    key=view.key,
                    fingerprint=print_,
                    claim=claim,
                    url=url,
                    title=view.title,
                    digest=view.digest,
                    sort=sort,
                    lastmod=view.date_iso,
                    bucket=bucket_of(view.key),
                    card=renderer.card(view),
                    search=search_row(view, text_chars=ctx.sizes.search_text_chars),
                )
            )
            members += _members(view, sort)
            aliases += [(alias, view.key) for alias in view.aliases]
        ctx.state.put_items(rows, members, aliases)
        return members

    def view(self, site_item: SiteItem, url: str, print_: str) -> ItemView:
        """The item's view at ``url``."""
        section, _directory, known = self._section(site_item)
        return make_view(
            site_item,
            url=url,
            section=section,
            config=self.ctx.config,
            images=self.ctx.images,
            known_pages=known,
            source_digest=f"{site_item.key}|{print_}",
        )

    def views(self, keys: Sequence[str], urls: Sequence[str]) -> list[ItemView]:
        """The views of stored items at their recorded URLs (for feeds and the home page)."""
        images = self.ctx.images
        loaded = self.ctx.source.load(keys)
        return [
            self.view(site_item, url, fingerprint(revision, images))
            for (site_item, revision), url in zip(loaded, urls, strict=True)
        ]

    def publish_all(self, revisions: Iterable[ItemRevision]) -> int:
        """Write every item's pages (a full build), in key order; how many items there are."""
        count = 0
        batch: list[ItemRevision] = []
        previous: str | None = None
        for revision in revisions:
            if revision.key == previous:
                self.ctx.warnings.append(f"item {revision.key!r} appears twice; publishing the first")
                continue
            previous = revision.key
            batch.append(revision)
            if len(batch) == BATCH:
                count += self._publish_batch(batch)
                batch = []
        return count + (self._publish_batch(batch) if batch else 0)

    def _publish_batch(self, revisions: Sequence[ItemRevision]) -> int:
        loaded = self._load(revisions)
        claims = [self.claim(site_item) for site_item, _ in loaded]
        taken = self.ctx.state.taken_urls(claims)
        entries = []
        for (site_item, print_), claim, revision in zip(loaded, claims, revisions, strict=True):
            url = suffixed(claim, revision.key) if claim in taken else claim
            taken.add(url)
            entries.append((site_item, print_, claim, url))
        self._publish(entries)
        return len(entries)

    def publish_changed(self, changed: Sequence[ItemRevision], removed: Sequence[str]) -> Reach:
        """Write the pages of changed items, forget removed ones; what that reached."""
        ctx, state = self.ctx, self.ctx.state
        reach = Reach()
        loaded = {r.key: pair for r, pair in zip(changed, self._load(changed), strict=True)}
        claims = {key: self.claim(site_item) for key, (site_item, _) in loaded.items()}
        old = state.items([*loaded, *removed])
        claimed = set(claims.values()) | {row.claim for row in old.values()}
        self._note_old(reach, [*loaded, *removed], old)
        state.delete_items(removed)
        for key in removed:
            ctx.drop_owned(f"item:{key}")
        urls, remade = self._assign(claimed, claims)
        if remade:  # items that gained or lost a URL another item claims: made again
            again = state.items(remade)
            revisions = [ItemRevision(k, None, "", None) for k in remade]
            for revision, (site_item, print_) in zip(revisions, self.ctx.source.load(remade), strict=True):
                if fingerprint(print_, ctx.images) != again[revision.key].fingerprint:
                    raise ItemsChanged(f"item {revision.key} changed while the site was being built")
                loaded[revision.key] = (site_item, again[revision.key].fingerprint)
                claims[revision.key] = again[revision.key].claim
            self._note_old(reach, remade, again)
            old.update(again)
        entries = [(item, print_, claims[key], urls[key]) for key, (item, print_) in sorted(loaded.items())]
        reach.add_members(self._publish(entries))
        for key, (_, _, _, url) in zip(sorted(loaded), entries, strict=True):
            reach.paths.add(url)
            reach.buckets.add(bucket_of(key))
            if key in old and old[key].url != url:
                ctx.drop_owned(f"item:{key}", keep=frozenset({file_of(url)}))
        reach.paths |= state.alias_paths(sorted(loaded))
        reach.items = len(loaded)
        return reach

    def _note_old(self, reach: Reach, keys: Sequence[str], old: Mapping[str, KeptItem]) -> None:
        """Note what changed items reached before the change: their listings, buckets, URLs, aliases."""
        reach.add_members(self.ctx.state.memberships(keys))
        reach.paths |= self.ctx.state.alias_paths(keys)
        for row in old.values():
            reach.buckets.add(row.bucket)
            reach.paths.add(row.url)

    def _assign(self, claimed: Iterable[str], claims: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """The URL of every changed item, and the unchanged items whose URL must change too."""
        urls: dict[str, str] = {}
        remade: list[str] = []
        for claim in sorted(claimed):
            holders = {k: u for k, u in self.ctx.state.claimants(claim) if k not in claims}
            holders.update({k: "" for k, c in claims.items() if c == claim})
            for position, key in enumerate(sorted(holders)):
                url = claim if position == 0 else suffixed(claim, key)
                if key in claims:
                    urls[key] = url
                elif holders[key] != url:
                    urls[key] = url
                    remade.append(key)
        return urls, remade


def _members(view: ItemView, sort: str) -> list[Member]:
    """The listings an item appears on: the archive, its community, each topic, its source."""
    key = view.key
    section = view.section
    members = [
        Member(ARCHIVE_URL, sort, key, "archive", ARCHIVE_TITLE),
        Member(section.url, sort, key, "section", section.name, section.description),
    ]
    members += [Member(t.url or "", sort, key, "topic", t.label) for t in view.topics]
    if view.brand and view.brand_url:
        members.append(Member(view.brand_url, sort, key, "source", view.brand))
    return members
