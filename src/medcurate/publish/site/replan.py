"""Rebuild after a few items changed in place: plan only the pages that show them.

A full plan cleans or reads every item's view and plans every page: 23,000 pages for 10,000 items,
although one edited brief changes a dozen of them. So after each full plan the builder keeps the
plan's shape beside the view cache (``PlanState``): for every item, newest first, its fingerprint,
key, view digest and signature (what decides where and how it is listed: key, URL, dates, section,
topics, source, aliases, image), and every listing's members.

When a later build's items differ from that state only by items whose content changed while their
signature did not, every page keeps its place, and the pages whose inputs changed are exactly those
that show a changed item: its page and alias pages, the listing pages and feeds that list it, the
home page when it is among the latest, and its part of the search index. ``affected_pages`` plans
those with the same functions as a full plan, from views read out of the view cache, so they carry
the digests a full plan would give them (the tests compare both kinds of build file by file).
Anything else (an item added, removed or moved, another configuration or template, a file deleted
by hand, too many changes) takes the full plan.

The state is JSON and, like the view cache, only saves time: one that cannot be read, or that
another build left (its inputs are not the manifest's), is ignored.
"""

from __future__ import annotations

import hashlib
import os
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import orjson

from medcurate.errors import PublishError
from medcurate.publish.site.pages import (
    Listing,
    PageSpec,
    alias_digest,
    alias_page,
    feed_pages,
    file_of,
    home_page,
    item_page,
    listing_pages,
)
from medcurate.publish.site.views import DIGEST_SIZE, ItemView, NavLink

STATE_VERSION = 2
STATE_SUFFIX = ".plan.json"


def plan_state_path(view_cache: Path) -> Path:
    """Where the plan state of a site lives: beside its view cache."""
    return view_cache.with_name(view_cache.stem + STATE_SUFFIX)


def signature(view: ItemView) -> str:
    """A digest of everything that decides where and how an item is listed (not what it says)."""
    section = view.section
    image = view.image
    parts = [
        view.key,
        view.url,
        view.date_iso,
        view.published.isoformat() if view.published else "",
        section.key,
        section.name,
        section.url,
        section.description,
        view.brand,
        view.brand_url or "",
        "" if image is None else f"{image.src}\x1e{image.source_file or ''}",
        str(len(view.topics)),
        *(f"{topic.label}\x1e{topic.url or ''}" for topic in view.topics),
        *view.aliases,
    ]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=DIGEST_SIZE).hexdigest()


@dataclass(frozen=True)
class ListingShape:
    """A listing of the last plan: what it prints of itself, and the positions of its items."""

    kind: str
    title: str
    url: str
    description: str
    feeds: bool
    pages: bool  # paginated pages (every listing but the site's own feeds)
    crumbs: tuple[NavLink, ...]
    members: tuple[int, ...] | None  # None: every item, in order


@dataclass(frozen=True)
class PlanState:
    """The shape of the last full plan (see the module docstring)."""

    context: str  # the site's shared inputs (templates, configuration, options, static files)
    inputs: str  # the manifest's ``inputs`` of the build that left this state
    fingerprints: tuple[str, ...]
    keys: tuple[str, ...]
    digests: tuple[str, ...]
    signatures: tuple[str, ...]
    listings: tuple[ListingShape, ...]


def plan_state(
    context: str,
    inputs: str,
    views: Sequence[ItemView],
    fingerprints: Sequence[str],
    listings: Sequence[tuple[Listing, bool]],
) -> PlanState:
    """The state of a full plan of ``views`` (newest first), their fingerprints and its listings.

    ``listings`` pairs each listing with whether the plan paginates it.
    """
    position = {id(view): n for n, view in enumerate(views)}
    shapes = []
    for listing, pages in listings:
        every = listing.items is views or len(listing.items) == len(views)
        shapes.append(
            ListingShape(
                kind=listing.kind,
                title=listing.title,
                url=listing.url,
                description=listing.description,
                feeds=listing.feeds,
                pages=pages,
                crumbs=listing.crumbs,
                members=None if every else tuple(position[id(view)] for view in listing.items),
            )
        )
    return PlanState(
        context=context,
        inputs=inputs,
        fingerprints=tuple(fingerprints),
        keys=tuple(view.key for view in views),
        digests=tuple(view.digest for view in views),
        signatures=tuple(signature(view) for view in views),
        listings=tuple(shapes),
    )


