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

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from medcurate.publish.site.context import BuildContext
from medcurate.publish.site.itemsource import ItemRevision, ItemsChanged
from medcurate.publish.site.makeitems import ItemInputs, ItemMaker, MadeItems, fingerprint
from medcurate.publish.site.parallel import ItemUnit, PagePool, UnitResult, portable
from medcurate.publish.site.plan import bucket_of, file_of
from medcurate.publish.site.state import KeptItem, Member
from medcurate.publish.site.views import ItemView, SiteItem, claimed_url, digest_of, names_item

BATCH = 500  # items read, made and recorded at a time (a worker's unit)
IN_FLIGHT = 2  # units sent per worker before the first result is recorded


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
        self.inputs = ItemInputs(
            config=ctx.config,
            images=ctx.images,
            site_digest=ctx.site_digest,
            search_text_chars=ctx.sizes.search_text_chars,
        )
        self.maker = ItemMaker(self.inputs, ctx.renderer, ctx)

    def claim(self, site_item: SiteItem) -> str:
        """The URL the item asks for."""
        return self.maker.claim(site_item)

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
        made = self.maker.make(entries)
        self._keep(made)
        return made.members

    def _keep(self, made: MadeItems) -> None:
        self.ctx.state.put_items(made.rows, made.members, made.aliases)

    def view(self, site_item: SiteItem, url: str, print_: str) -> ItemView:
        """The item's view at ``url``."""
        return self.maker.view(site_item, url, print_)

    def views(self, keys: Sequence[str], urls: Sequence[str]) -> list[ItemView]:
        """The views of stored items at their recorded URLs (for feeds and the home page)."""
        return [self.view(*entry) for entry in self.shown(keys, urls)]

    def shown(self, keys: Sequence[str], urls: Sequence[str]) -> list[tuple[SiteItem, str, str]]:
        """Stored items as read, each with its recorded URL and its fingerprint (what a view needs)."""
        images = self.ctx.images
        loaded = self.ctx.source.load(keys)
        return [
            (portable(site_item), url, fingerprint(revision, images))
            for (site_item, revision), url in zip(loaded, urls, strict=True)
        ]

    def publish_all(self, revisions: Iterable[ItemRevision], pool: PagePool | None = None) -> int:
        """Write every item's pages (a full build), in key order; how many items there are.

        With ``pool``, workers make the pages of each batch; its results are kept in key order.
        """
        count = 0
        in_flight: deque[tuple[Future[UnitResult], list[str]]] = deque()
        sent: set[str] = set()  # the URLs of the units in flight, not yet in the state
        for batch in self._batches(revisions):
            items: list[SiteItem] | None = None  # None: the workers read the items themselves
            if pool is not None and pool.reads_items:
                prints, claims = self._claims(batch)
            else:
                loaded = self._load(batch)
                items, prints = [site_item for site_item, _ in loaded], [print_ for _, print_ in loaded]
                claims = [self.claim(site_item) for site_item in items]
            taken = self.ctx.state.taken_urls(claims) | sent.intersection(claims)
            urls = []
            for claim, revision in zip(claims, batch, strict=True):
                url = suffixed(claim, revision.key) if claim in taken else claim
                taken.add(url)
                urls.append(url)
            count += len(urls)
            if pool is None:
                assert items is not None
                self._publish(list(zip(items, prints, claims, urls, strict=True)))
                continue
            unit = self._unit([r.key for r in batch], items, prints, claims, urls)
            in_flight.append((pool.submit_unit(unit), urls))
            sent.update(urls)
            while len(in_flight) > pool.workers * IN_FLIGHT:
                self._keep_unit(*in_flight.popleft(), sent)
        while in_flight:
            self._keep_unit(*in_flight.popleft(), sent)
        return count

    def _batches(self, revisions: Iterable[ItemRevision]) -> Iterator[list[ItemRevision]]:
        """The revisions in batches of ``BATCH``, each key once."""
        batch: list[ItemRevision] = []
        previous: str | None = None
        for revision in revisions:
            if revision.key == previous:
                self.ctx.warnings.append(f"item {revision.key!r} appears twice; publishing the first")
                continue
            previous = revision.key
            batch.append(revision)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _claims(self, batch: Sequence[ItemRevision]) -> tuple[list[str], list[str]]:
        """The fingerprints and claimed URLs of a batch, from the source's URL fields: only the
        items whose fields do not tell are read whole."""
        fields = self.ctx.source.url_fields([r.key for r in batch]) or {}
        whole = [r for r in batch if not names_item(fields.get(r.key))]
        loaded = {r.key: pair for r, pair in zip(whole, self._load(whole), strict=True)}
        prints, claims = [], []
        for revision in batch:
            if revision.key in loaded:
                site_item, print_ = loaded[revision.key]
                prints.append(print_)
                claims.append(self.claim(site_item))
            else:
                prints.append(fingerprint(revision, self.ctx.images))
                claims.append(claimed_url(fields[revision.key] or (None, None, None), revision.key))
        return prints, claims

    def _unit(
        self,
        keys: list[str],
        items: Sequence[SiteItem] | None,
        prints: list[str],
        claims: list[str],
        urls: list[str],
    ) -> ItemUnit:
        """A worker's unit, with the last build's digests of its pages (the items only if given)."""
        previous: dict[str, str] = {}
        if not self.ctx.fresh:
            for url in urls:
                digest = self.ctx.state.file_digest(file_of(url))
                if digest is not None:
                    previous[file_of(url)] = digest
        sent = None if items is None else [portable(site_item) for site_item in items]
        return ItemUnit(keys=keys, items=sent, prints=prints, claims=claims, urls=urls, previous=previous)

    def _keep_unit(self, future: Future[UnitResult], urls: list[str], sent: set[str]) -> None:
        """Record a unit's result: its items in the state, its files, its images copied."""
        result = future.result()
        self._keep(result.made)
        ctx = self.ctx
        for record in result.files:
            ctx.record(record)
        for path, digest, owner, source in result.copies:
            ctx.copy(path, digest, owner, source)
        ctx.writer.written += result.written
        sent.difference_update(urls)

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
