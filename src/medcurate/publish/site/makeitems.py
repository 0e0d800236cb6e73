"""One item's view, page, card and search row: what ``itempages`` asks for, here or in a worker.

``ItemMaker`` needs no state and no store: the renderer, the configuration and the site's inputs,
and an ``Emitter`` that decides whether a page is written (the build's context, ``BuildContext``,
in the build's process; a worker's own in ``parallel``). It returns each item's compact row, its
places in listings and its aliases, which the build's process records in the state in key order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from medcurate.config import SiteConfig
from medcurate.publish.site.index import search_row
from medcurate.publish.site.itemsource import ItemRevision
from medcurate.publish.site.plan import ARCHIVE_TITLE, ARCHIVE_URL, bucket_of, file_of, listing_sort_key
from medcurate.publish.site.render import Renderer
from medcurate.publish.site.state import KeptItem, Member
from medcurate.publish.site.views import (
    ItemView,
    Section,
    SiteItem,
    claimed_url,
    digest_of,
    item_key,
    item_section_dir,
    make_view,
    resolve_section,
    url_fields,
    url_path,
)

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


class Emitter(Protocol):
    """Writes a file unless the last build wrote it from the same inputs (``BuildContext`` is one)."""

    def emit(self, path: str, digest: str, owner: str, make: Callable[[], bytes], page: int = 0) -> bool:
        """Write ``path`` from ``make()`` unless its digest holds; whether it was written."""
        ...

    def copy(self, path: str, digest: str, owner: str, source: str) -> None:
        """Copy the file ``source`` to ``path`` unless the last build copied it from the same file."""
        ...


@dataclass
class MadeItems:
    """What made items leave for the state: their rows, listing places and aliases (key, path)."""

    rows: list[KeptItem] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ItemInputs:
    """What every item's view and page are made from, beside the item: plain, so a worker gets a copy."""

    config: SiteConfig
    images: Mapping[str, str]
    site_digest: str
    search_text_chars: int


class ItemMaker:
    """Makes items' views and pages through ``emitter``; sections are memoised per maker."""

    def __init__(self, inputs: ItemInputs, renderer: Renderer, emitter: Emitter) -> None:
        self.inputs = inputs
        self.renderer = renderer
        self.emitter = emitter
        config = inputs.config
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
            section = resolve_section(site_item, self.inputs.config, directory)
            found = self._sections[key] = (section, directory, self._known | {section.url})
        return found

    def claim(self, site_item: SiteItem) -> str:
        """The URL the item asks for (from the few fields that make it: ``views.url_fields``)."""
        item_section_dir(site_item.item)  # refuses an item it cannot name
        return claimed_url(url_fields(site_item.item), item_key(site_item))

    def view(self, site_item: SiteItem, url: str, print_: str) -> ItemView:
        """The item's view at ``url``."""
        section, _directory, known = self._section(site_item)
        return make_view(
            site_item,
            url=url,
            section=section,
            config=self.inputs.config,
            images=self.inputs.images,
            known_pages=known,
            source_digest=f"{site_item.key}|{print_}",
        )

    def make(self, entries: Sequence[tuple[SiteItem, str, str, str]]) -> MadeItems:
        """Make and write the pages of (item, fingerprint, claim, URL) entries; what the state keeps."""
        renderer, emitter, inputs = self.renderer, self.emitter, self.inputs
        made = MadeItems()
        for site_item, print_, claim, url in entries:
            view = self.view(site_item, url, print_)
            owner = f"item:{view.key}"
            page_digest = f"{inputs.site_digest}:{view.digest}"
            emitter.emit(file_of(url), page_digest, owner, partial(renderer.item_page, view))
            image = view.image
            if image is not None and image.source_file is not None:
                with_stat = f"{print_}:{image.source_file}"
                emitter.copy(image.src.lstrip("/"), digest_of(with_stat), owner, image.source_file)
            sort = listing_sort_key(view.date_iso, view.key)
            made.rows.append(
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
                    search=search_row(view, text_chars=inputs.search_text_chars),
                )
            )
            made.members += members_of(view, sort)
            made.aliases += [(alias, view.key) for alias in view.aliases]
        return made


def members_of(view: ItemView, sort: str) -> list[Member]:
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
