"""Build medcurate's own static site from items, streaming, and after a change only what it reached.

The stages, in order (``build_site``):

1. the site's shared inputs: the templates, the configuration and the sizes make the site digest,
   which every page's digest starts with; the static files make their own;
2. find what changed: ask the source what it saved since the last build (``_changes_since``: the
   store answers from one aggregate and its ``updated_at`` index), else compare every item's
   revision with the state (``state``) in one pass in key order (``find_changes``); nothing changed
   and the static files held, stop; a change of the site digest, or of more than
   ``FULL_BUILD_SHARE`` of the items, makes a full build;
3. item pages (``itempages``): every item in a full build, read in batches; only the changed ones
   (and those whose URL they take or free) otherwise; each item leaves its compact row in the state;
4. listing pages, feeds, home page and term indexes (``listings``), from the state's rows;
5. search index parts, sitemaps, alias pages and fixed files (``outputs``);
6. remove what no build made any more: after a full build every file it did not write or confirm,
   after an incremental one the pages its owners dropped (done as each stage goes); then commit.

Nothing holds every item: items pass in batches, and everything later reads the state in output
order. A full build of ``parallel.POOL_MIN_ITEMS`` items or more renders in worker processes
(``parallel``: a ``concurrent.futures.ProcessPoolExecutor``, one process per CPU available unless
``SiteOptions.workers``, ``--workers`` or ``$MEDCURATE_SITE_WORKERS`` say otherwise): this process
reads the items and assigns their URLs in key order, the workers make and write the item pages,
then the listing and alias pages this process hands them, and this process records everything in
the order it sent it, so the output equals a serial build's. Incremental builds, and smaller full
builds, render here: a pool's start-up costs more than they take. The gain that keeps the pool is
stated in ``parallel``'s docstring.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from medcurate.config import SiteConfig
from medcurate.errors import PublishError
from medcurate.models import CuratedItem
from medcurate.publish.site.context import BuildContext, Sizes
from medcurate.publish.site.itempages import ItemPages
from medcurate.publish.site.itemsource import ItemRevision, ItemSource, ListedItems
from medcurate.publish.site.listings import ListingPages
from medcurate.publish.site.makeitems import fingerprint
from medcurate.publish.site.outputs import Outputs, bytes_digest
from medcurate.publish.site.parallel import POOL_MIN_ITEMS, PagePool, WorkerSetup, worker_count
from medcurate.publish.site.render import Renderer, SiteMeta
from medcurate.publish.site.state import SiteState, state_path
from medcurate.publish.site.views import NavLink, SiteItem, digest_of, url_path
from medcurate.publish.site.write import SiteWriter

DEFAULT_FEED_SIZE = 20
DEFAULT_SEARCH_TEXT_CHARS = 1000
STATIC_PACKAGE_DIR = "publish/static/site"
# Past this share of the items changed, a full build (one pass in key order) costs less than
# finding each changed item's pages.
FULL_BUILD_SHARE = 0.2
# Bump when a code change alters the output, so that existing sites rebuild in full.
OUTPUT_VERSION = "2"


@dataclass(frozen=True, kw_only=True)
class SiteOptions:
    """How to build: overrides of the configuration, sizes, where images and templates live."""

    base_url: str | None = None
    page_size: int | None = None
    feed_size: int = DEFAULT_FEED_SIZE
    search_text_chars: int = DEFAULT_SEARCH_TEXT_CHARS
    images_dir: Path | None = None
    template_dirs: tuple[Path, ...] = ()
    incremental: bool = True
    state_file: Path | None = None  # None: a hidden file beside out_dir (``state.state_path``)
    # Processes that render a large full build (``parallel``); None: $MEDCURATE_SITE_WORKERS, else
    # the CPUs available; 1: the build's own process alone.
    workers: int | None = None
    pool_min_items: int = POOL_MIN_ITEMS  # a full build of fewer items renders in this process


DEFAULT_SITE_OPTIONS = SiteOptions()


@dataclass(frozen=True)
class BuildReport:
    """What a build did: files written, left alone and removed, out of how many."""

    written: int
    unchanged: int
    removed: int
    files: int
    items: int
    seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Changes:
    """The items whose revision differs from the state's, and the keys the state has but not the source."""

    changed: list[ItemRevision]
    removed: list[str]
    warnings: list[str]