def save_plan_state(path: Path, state: PlanState) -> bool:
    """Write the state (to a temporary file first); False when it cannot be written."""
    data = {
        "version": STATE_VERSION,
        "context": state.context,
        "inputs": state.inputs,
        # Columns, not rows: four lists of 10,000 strings encode and decode faster than 10,000 lists.
        "fingerprints": state.fingerprints,
        "keys": state.keys,
        "digests": state.digests,
        "signatures": state.signatures,
        "listings": [
            [
                s.kind,
                s.title,
                s.url,
                s.description,
                s.feeds,
                s.pages,
                [[c.label, c.url] for c in s.crumbs],
                s.members,
            ]
            for s in state.listings
        ],
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(orjson.dumps(data))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def load_plan_state(path: Path, context: str, inputs: str) -> PlanState | None:
    """The state saved for ``context`` by the build that recorded ``inputs``, or None."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return None
    if data.get("context") != context or data.get("inputs") != inputs or not inputs:
        return None
    try:
        columns = [tuple(data[name]) for name in ("fingerprints", "keys", "digests", "signatures")]
        if len({len(column) for column in columns}) != 1 or not all(
            type(value) is str for column in columns for value in column
        ):
            return None
        fingerprints, keys, digests, signatures = columns
        listings = tuple(
            ListingShape(
                kind=str(kind),
                title=str(title),
                url=str(url),
                description=str(description),
                feeds=bool(feeds),
                pages=bool(pages),
                crumbs=tuple(
                    NavLink(str(label), None if link is None else str(link)) for label, link in crumbs
                ),
                members=None if members is None else tuple(int(m) for m in members),
            )
            for kind, title, url, description, feeds, pages, crumbs, members in data["listings"]
        )
    except (KeyError, TypeError, ValueError):
        return None
    return PlanState(
        context=context,
        inputs=inputs,
        fingerprints=fingerprints,
        keys=keys,
        digests=digests,
        signatures=signatures,
        listings=listings,
    )


class NotReplannable(PublishError):
    """The change cannot be planned from the last plan's shape: plan in full.

    A ``PublishError`` because a template that reads more of a listing than the built-in ones may
    meet it while rendering; the message then says what to do.
    """

    def __str__(self) -> str:
        return f"{super().__str__()}; build again with --full"


class LazyViews(Sequence[ItemView]):
    """A listing's items by position, each view fetched only when a page needs it."""

    def __init__(self, positions: Sequence[int], view_at: Callable[[int], ItemView]) -> None:
        self._positions = positions
        self._view_at = view_at

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> ItemView: ...

    @overload
    def __getitem__(self, index: slice) -> list[ItemView]: ...

    def __getitem__(self, index: int | slice) -> ItemView | list[ItemView]:
        if isinstance(index, slice):
            return [self._view_at(position) for position in self._positions[index]]
        return self._view_at(self._positions[index])

    def __iter__(self) -> Iterator[ItemView]:
        return (self._view_at(position) for position in self._positions)


def match_changes(
    state: PlanState, fingerprints: Sequence[str], limit: int
) -> tuple[list[int], list[int]] | None:
    """The inputs whose fingerprint the state lacks, and the state positions left without an input.

    None when the inputs cannot be the state's items with at most ``limit`` of them changed in place:
    another count, repeated fingerprints, or too many changes.
    """
    if len(fingerprints) != len(state.fingerprints) or len(set(fingerprints)) != len(fingerprints):
        return None
    known = {fingerprint: n for n, fingerprint in enumerate(state.fingerprints)}
    changed_inputs = [n for n, fingerprint in enumerate(fingerprints) if fingerprint not in known]
    if not changed_inputs or len(changed_inputs) > limit:
        return None
    kept = {known[f] for f in fingerprints if f in known}
    vacated = [n for n in range(len(state.fingerprints)) if n not in kept]
    return changed_inputs, vacated


def place_changes(state: PlanState, vacated: Sequence[int], views: Sequence[ItemView]) -> dict[int, ItemView]:
    """Each changed item's view by the position its earlier version held; ``NotReplannable`` if one moved."""
    by_key = {state.keys[position]: position for position in vacated}
    placed: dict[int, ItemView] = {}
    for view in views:
        position = by_key.pop(view.key, None)
        if position is None or state.signatures[position] != signature(view):
            raise NotReplannable(f"{view.key} is new, moved or relisted")
        placed[position] = view
    if by_key:
        raise NotReplannable("an item was removed")
    return placed


def affected_pages(
    state: PlanState,
    changed: Mapping[int, ItemView],
    view_at: Callable[[int], ItemView],
    old_files: Mapping[str, str],
    *,
    site_digest: str,
    page_size: int,
    feed_size: int,
) -> list[PageSpec]:
    """The pages that show a changed item, planned as a full plan would (same order of kinds)."""
    total = len(state.keys)
    everyone = range(total)
    listings = []
    for shape in state.listings:
        positions: Sequence[int] = everyone if shape.members is None else shape.members
        listing = Listing(
            kind=shape.kind,
            title=shape.title,
            url=shape.url,
            items=LazyViews(positions, view_at),
            description=shape.description,
            feeds=shape.feeds,
            crumbs=shape.crumbs,
        )
        listings.append((shape, listing, positions))
    specs: list[PageSpec] = []
    if any(position < page_size for position in changed):
        sections = [listing for shape, listing, _ in listings if shape.kind == "section"]
        topics = [listing for shape, listing, _ in listings if shape.kind == "topic"]
        latest = [view_at(position) for position in range(min(page_size, total))]
        specs.append(home_page(latest, sections, topics, site_digest=site_digest))
    for position, view in sorted(changed.items()):
        specs.append(item_page(view, site_digest=site_digest))
        earlier = alias_digest(state.digests[position], site_digest=site_digest)
        # An alias page belongs to this item when the last build made it from this item's view.
        specs += [
            alias_page(view, alias, site_digest=site_digest)
            for alias in view.aliases
            if old_files.get(file_of(alias)) == earlier
        ]
    for shape, listing, positions in listings:
        ranks = [bisect_left(positions, position) for position in changed]
        ranks = [
            rank for rank, position in zip(ranks, changed, strict=True) if _holds(positions, rank, position)
        ]
        if not ranks:
            continue
        if shape.pages:
            numbers = {rank // page_size + 1 for rank in ranks}
            specs += listing_pages(listing, site_digest=site_digest, page_size=page_size, numbers=numbers)
        if shape.feeds and min(ranks) < feed_size:
            specs += feed_pages(listing, site_digest=site_digest, feed_size=feed_size)
    return specs


def _holds(positions: Sequence[int], rank: int, position: int) -> bool:
    return rank < len(positions) and positions[rank] == position


def updated_state(
    state: PlanState, inputs: str, fingerprints: Mapping[int, str], views: Mapping[int, ItemView]
) -> PlanState:
    """The state after the changed items (by position) took their new fingerprints and digests."""
    new_fingerprints = list(state.fingerprints)
    new_digests = list(state.digests)
    for position, view in views.items():
        new_fingerprints[position] = fingerprints[position]
        new_digests[position] = view.digest
    return PlanState(
        context=state.context,
        inputs=inputs,
        fingerprints=tuple(new_fingerprints),
        keys=state.keys,
        digests=tuple(new_digests),
        signatures=state.signatures,
        listings=state.listings,
    )
