"""Pages rendered in worker processes: item pages by units of items, listing, alias and feed pages by jobs.

A full build of at least ``POOL_MIN_ITEMS`` items renders in a
``concurrent.futures.ProcessPoolExecutor`` of ``worker_count`` processes. Each worker makes its own
renderer and writer (``_start``); what crosses between processes is plain data:

* an ``ItemUnit``: up to ``itempages.BATCH`` items' keys in key order, with the fingerprint,
  claimed URL and URL the build's process gave each (URLs are assigned there, in key order, as in a
  serial build, from the few front matter fields that make them, which the store reads without the
  items: ``ItemSource.url_fields``) and the digests the last build recorded for their pages. The
  worker reads the items from its own copy of the source (``ItemSource.for_workers``: the store
  opened again by its URL) and checks their fingerprints; a source that cannot be opened again (a
  list in memory) has the unit carry the items as read. The worker makes their views and pages
  (``makeitems.ItemMaker``), writes the pages
  atomically through its ``SiteWriter`` and returns a ``UnitResult``: the rows, listing places and
  aliases, the file records and the images to copy. The build's process records results in the
  order it sent the units, so the state, and the site, are those of a serial build;
* a list of ``PageJob``: a listing or alias page to render and write, whose digest the build's
  process compared and recorded (``BuildContext.emit_page``), and of ``ListingJob``: a listing
  page named by its first and last items' sort keys, whose cards the worker reads from the build's
  state once the build's process has committed the items (``SiteState.commit_items``,
  ``liststate.CardReader``), so that the build's process reads only the pages' digests and the
  cards do not cross between processes (``BuildContext.emit_listing_page``);
* a ``FeedJob``: a listing's feeds, with the few items they show as the build's process read them.

Incremental builds, and builds too small to repay the workers' start-up, render in the build's
process. What keeps the pool, measured on this project's 2-core machine with the cores idle
(``bench/site.py --sizes 100000 --repeat 1``, then the same with ``MEDCURATE_SITE_WORKERS=1``,
load 1-2, docs/benchmarks.md, "Issue 16: worker processes"): a cold build of 100,000 items took
124.6 s in one process (121 s of CPU, peak 229 MB) and 65.3 s with two workers (117 s of CPU, peak
534 MB of all processes): 1.91x as fast, 48% less time, for the same CPU. With the cores busy (load
9-12) the gain shrinks to 1.28x. At 10,000 items, with the workers reading their own items and no
removal of old output just before (docs/benchmarks.md, "Issue 16: 10,000 items"): 1.49x, one
process 12.0 / 14.3 / 15.1 s against two workers 10.7 / 9.4 / 9.6 s, taking turns (``publish_site``
in one process each, output on disk, load 0.1-1.5). Earlier 10,000-item figures showed no gain: each
round then began right after the last round's 23,000 files were removed, which on this VM's file
system slows the next build's every new file (the docs' section says how).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medcurate.errors import PublishError
from medcurate.models import CuratedItem
from medcurate.publish.site.itemsource import ItemsChanged, ItemSource
from medcurate.publish.site.liststate import CardReader
from medcurate.publish.site.makeitems import ItemInputs, ItemMaker, MadeItems, fingerprint
from medcurate.publish.site.plan import Listing, Pager
from medcurate.publish.site.render import Renderer, SiteMeta
from medcurate.publish.site.state import FileRecord
from medcurate.publish.site.views import SiteItem
from medcurate.publish.site.write import SiteWriter

WORKERS_ENV = "MEDCURATE_SITE_WORKERS"  # how many processes render a full build (1: none)
POOL_MIN_ITEMS = 5000  # below this many items a full build renders in its own process
OBJECT_CHARS = 200  # a job's listing or pager, counted as this many characters of text
FRONT_MATTER_CHARS = 2000  # an item's front matter in a feed job, counted as this many characters


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(setting: int | None) -> int:
    """How many processes render: ``setting``, else ``$MEDCURATE_SITE_WORKERS``, else the CPUs available."""
    if setting is not None:
        return max(1, setting)
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise PublishError(f"{WORKERS_ENV} must be a whole number, not {configured!r}") from None
    return available_cpus()


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker makes its renderer and writer from, and the source it reads items from, if any."""

    meta: SiteMeta
    template_dirs: tuple[Path, ...]
    out_dir: Path
    inputs: ItemInputs
    source: ItemSource | None = None  # ``ItemSource.for_workers``: None, the units carry the items
    state_file: Path | None = None  # the build's state: listing pages' cards are read from it


