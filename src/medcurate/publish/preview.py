"""An item's page as the site will show it, before it is approved; and its live address once published.

The preview is no imitation: it is the site's own build (``build_site``, the same templates,
configuration, stored images and base URL) of a site holding this one item, made in a folder of
its own under ``<home>/run/preview/<id>/``. Its page is read back with every root-relative address
(``/static/style.css``, the image beside the page) pointed at the preview's folder, which the web
app serves, so that it looks as it will. A lock per item keeps two previews of it from building
into one folder at once; the build being incremental, a preview of an unchanged item writes
nothing. Each preview stamps its lock file with the time it was made, and making one removes the
other items' previews not made for ``PREVIEW_MAX_AGE`` seconds (a day), so that the folders do not
pile up: a removed preview is built again the next time someone asks for it.

The live address is the published site's base URL and the path the last build gave the item
(``SiteState``: the site's own record, which settles two items that claim one path).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from medcurate.config import SiteConfig
from medcurate.errors import NotFound
from medcurate.models import CuratedItem
from medcurate.publish.site import SiteItem, SiteOptions, build_site
from medcurate.publish.site.plan import file_of
from medcurate.publish.site.state import SiteState, state_path
from medcurate.settings import Settings

PREVIEW_DIR = "run/preview"
# A preview not made again for this long (seconds) is removed when another one is made.
PREVIEW_MAX_AGE = 24 * 3600.0
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


def _same_file(handle: IO[str], path: Path) -> bool:
    """True while ``path`` is still the file ``handle`` holds (pruning may have removed it)."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


@contextmanager
def _locked(folder: Path) -> Iterator[Path]:
    """Hold the lock of an item's preview; yields the lock file, whose time stamps the preview."""
    lock = folder.parent / "lock"
    while True:
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = lock.open("a")
        except FileNotFoundError:
            continue  # pruned between the two lines: make the folder again
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                # A pruner that held the lock before us removed the folder: lock the new one instead.
                if _same_file(handle, lock):
                    yield lock
                    return
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def prune_previews(
    settings: Settings, *, keep: int, now: float, max_age: float = PREVIEW_MAX_AGE
) -> list[int]:
    """Remove the previews (but ``keep``'s) last made more than ``max_age`` seconds before ``now``.

    A preview being built holds its lock and is left alone. Returns the ids whose previews went.
    """
    removed: list[int] = []
    root = settings.home / PREVIEW_DIR
    for entry in root.iterdir() if root.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == keep or not entry.is_dir():
            continue
        if _remove_if_stale(entry, cutoff=now - max_age):
            removed.append(int(entry.name))
    return sorted(removed)


def _remove_if_stale(folder: Path, *, cutoff: float) -> bool:
    """Remove an item's preview folder when its stamp is older than ``cutoff`` and nobody holds it."""
    lock = folder / "lock"
    try:
        handle = lock.open("r")
    except FileNotFoundError:
        return False  # being made (its lock not yet created) or not a preview
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a preview of it is being built now
        try:
            if not _same_file(handle, lock) or os.fstat(handle.fileno()).st_mtime >= cutoff:
                return False
            shutil.rmtree(folder)
            return True
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
    clock: Callable[[], float] = time.time,
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
        clock: the time now (seconds since the epoch), which stamps this preview and ages the others.

    Returns:
        The page, with its root-relative addresses under ``served_at``, and the folder.
    """
    folder = preview_folder(settings, item_id)
    options = SiteOptions(images_dir=settings.images_dir, template_dirs=(settings.home / "templates",))
    with _locked(folder) as lock:
        build_site(
            [SiteItem(item=item, key=key, community=community)], folder, config=config, options=options
        )
        path = _item_path(folder, key)
        if path is None:
            raise NotFound(f"the site build made no page for item {item_id}")
        html = (folder / file_of(path)).read_text(encoding="utf-8")
        now = clock()
        os.utime(lock, (now, now))
    prune_previews(settings, keep=item_id, now=now)
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
