"""Publishing from the store: the functions the CLI, the web app and the demo call.

They hand ``medcurate.publish.site.build_site`` the items to publish (published ones, and approved
ones on request) as a ``StoredItems`` source: the build reads every item's revision in one streamed
query (``medcurate.store.published``) and the content only of the items it makes pages of, so that
a rebuild after one change reads one item. An item edited while a build reads the store makes the
build start again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from medcurate.models import ItemState, featured_image_href
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from medcurate.publish.site.itemsource import ItemRevision, ItemsChanged
from medcurate.settings import Settings
from medcurate.store.published import (
    changed_since,
    item_contents,
    item_revisions,
    item_url_fields,
    published_summary,
)

if TYPE_CHECKING:
    from medcurate.config import SiteConfig
    from medcurate.store.db import Database

BUILD_ATTEMPTS = 3  # builds started over when items change under them, before giving up


@dataclass(frozen=True)
class StoredItems:
    """The store's items in ``states``, as a site build's ``ItemSource``."""

    database: Database
    states: Sequence[ItemState]

    def revisions(self) -> Iterator[ItemRevision]:
        """Every item's revision, by key."""
        for row in item_revisions(self.database, states=self.states):
            yield ItemRevision(row.md_name, row.community, row.revision, row.featured_image)

    def summary(self) -> tuple[str, int]:
        """The store's token for its items in ``states`` (count, ids, latest save), and their count."""
        token = published_summary(self.database, states=self.states)
        return token, int(token.partition("|")[0])

    def changes_since(self, summary: str) -> tuple[list[ItemRevision], list[str]] | None:
        """The items saved since ``summary``: revisions of those in ``states``, keys of the others."""
        found = changed_since(self.database, summary=summary, states=self.states)
        if found is None:
            return None
        published, others = found
        return [ItemRevision(r.md_name, r.community, r.revision, r.featured_image) for r in published], others

    def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
        """The items with these keys; ``ItemsChanged`` if one is gone since ``revisions``."""
        contents = item_contents(self.database, keys=keys)
        loaded = []
        for key in keys:
            found = contents.get(key)
            if found is None:
                raise ItemsChanged(f"item {key} went while the site was being built")
            item = found.item
            revision = ItemRevision(
                key, found.community, found.revision, featured_image_href(item.front_matter)
            )
            loaded.append((SiteItem(item=item, key=key, community=found.community), revision))
        return loaded

    def url_fields(self, keys: Sequence[str]) -> dict[str, tuple[str | None, str | None, str | None] | None]:
        """The fields that make these items' URLs, read without their content (``ItemSource``)."""
        return item_url_fields(self.database, keys=keys)

    def for_workers(self) -> ReopenedStore | None:
        """The store as a worker process opens it again, by its URL; None for one in memory."""
        url = self.database.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return ReopenedStore(url.render_as_string(hide_password=False), tuple(self.states))


class ReopenedStore:
    """``StoredItems`` for a worker process: pickled as the store's URL, opened there on first use."""

    def __init__(self, url: str, states: tuple[ItemState, ...]) -> None:
        self.url = url
        self.states = states
        self._items: StoredItems | None = None

    def __getstate__(self) -> tuple[str, tuple[ItemState, ...]]:
        return self.url, self.states

    def __setstate__(self, state: tuple[str, tuple[ItemState, ...]]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def _opened(self) -> StoredItems:
        if self._items is None:
            from medcurate.store.db import open_database

            self._items = StoredItems(open_database(self.url, run_migrations=False), self.states)
        return self._items

    def revisions(self) -> Iterator[ItemRevision]:
        """Every item's revision, by key."""
        return self._opened().revisions()

    def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
        """The items with these keys."""
        return self._opened().load(keys)

    def summary(self) -> tuple[str, int]:
        """The store's token and item count."""
        return self._opened().summary()

    def changes_since(self, summary: str) -> tuple[list[ItemRevision], list[str]] | None:
        """The items saved since ``summary``."""
        return self._opened().changes_since(summary)

    def url_fields(self, keys: Sequence[str]) -> dict[str, tuple[str | None, str | None, str | None] | None]:
        """The fields that make these items' URLs."""
        return self._opened().url_fields(keys)

    def for_workers(self) -> ReopenedStore:
        """Itself: it is opened again wherever it is unpickled."""
        return self


def site_dir(settings: Settings, config: SiteConfig | None = None) -> Path:
    """The configured site directory (``publishing.site_dir``, relative to the data directory).

    ``config`` is the site configuration when the caller has read it already.
    """
    config = config or settings.load_site_config()
    configured = Path(config.publishing.site_dir)
    return configured if configured.is_absolute() else settings.home / configured


def publish_site(
    database: Database | None,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    include_approved: bool = False,
    base_url: str | None = None,
    full: bool = False,
    config: SiteConfig | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Build the static site from the store; only changed pages are written.

    Args:
        database: the site's open database (the web app's), or None to open (and create or
            migrate) the store ``settings`` names for this build alone (``medcurate site build``).
        settings: the site's settings (configuration, images, templates).
        out_dir: where to write; ``publishing.site_dir`` by default.
        include_approved: publish approved items too, not only published ones.
        base_url: overrides ``publishing.base_url``.
        full: ignore the last build's state and build every page (unchanged files are not rewritten).
        config: the site configuration, when the caller has read it already; else it is read from
            ``settings``.
        workers: processes that render a large full build (``SiteOptions.workers``).

    Returns:
        What the build wrote.
    """
    options = replace(_site_options(settings, base_url=base_url, full=full), workers=workers)
    states = _states(include_approved=include_approved)
    config = config or settings.load_site_config()
    target = out_dir or site_dir(settings, config)
    if database is not None:
        return _publish(database, states, config, options, target)
    from medcurate.store.db import open_database

    opened = open_database(settings.database)
    try:
        return _publish(opened, states, config, options, target)
    finally:
        opened.dispose()


def _states(*, include_approved: bool) -> list[ItemState]:
    return [ItemState.PUBLISHED, ItemState.APPROVED] if include_approved else [ItemState.PUBLISHED]


def _site_options(settings: Settings, *, base_url: str | None, full: bool) -> SiteOptions:
    return SiteOptions(
        base_url=base_url,
        images_dir=settings.images_dir,
        template_dirs=(settings.home / "templates",),
        incremental=not full,
    )


def _publish(
    database: Database, states: Sequence[ItemState], config: SiteConfig, options: SiteOptions, target: Path
) -> BuildReport:
    for _ in range(BUILD_ATTEMPTS - 1):
        # A build that meets a changed item records what it wrote and leaves the next one to build in full.
        with suppress(ItemsChanged):
            return build_site(StoredItems(database, states), target, config=config, options=options)
    return build_site(StoredItems(database, states), target, config=config, options=options)