@dataclass(frozen=True)
class ItemUnit:
    """Items whose pages one worker makes, in key order, each with its fingerprint, claim and URL.

    ``items`` holds them as the build's process read them, or is None: the worker reads ``keys``
    from its own source and checks that their fingerprints are still ``prints``.
    """

    keys: list[str]
    items: list[SiteItem] | None
    prints: list[str]
    claims: list[str]
    urls: list[str]
    previous: dict[str, str]  # the last build's digest of each page path it recorded


@dataclass
class UnitResult:
    """What a unit leaves for the state, the files it recorded, the images to copy, files written."""

    made: MadeItems
    files: list[FileRecord] = field(default_factory=list)
    copies: list[tuple[str, str, str, str]] = field(default_factory=list)  # path, digest, owner, source
    written: int = 0


@dataclass(frozen=True)
class PageJob:
    """A listing or alias page: the renderer's method and its arguments, written at ``path``."""

    path: str
    method: Literal["listing_page", "alias_page"]
    args: tuple[object, ...]

    def render(self, renderer: Renderer) -> bytes:
        """The page's bytes."""
        make: Callable[..., bytes] = getattr(renderer, self.method)
        return make(*self.args)

    @property
    def size(self) -> int:
        """About how many characters the job holds until a worker is done with it (its text)."""
        return sum(_text_size(arg) for arg in self.args)


@dataclass(frozen=True)
class FeedJob:
    """A listing's feeds: the items they show (as read, with URL and fingerprint), the files to write."""

    listing: Listing
    shown: list[tuple[SiteItem, str, str]]
    files: list[tuple[str, str]]  # (name in ``Renderer.feeds``, site path)

    @property
    def size(self) -> int:
        """About how many characters the job holds: its items' bodies and front matter."""
        return sum(len(site_item.item.body) + FRONT_MATTER_CHARS for site_item, _, _ in self.shown)


@dataclass(frozen=True)
class ListingJob:
    """A listing page whose cards the worker reads from the build's committed state.

    The page holds the items of ``listing`` whose sort keys are from ``first`` to ``last``: the
    build's process reads only their digests, and the cards do not cross between processes.
    """

    path: str
    listing: Listing
    pager: Pager
    first: str
    last: str

    @property
    def size(self) -> int:
        """About how many characters the job holds: a listing, a pager and two keys."""
        return 2 * OBJECT_CHARS + len(self.first) + len(self.last)

    def render(self, renderer: Renderer, cards: CardReader) -> bytes:
        """The page's bytes, its cards newest first."""
        oldest_first = cards.cards(self.listing.url, self.first, self.last)
        return renderer.listing_page(self.listing, self.pager, oldest_first[::-1])


def _text_size(value: object) -> int:
    """The characters of a job's argument: its text, or of the texts it lists; a small object's guess."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_text_size(part) for part in value)
    return OBJECT_CHARS


def portable(site_item: SiteItem) -> SiteItem:
    """The item as read from its source, without what was computed from it since (sent as it is)."""
    item = site_item.item
    copy = CuratedItem(item.front_matter, item.body, item.variant, item.source_path)
    return SiteItem(item=copy, key=site_item.key, community=site_item.community)


class UnitEmitter:
    """A worker's ``makeitems.Emitter``: compares with the unit's digests, writes, keeps the records."""

    def __init__(self, writer: SiteWriter, previous: Mapping[str, str]) -> None:
        self.writer = writer
        self.previous = previous
        self.result = UnitResult(MadeItems())

    def emit(self, path: str, digest: str, owner: str, make: Callable[[], bytes], page: int = 0) -> bool:
        """Write ``path`` unless the last build wrote it from the same inputs."""
        self.result.files.append(FileRecord(path, digest, owner, page))
        if self.previous.get(path) == digest:
            return False
        self.writer.write(path, make())
        self.result.written += 1
        return True

    def copy(self, path: str, digest: str, owner: str, source: str) -> None:
        """Left to the build's process, which compares and records it."""
        self.result.copies.append((path, digest, owner, source))


