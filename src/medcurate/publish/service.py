"""Publishing from the store: the one function the CLI, the web app and the demo all call.

It reads the items to publish (published ones, and approved ones on request) with their
communities, and hands them to ``medcurate.publish.site.build_site`` with the site's settings.
"""

from __future__ import annotations

from pathlib import Path

from medcurate.models import ItemState
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import all_items, item_from_record


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
    with database.session() as session:
        items = [
            SiteItem(item=item_from_record(record), key=record.md_name, community=record.community)
            for record in all_items(session, states=states)
        ]
    options = SiteOptions(
        base_url=base_url,
        images_dir=settings.images_dir,
        template_dirs=(settings.home / "templates",),
        workers=workers,
        incremental=not full,
    )
    return build_site(
        items, out_dir or site_dir(settings), config=settings.load_site_config(), options=options
    )