def find_changes(
    revisions: Iterable[ItemRevision], known: Iterator[tuple[str, str]], images: Mapping[str, str], limit: int
) -> Changes | None:
    """Compare revisions (by key) with the state's fingerprints (by key) in one pass.

    Returns None once more than ``limit`` items changed: a full build is then cheaper.
    """
    changed: list[ItemRevision] = []
    removed: list[str] = []
    warnings: list[str] = []
    current = next(known, None)
    previous: str | None = None
    for revision in revisions:
        key = revision.key
        if key == previous:
            warnings.append(f"item {key!r} appears twice; publishing the first")
            continue
        if previous is not None and key < previous:
            raise PublishError(f"the items are not in key order ({previous!r} before {key!r})")
        previous = key
        while current is not None and current[0] < key:
            removed.append(current[0])
            current = next(known, None)
        if current is not None and current[0] == key:
            if current[1] != fingerprint(revision, images):
                changed.append(revision)
            current = next(known, None)
        else:
            changed.append(revision)
        if len(changed) + len(removed) > limit:
            return None
    while current is not None:
        removed.append(current[0])
        current = next(known, None)
    return None if len(changed) + len(removed) > limit else Changes(changed, removed, warnings)


def _source_token(ctx: BuildContext) -> tuple[str, int] | None:
    """The source's summary with the stored images' names, sizes and times; None if it has none."""
    summary = ctx.source.summary()
    if summary is None:
        return None
    stamps = []
    for name, path in sorted(ctx.images.items()):
        with suppress(OSError):
            stat = os.stat(path)
            stamps.append((name, stat.st_size, stat.st_mtime_ns))
    return f"{summary[0]}#{digest_of(stamps)}", summary[1]


def _changes_since(ctx: BuildContext, previous: str, token: tuple[str, int]) -> Changes | None:
    """What changed since the build that recorded the source's summary ``previous``, asked of the
    source; None when it cannot tell, or when what it tells does not add up to its item count."""
    state = ctx.state
    if previous == token[0]:
        return Changes([], [], [])
    summary, _, images = previous.partition("#")
    if not summary or images != token[0].partition("#")[2]:
        return None  # a first build, or a stored image changed: every item is compared
    found = ctx.source.changes_since(summary)
    if found is None:
        return None
    revisions, others = found
    known = state.items([*(r.key for r in revisions), *others])
    changed = [
        r for r in revisions if r.key not in known or known[r.key].fingerprint != fingerprint(r, ctx.images)
    ]
    removed = [key for key in others if key in known]
    added = sum(1 for r in revisions if r.key not in known)
    if state.item_count() + added - len(removed) != token[1]:
        return None  # an item left without a save (deleted): every item is compared
    return Changes(changed, removed, [])


def _meta(config: SiteConfig, options: SiteOptions) -> SiteMeta:
    """What every page knows about the site."""
    publishing = config.publishing
    return SiteMeta(
        title=publishing.site_title,
        base_url=(options.base_url or publishing.base_url).rstrip("/") + "/",
        language=publishing.language,
        nav=(
            NavLink("Latest", "/archive/"),
            *(
                NavLink(c.name, url_path(*[p for p in c.base_path.split("/") if p]))
                for c in config.communities
            ),
            NavLink("Topics", "/topic/"),
            NavLink("Sources", "/source/"),
            NavLink("Search", "/search/"),
        ),
    )


def _static_files() -> dict[str, bytes]:
    """The site's stylesheet and scripts, shipped as package data."""
    root = resources.files("medcurate").joinpath(STATIC_PACKAGE_DIR)
    return {e.name: e.read_bytes() for e in root.iterdir() if e.is_file() and not e.name.startswith(".")}


def _image_index(images_dir: Path | None) -> dict[str, str]:
    """Every stored image by file name: one directory listing for the whole build."""
    if images_dir is None or not images_dir.is_dir():
        return {}
    return {e.name: e.path for e in os.scandir(images_dir) if e.is_file()}


def _item_source(items: Sequence[SiteItem | CuratedItem] | ItemSource) -> ItemSource:
    if isinstance(items, ItemSource):
        return items
    return ListedItems([i if isinstance(i, SiteItem) else SiteItem(item=i) for i in items])


