"""Publishing from the store: the functions the CLI, the web app and the demo call.

They hand ``medcurate.publish.site.build_site`` the items to publish (published ones, and approved
ones on request) as a ``StoredItems`` source: the build reads every item's revision in one narrow
query and the content only of the items it makes views of, so that a rebuild after one change in
10,000 reads one item. An item edited while a build reads the store makes the build start again.

``publish_site`` reads through an open ``Database`` (the web app's, warm), or opens the store
itself, with its bare driver when the schema is current (``store.direct``), so that ``medcurate
site build`` never loads SQLAlchemy unless the database must be created or migrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medcurate.models import ItemState
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from medcurate.publish.site.sources import ItemRevision, ItemsChanged
from medcurate.settings import Settings
from medcurate.store.direct import Reader, reader_at_head
from medcurate.store.revisions import ItemRevisionRow, item_contents, item_revisions

if TYPE_CHECKING:
    from medcurate.config import SiteConfig
    from medcurate.store.db import Database

BUILD_ATTEMPTS = 3  # builds started over when items change under them, before giving up


@dataclass
class StoredItems:
    """The store's items in ``states``, as a site build's ``ItemSource``."""

    reader: Reader
    states: Sequence[ItemState]
    rows: list[ItemRevisionRow] = field(default_factory=list)

    def revisions(self) -> list[ItemRevision]:
        """Every item's revision, oldest id first."""
        self.rows = item_revisions(self.reader, states=self.states)
        return [ItemRevision(r.md_name, r.community, r.revision, r.featured_image) for r in self.rows]

    def load(self, positions: Sequence[int]) -> list[SiteItem]:
        """The items at ``positions``; ``ItemsChanged`` if one was edited since ``revisions``."""
        wanted = [self.rows[position] for position in positions]
        contents = item_contents(self.reader, ids=[row.id for row in wanted])
        items = []
        for row in wanted:
            found = contents.get(row.id)
            if found is None or found[1] != row.revision:
                raise ItemsChanged(f"item {row.md_name} changed while the site was being built")
            items.append(SiteItem(item=found[0], key=row.md_name, community=row.community))
        return items


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
    workers: int = 0,
    config: SiteConfig | None = None,
) -> BuildReport:
    """Build the static site from the store; only changed pages are written.

    Args:
        database: the site's open database (the web app's), or None to open the store ``settings``
            names for this build alone (``medcurate site build``): a database at the current
            schema is then read with its own driver, a new or older one through SQLAlchemy, which
            creates or migrates it first.
        settings: the site's settings (configuration, images, templates).
        out_dir: where to write; ``publishing.site_dir`` by default.
        include_approved: publish approved items too, not only published ones.
        base_url: overrides ``publishing.base_url``.
        full: ignore the manifest and rebuild every page.
        workers: build processes for large builds (0: automatic, two on two cores or more; 1: one).
        config: the site configuration, when the caller has read it already; else it is read from
            ``settings``.

    Returns:
        What the build wrote.
    """
    options = _site_options(settings, base_url=base_url, full=full, workers=workers)
    states = _states(include_approved=include_approved)
    config = config or settings.load_site_config()
    target = out_dir or site_dir(settings, config)
    if database is None:
        with reader_at_head(settings.database) as reader:
            if reader is not None:
                return _publish(reader, states, config, options, target)
        from medcurate.store.db import open_database

        database = open_database(settings.database)
        try:
            with database.reader() as migrated:
                return _publish(migrated, states, config, options, target)
        finally:
            database.dispose()
    with database.reader() as reader:
        return _publish(reader, states, config, options, target)


def _states(*, include_approved: bool) -> list[ItemState]:
    return [ItemState.PUBLISHED, ItemState.APPROVED] if include_approved else [ItemState.PUBLISHED]


def _site_options(settings: Settings, *, base_url: str | None, full: bool, workers: int) -> SiteOptions:
    return SiteOptions(
        base_url=base_url,
        images_dir=settings.images_dir,
        template_dirs=(settings.home / "templates",),
        workers=workers,
        incremental=not full,
    )


def _publish(
    reader: Reader, states: Sequence[ItemState], config: SiteConfig, options: SiteOptions, target: Path
) -> BuildReport:
    for _ in range(BUILD_ATTEMPTS - 1):
        with suppress(ItemsChanged):  # nothing is written before every item the build needs is read
            return build_site(StoredItems(reader, states), target, config=config, options=options)
    return build_site(StoredItems(reader, states), target, config=config, options=options)
