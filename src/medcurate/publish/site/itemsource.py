"""What a site build reads its items from: a revision of each item first, its content on demand.

A rebuild after one change needs the content of that one item: the build compares revisions with
its state and reads content only for the items it makes pages of. A source that can tell what
changed since the last build (the store, by its ``updated_at`` index) spares the build even the
revisions of the unchanged items (``summary``, ``changes_since``). Revisions come in key order
(code point order, as SQLite and Python compare strings), so the build compares them with its
state in one pass, holding neither list. The store gives them
(``medcurate.publish.service.StoredItems``); a list of items in memory (``ListedItems``) computes
them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from medcurate.errors import PublishError
from medcurate.models import featured_image_href
from medcurate.publish.site.views import SiteItem, item_key

UrlFields = tuple[str | None, str | None, str | None]  # basePath, slug, mdName


class ItemsChanged(PublishError):
    """An item changed (or went) between reading its revision and reading its content: build again."""


@dataclass(frozen=True, slots=True)
class ItemRevision:
    """What a build knows of an item before it reads it.

    ``revision`` changes whenever the item's content does (``medcurate.models.content_revision``);
    ``featured_image`` is the stored image's file name, whose size and time the build checks.
    """

    key: str
    community: str | None
    revision: str
    featured_image: str | None


@runtime_checkable
class ItemSource(Protocol):
    """Items to publish: their revisions in key order, and the content of those a build asks for."""

    def revisions(self) -> Iterator[ItemRevision]:
        """Every item's revision, by key (code point order)."""
        ...

    def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
        """The items with these keys, each with its current revision, in that order.

        Raises ``ItemsChanged`` when one of them is no longer there.
        """
        ...

    def summary(self) -> tuple[str, int] | None:
        """A token that changes whenever any item may have, and how many items there are; None
        when the source cannot tell."""
        ...

    def changes_since(self, summary: str) -> tuple[list[ItemRevision], list[str]] | None:
        """The items that may have changed since ``summary`` was given: the revisions of those still
        published (by key) and the keys of those that are not; None when the source cannot tell."""
        ...

    def url_fields(self, keys: Sequence[str]) -> Mapping[str, UrlFields | None] | None:
        """The basePath, slug and mdName of these items as their validated front matter has them
        (``views.url_fields``), read without their content; an item's None when only validating it
        tells; None when the source reads whole items only."""
        ...

    def for_workers(self) -> ItemSource | None:
        """A copy of this source that worker processes read items from (it is pickled to them);
        None when they must be sent the items."""
        ...


def revision_of(site_item: SiteItem) -> ItemRevision:
    """The revision of an item in memory."""
    return ItemRevision(
        key=item_key(site_item),
        community=site_item.community,
        revision=site_item.item.revision,
        featured_image=featured_image_href(site_item.item.front_matter),
    )


class ListedItems:
    """Items already in memory; of two with one key, the first in the list is published."""

    def __init__(self, items: Sequence[SiteItem]) -> None:
        listed = [(revision_of(site_item), site_item) for site_item in items]
        listed.sort(key=lambda pair: pair[0].key)  # stable: the first of a key stays first
        self._listed = listed
        self._by_key: dict[str, tuple[SiteItem, ItemRevision]] = {}
        for revision, site_item in reversed(listed):
            self._by_key[revision.key] = (site_item, revision)

    def revisions(self) -> Iterator[ItemRevision]:
        """Every item's revision, by key."""
        return (revision for revision, _ in self._listed)

    def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
        """The items with these keys."""
        try:
            return [self._by_key[key] for key in keys]
        except KeyError as exc:
            raise ItemsChanged(f"item {exc.args[0]} is not in the list") from None

    def summary(self) -> None:
        """Nothing to tell: a list is compared item by item."""
        return None

    def changes_since(self, summary: str) -> None:
        """Nothing to tell: a list is compared item by item."""
        return None

    def url_fields(self, keys: Sequence[str]) -> None:
        """Nothing to tell: the items are at hand."""
        return None

    def for_workers(self) -> None:
        """Workers are sent the items."""
        return None