def build_site(
    items: Sequence[SiteItem | CuratedItem] | ItemSource,
    out_dir: Path,
    *,
    config: SiteConfig,
    options: SiteOptions = DEFAULT_SITE_OPTIONS,
) -> BuildReport:
    """Build (or bring up to date) the static site of ``items`` in ``out_dir``.

    Args:
        items: the items to publish: ``CuratedItem`` or ``SiteItem`` (with the store's key and
            community), or an ``ItemSource`` that gives their revisions in key order and reads only
            the items the build needs (``medcurate.publish.service`` reads the store so).
        out_dir: the output directory; the state beside it makes the build incremental.
        config: the site configuration (title, base URL, language, page size, communities, offerings).
        options: overrides and build settings.

    Returns:
        How many files were written, left unchanged and removed.
    """
    started = time.perf_counter()
    # 1. the shared inputs
    meta = _meta(config, options)
    renderer = Renderer(meta, options.template_dirs)
    sizes = Sizes(
        page_size=options.page_size or config.publishing.page_size,
        feed_size=options.feed_size,
        search_text_chars=options.search_text_chars,
    )
    site_digest = digest_of(
        OUTPUT_VERSION, meta, renderer.template_sources(), config.model_dump_json(), sizes
    )
    static = _static_files()
    static_digest = digest_of(sorted((name, bytes_digest(data)) for name, data in static.items()))
    source = _item_source(items)
    images = _image_index(options.images_dir)
    state = SiteState(options.state_file or state_path(out_dir))
    ctx = BuildContext(
        state=state,
        writer=_writer(out_dir),
        renderer=renderer,
        source=source,
        config=config,
        images=images,
        sizes=sizes,
        site_digest=site_digest,
        # A first build, or one asked to trust nothing of the last: every file is written.
        fresh=not options.incremental or state.file_count() == 0,
    )
    try:
        report = _build(ctx, options, static, static_digest)
    except BaseException:
        # What was written is recorded; the items' state is not trusted: the next build is full.
        ctx.flush()
        state.set_meta("site", "")
        state.close()
        raise
    state.close()
    return replace(report, seconds=time.perf_counter() - started)


def _writer(out_dir: Path) -> SiteWriter:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot write the site in {out_dir}: {exc.strerror or exc}") from exc
    return SiteWriter(out_dir)


def _pool(ctx: BuildContext, item_pages: ItemPages, options: SiteOptions, items: int) -> PagePool | None:
    """Worker processes for a full build of ``items`` items, or None where this process does better."""
    workers = worker_count(options.workers)
    if workers < 2 or items < options.pool_min_items:
        return None
    setup = WorkerSetup(
        meta=ctx.renderer.meta,
        template_dirs=tuple(options.template_dirs),
        out_dir=ctx.writer.root,
        inputs=item_pages.inputs,
        source=ctx.source.for_workers(),
        state_file=ctx.state.path,
    )
    return PagePool(setup, workers)


def _build(
    ctx: BuildContext, options: SiteOptions, static: Mapping[str, bytes], static_digest: str
) -> BuildReport:
    """``build_site``'s stages 2 to 6; the report's counts."""
    state = ctx.state
    item_pages, listings, outputs = ItemPages(ctx), ListingPages(ctx, ItemPages(ctx)), Outputs(ctx)
    # 2. what changed
    token = _source_token(ctx)
    changes = None
    if options.incremental and state.meta("site") == ctx.site_digest:
        if token is not None:
            changes = _changes_since(ctx, state.meta("source") or "", token)
        if changes is None:
            limit = max(100, int(state.item_count() * FULL_BUILD_SHARE))
            changes = find_changes(ctx.source.revisions(), state.fingerprints(), ctx.images, limit)
    if changes is not None:
        ctx.warnings += changes.warnings
        if changes.changed or changes.removed:
            # 3-5. the changed items' pages, then what they reached
            reach = item_pages.publish_changed(changes.changed, changes.removed)
            listings.write_reached(reach)
            outputs.write_reached(reach, static)
        elif state.meta("static") != static_digest:
            outputs.write_fixed(static)
    else:
        # 3-5. every item, every listing, every other output
        ctx.pool = _pool(ctx, item_pages, options, token[1] if token else state.item_count())
        state.reset_items()
        try:
            item_pages.publish_all(ctx.source.revisions(), ctx.pool)
            # Alias pages first: quick to list here, slow to write, they keep the workers busy
            # while this process commits the items and reads every listing's digests.
            outputs.write_aliases(None)
            if ctx.pool is not None:
                state.commit_items()  # the workers read the listing pages' cards from the state
            listings.write_all()
            outputs.write_all(static)
            ctx.settle()
        finally:
            if ctx.pool is not None:
                ctx.pool.close(cancel=True)
                ctx.pool = None
        # 6. what no stage made any more
        ctx.flush()
        ctx.drop(state.older_files())
    ctx.flush()
    state.set_meta("site", ctx.site_digest)
    state.set_meta("static", static_digest)
    state.set_meta("source", token[0] if token else "")
    files = state.file_count()
    writer = ctx.writer
    return BuildReport(
        written=writer.written,
        unchanged=files - writer.written,
        removed=writer.removed,
        files=files,
        items=state.item_count(),
        seconds=0.0,
        warnings=tuple(ctx.warnings),
    )
