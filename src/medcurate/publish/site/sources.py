"""What a site build reads its items from: a revision of each item first, its content on demand.

A rebuild after one change needs the content of that one item and the revision of every other: the
build fingerprints items by revision, and reads content only for the items it makes views of (all
of them in a full plan, the changed ones in a partial plan). The store keeps each item's revision
beside it (``medcurate.store``), so reading 10,000 revisions is one narrow query; a list of items in
memory (``ListedItems``) computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from medcurate.errors import PublishError
from medcurate.models import featured_image_href
from medcurate.publish.site.views import SiteItem


class ItemsChanged(PublishError):
    """An item's content changed between reading its revision and reading its content: build again."""


@dataclass(frozen=True, slots=True)
class ItemRevision:
    """What a build knows of an item before it reads it.

    ``revision`` changes whenever the item's content does (``medcurate.models.content_revision``);
    ``featured_image`` is the stored image's file name, whose size and time the build checks.
    """

    key: str | None
    community: str | None
    revision: str
    featured_image: str | None


@runtime_checkable
class ItemSource(Protocol):
    """Items to publish: their revisions, and the content of those a build asks for."""

    def revisions(self) -> Sequence[ItemRevision]:
        """Every item's revision, in a fixed order: positions in it name the items."""
        ...

    def load(self, positions: Sequence[int]) -> list[SiteItem]:
        """The items at ``positions`` (of ``revisions()``), in that order.

        Raises ``ItemsChanged`` when one no longer has the revision ``revisions()`` gave.
        """
        ...


@dataclass(frozen=True)
class ListedItems:
    """Items already in memory: revisions computed from their content."""

    items: Sequence[SiteItem]

    def revisions(self) -> list[ItemRevision]:
        """Every item's revision, in the list's order."""
        return [
            ItemRevision(
                key=site_item.key,
                community=site_item.community,
                revision=site_item.item.revision,
                featured_image=featured_image_href(site_item.item.front_matter),
            )
            for site_item in self.items
        ]

    def load(self, positions: Sequence[int]) -> list[SiteItem]:
        """The items at ``positions``."""
        items = self.items
        return [items[position] for position in positions]
