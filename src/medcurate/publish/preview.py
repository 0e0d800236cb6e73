"""An item's page as the site will show it, before it is approved; and its live address once published.

The preview is no imitation: it is the site's own build (``build_site``, the same templates,
configuration, stored images and base URL) of a site holding this one item, made in a folder of
its own under ``<home>/run/preview/<id>/``. Its page is read back with every root-relative address
(``/static/style.css``, the image beside the page) pointed at the preview's folder, which the web
app serves, so that it looks as it will. A lock per item keeps two previews of it from building
into one folder at once; the build being incremental, a preview of an unchanged item writes
nothing.

The live address is the published site's base URL and the path the last build gave the item
(``SiteState``: the site's own record, which settles two items that claim one path).
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medcurate.config import SiteConfig
from medcurate.errors import NotFound
from medcurate.models import CuratedItem
from medcurate.publish.site import SiteItem, SiteOptions, build_site
from medcurate.publish.site.plan import file_of
from medcurate.publish.site.state import SiteState, state_path
from medcurate.settings import Settings

PREVIEW_DIR = "run/preview"
# href="/x", src="/x" (not "//host/x"): the addresses the preview's folder answers for.
_ROOT_RELATIVE = re.compile(r'(\s(?:href|src)=")/(?!/)')


@dataclass(frozen=True)
class Preview:
    """An item's page as the site will show it, and the folder its files are served from."""

    html: str
    folder: Path
    path: str  # the path the page has in the preview (the published site may settle another)


def preview_folder(settings: Settings, item_id: int) -> Path:
    """Where an item's preview site is built."""
    return settings.home / PREVIEW_DIR / str(item_id) / "site"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def render_preview(
    item: CuratedItem,
    *,
    item_id: int,
    key: str,
    community: str | None,
    settings: Settings,
    config: SiteConfig,
    served_at: str,
) -> Preview:
    """Build the one-item site of ``item`` and return its page, its files served under ``served_at``.

    Args:
        item: the item as stored now, in any state.
        item_id: its id, which names its preview folder.
        key: its key in the site (the store's ``md_name``), as the published site has it.
        community: its community.
        settings: the site's settings (images, templates).
        config: the site configuration (its base URL included).
        served_at: the path, ending with a slash, where the web app serves the preview's folder.

    Returns:
        The page, with its root-relative addresses under ``served_at``, and the folder.
    """
    folder = preview_folder(settings, item_id)
    options = SiteOptions(images_dir=settings.images_dir, template_dirs=(settings.home / "templates",))
    with _locked(folder):
        build_site(
            [SiteItem(item=item, key=key, community=community)], folder, config=config, options=options
        )
        path = _item_path(folder, key)
        if path is None:
            raise NotFound(f"the site build made no page for item {item_id}")
        html = (folder / file_of(path)).read_text(encoding="utf-8")
    return Preview(html=_ROOT_RELATIVE.sub(rf"\1{served_at}", html), folder=folder, path=path)


def preview_file(settings: Settings, item_id: int, relative: str) -> Path:
    """A file of an item's preview site (its stylesheet, its image); ``NotFound`` outside it."""
    folder = preview_folder(settings, item_id).resolve()
    target = (folder / relative).resolve()
    if relative.endswith("/") or not relative:
        target = target / "index.html"
    if not target.is_relative_to(folder) or not target.is_file():
        raise NotFound(f"the preview of item {item_id} has no file {relative!r}")
    return target


def _item_path(out_dir: Path, key: str) -> str | None:
    """The path the last build of ``out_dir`` gave the item ``key``, if it has a page there."""
    state_file = state_path(out_dir)
    if not state_file.is_file():
        return None
    state = SiteState(state_file)
    try:
        row = state.items([key]).get(key)
    finally:
        state.close(commit=False)
    return row.url if row is not None else None


def live_url(*, site_dir: Path, config: SiteConfig, key: str) -> str | None:
    """The published page's address (base URL and path), or None when the site has no page for it."""
    path = _item_path(site_dir, key)
    return config.base_url.rstrip("/") + path if path is not None else None
