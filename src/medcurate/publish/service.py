"""Publishing from the store: the one function the CLI, the web app and the demo all call.

It hands ``medcurate.publish.site.build_site`` the items to publish (published ones, and approved
ones on request) as a ``StoredItems`` source: the build reads every item's revision in one narrow
query and the content only of the items it makes views of, so that a rebuild after one change in
10,000 reads one item. An item edited while a build reads the store makes the build start again.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from medcurate.models import ItemState
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from medcurate.publish.site.sources import ItemRevision, ItemsChanged
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import ItemRevisionRow, item_contents, item_revisions

BUILD_ATTEMPTS = 3  # builds started over when items change under them, before giving up


@dataclass
class StoredItems:
    """The store's items in ``states``, as a site build's ``ItemSource``."""

    database: Database
    states: Sequence[ItemState]
    rows: list[ItemRevisionRow] = field(default_factory=list)

    def revisions(self) -> list[ItemRevision]:
        """Every item's revision, oldest id first."""
        with self.database.session() as session:
            self.rows = item_revisions(session, states=self.states)
        return [ItemRevision(r.md_name, r.community, r.revision, r.featured_image) for r in self.rows]

    def load(self, positions: Sequence[int]) -> list[SiteItem]:
        """The items at ``positions``; ``ItemsChanged`` if one was edited since ``revisions``."""
        wanted = [self.rows[position] for position in positions]
        with self.database.session() as session:
            contents = item_contents(session, ids=[row.id for row in wanted])
        items = []
        for row in wanted:
            found = contents.get(row.id)
            if found is None or found[1] != row.revision:
                raise ItemsChanged(f"item {row.md_name} changed while the site was being built")
            items.append(SiteItem(item=found[0], key=row.md_name, community=row.community))
        return items


def site_dir(settings: Settings) -> Path:
    """The configured site directory (``publishing.site_dir``, relative to the data directory)."""
    configured = Path(settings.load_site_config().publishing.site_dir)
    return configured if configured.is_absolute() else settings.home / configured


def publish_site(
    database: Database,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    include_approved: bool = False,
    base_url: str | None = None,
    full: bool = False,
    workers: int = 0,
) -> BuildReport:
    """Build the static site from the store; only changed pages are written.

    Args:
        database: the site's database.
        settings: the site's settings (configuration, images, templates).
        out_dir: where to write; ``publishing.site_dir`` by default.
        include_approved: publish approved items too, not only published ones.
        base_url: overrides ``publishing.base_url``.
        full: ignore the manifest and rebuild every page.
        workers: build processes for large builds (0: automatic, two on two cores or more; 1: one).

    Returns:
        What the build wrote.
    """
    states = [ItemState.PUBLISHED, ItemState.APPROVED] if include_approved else [ItemState.PUBLISHED]
    options = SiteOptions(
        base_url=base_url,
        images_dir=settings.images_dir,
        template_dirs=(settings.home / "templates",),
        workers=workers,
        incremental=not full,
    )
    config = settings.load_site_config()
    target = out_dir or site_dir(settings)
    for _ in range(BUILD_ATTEMPTS - 1):
        with suppress(ItemsChanged):  # nothing is written before every item the build needs is read
            return build_site(StoredItems(database, states), target, config=config, options=options)
    return build_site(StoredItems(database, states), target, config=config, options=options)