class _Worker:
    """One worker process's renderer, writer and item maker."""

    def __init__(self, setup: WorkerSetup) -> None:
        self.renderer = Renderer(setup.meta, setup.template_dirs)
        self.writer = SiteWriter(setup.out_dir)
        self.maker = ItemMaker(setup.inputs, self.renderer, UnitEmitter(self.writer, {}))
        self.source = setup.source
        self.state_file = setup.state_file
        self._cards: CardReader | None = None

    def cards(self) -> CardReader:
        """This worker's reader of the build's state, opened at its first listing page."""
        if self._cards is None:
            assert self.state_file is not None, "a listing job needs the build's state"
            self._cards = CardReader(self.state_file)
        return self._cards

    def _read(self, keys: Sequence[str], prints: Sequence[str]) -> list[SiteItem]:
        """The items of ``keys`` from this worker's source; ``ItemsChanged`` if one changed since."""
        assert self.source is not None, "a unit without items needs a source"
        images = self.maker.inputs.images
        loaded = self.source.load(keys)
        for key, print_, (_, found) in zip(keys, prints, loaded, strict=True):
            if fingerprint(found, images) != print_:
                raise ItemsChanged(f"item {key} changed while the site was being built")
        return [site_item for site_item, _ in loaded]

    def make(self, unit: ItemUnit) -> UnitResult:
        items = unit.items if unit.items is not None else self._read(unit.keys, unit.prints)
        places = zip(unit.prints, unit.claims, unit.urls, strict=True)
        entries = [(item, *place) for item, place in zip(items, places, strict=True)]
        emitter = UnitEmitter(self.writer, unit.previous)
        self.maker.emitter = emitter
        emitter.result.made = self.maker.make(entries)
        return emitter.result

    def pages(self, jobs: Sequence[PageJob | ListingJob]) -> int:
        for job in jobs:
            if isinstance(job, ListingJob):
                self.writer.write(job.path, job.render(self.renderer, self.cards()))
            else:
                self.writer.write(job.path, job.render(self.renderer))
        return len(jobs)

    def feeds(self, job: FeedJob) -> int:
        made = self.renderer.feeds(job.listing, [self.maker.view(*entry) for entry in job.shown])
        for name, path in job.files:
            self.writer.write(path, made[name])
        return len(job.files)


_worker: _Worker | None = None  # set in each worker process by ``_start``, its initializer


def _start(setup: WorkerSetup) -> None:
    global _worker  # a worker process's own renderer and store, made once
    _worker = _Worker(setup)


def _this_worker() -> _Worker:
    assert _worker is not None, "not a worker process"
    return _worker


def _make_unit(unit: ItemUnit) -> UnitResult:
    return _this_worker().make(unit)


def _make_feeds(job: FeedJob) -> int:
    return _this_worker().feeds(job)


def _render_pages(jobs: Sequence[PageJob | ListingJob]) -> int:
    return _this_worker().pages(jobs)


class PagePool:
    """The worker processes of one full build."""

    def __init__(self, setup: WorkerSetup, workers: int) -> None:
        self.workers = workers
        self.reads_items = setup.source is not None  # the workers read items: units carry keys
        self.reads_state = setup.state_file is not None  # and listing pages' cards, once committed
        self._executor = ProcessPoolExecutor(workers, initializer=_start, initargs=(setup,))

    def submit_unit(self, unit: ItemUnit) -> Future[UnitResult]:
        """Have a worker make a unit's pages."""
        return self._executor.submit(_make_unit, unit)

    def submit_pages(self, jobs: Sequence[PageJob | ListingJob]) -> Future[int]:
        """Have a worker render and write pages; how many it wrote."""
        return self._executor.submit(_render_pages, list(jobs))

    def submit_feeds(self, job: FeedJob) -> Future[int]:
        """Have a worker make and write a listing's feeds; how many files it wrote."""
        return self._executor.submit(_make_feeds, job)

    def close(self, *, cancel: bool = False) -> None:
        """Wait for the workers to end (dropping the work not started when ``cancel``)."""
        self._executor.shutdown(wait=True, cancel_futures=cancel)
