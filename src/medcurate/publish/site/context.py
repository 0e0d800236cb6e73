"""What every stage of a build shares: one object, made by ``build.build_site`` and passed in.

``BuildContext.emit`` is how a stage produces a file: it compares the file's input digest with the
one the state recorded and only then renders it and hands it to the writer, recording the new
digest (in batches) with the file's owner (an item, a listing, the search index...), so that a
later build can find and remove what that owner no longer makes. ``BuildContext.emit_page`` does
the same for a listing or alias page described by a ``parallel.PageJob``: with a pool of workers
(a large full build) the page is rendered and written by one of them, in batches of ``JOB_BATCH``;
``settle`` waits for them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

from medcurate.config import SiteConfig
from medcurate.publish.site.itemsource import ItemSource
from medcurate.publish.site.parallel import FeedJob, ListingJob, PageJob, PagePool
from medcurate.publish.site.render import Renderer
from medcurate.publish.site.state import FileRecord, SiteState
from medcurate.publish.site.write import SiteWriter

RECORD_BATCH = 2000  # file records written to the state at once
JOB_BATCH = 250  # listing or alias pages sent to a worker at once
# What may wait for the workers, in characters of the pages' inputs. Each batch holds them in the
# build's process until a worker is done with it: unbounded, they grew with the site (1.45 GB over
# all processes at 1,000,000 items). Bounded by size, not by count: a batch of alias pages is 4% of
# a batch of listing pages, so the alias pages queued first keep the workers busy while this
# process reads the listings (``build._build``).
IN_FLIGHT_CHARS = 16_000_000


@dataclass(frozen=True, kw_only=True)
class Sizes:
    """The sizes a build lays the site out by."""

    page_size: int
    feed_size: int
    search_text_chars: int


@dataclass(kw_only=True)
class BuildContext:
    """The state, the writer, the renderer and the inputs every stage of one build reads."""

    state: SiteState
    writer: SiteWriter
    renderer: Renderer
    source: ItemSource
    config: SiteConfig
    images: Mapping[str, str]
    sizes: Sizes
    site_digest: str
    fresh: bool  # the state knows no file: nothing to compare, everything is written
    pool: PagePool | None = None  # the workers of a large full build
    pending: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    jobs: list[PageJob | ListingJob] = field(default_factory=list)
    sent: deque[tuple[Future[int], int]] = field(default_factory=deque)  # with its size in characters
    in_flight: int = 0  # the characters of what was sent and is not done

    def emit(self, path: str, digest: str, owner: str, make: Callable[[], bytes], page: int = 0) -> bool:
        """Write ``path`` from ``make()`` unless the last build wrote it from the same inputs.

        Returns whether it was written.
        """
        if not self.fresh and self.state.file_digest(path) == digest:
            self.record(FileRecord(path, digest, owner, page))
            return False
        self.writer.write(path, make())
        self.record(FileRecord(path, digest, owner, page))
        return True

    def emit_page(self, digest: str, owner: str, job: PageJob, page: int = 0) -> None:
        """Write ``job``'s page unless the last build wrote it from the same inputs, by a worker if any."""
        if self.fresh or self.state.file_digest(job.path) != digest:
            if self.pool is None:
                self.writer.write(job.path, job.render(self.renderer))
            else:
                self._queue(job)
        self.record(FileRecord(job.path, digest, owner, page))

    def emit_listing_page(self, digest: str, owner: str, job: ListingJob, page: int) -> None:
        """``emit_page`` for a listing page whose cards a worker reads from the state (with a pool)."""
        if self.fresh or self.state.file_digest(job.path) != digest:
            self._queue(job)
        self.record(FileRecord(job.path, digest, owner, page))

    def _queue(self, job: PageJob | ListingJob) -> None:
        self.jobs.append(job)
        if len(self.jobs) >= JOB_BATCH:
            self._send()

    def _send(self) -> None:
        if self.pool is not None and self.jobs:
            size = sum(job.size for job in self.jobs)
            self._keep(self.pool.submit_pages(self.jobs), size)
            self.jobs = []

    def send_feeds(self, job: FeedJob) -> None:
        """Have a worker make and write a listing's feeds (there must be a pool)."""
        assert self.pool is not None
        self._keep(self.pool.submit_feeds(job), job.size)

    def _keep(self, future: Future[int], size: int) -> None:
        """Keep ``future``, first waiting for the oldest ones while more than ``IN_FLIGHT_CHARS`` wait."""
        while self.sent and self.in_flight + size > IN_FLIGHT_CHARS:
            done, done_size = self.sent.popleft()
            self.writer.written += done.result()
            self.in_flight -= done_size
        self.sent.append((future, size))
        self.in_flight += size

    def settle(self) -> None:
        """Wait for the pages sent to workers (their errors are raised here), count them as written."""
        self._send()
        for future, _ in self.sent:
            self.writer.written += future.result()
        self.sent.clear()
        self.in_flight = 0

    def copy(self, path: str, digest: str, owner: str, source: str) -> None:
        """Copy ``source`` to ``path`` unless the last build copied it from the same file."""
        if self.fresh or self.state.file_digest(path) != digest:
            self.writer.copy(path, source)
        self.record(FileRecord(path, digest, owner))

    def record(self, record: FileRecord) -> None:
        """Record a file written (or confirmed) in this build."""
        self.pending.append(record)
        if len(self.pending) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        """Record the pending files in the state."""
        self.state.record_files(self.pending)
        self.pending.clear()

    def drop(self, paths: Iterable[str]) -> None:
        """Remove files the site no longer has, and forget them."""
        self.flush()
        paths = [p for p in paths]
        self.writer.remove(paths)
        self.state.forget_files(paths)

    def drop_owned(self, owner: str, from_page: int = 0, keep: frozenset[str] = frozenset()) -> None:
        """Remove the files of ``owner`` from page ``from_page`` on, but those in ``keep``."""
        self.flush()
        self.drop(p for p in self.state.owned(owner, from_page) if p not in keep)
