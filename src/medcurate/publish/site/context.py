"""What every stage of a build shares: one object, made by ``build.build_site`` and passed in.

``BuildContext.emit`` is how a stage produces a file: it compares the file's input digest with the
one the state recorded and only then renders it and hands it to the writer, recording the new
digest (in batches) with the file's owner (an item, a listing, the search index...), so that a
later build can find and remove what that owner no longer makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from medcurate.config import SiteConfig
from medcurate.publish.site.itemsource import ItemSource
from medcurate.publish.site.render import Renderer
from medcurate.publish.site.state import FileRecord, SiteState
from medcurate.publish.site.write import SiteWriter

RECORD_BATCH = 2000  # file records written to the state at once


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
    pending: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def emit(self, path: str, digest: str, owner: str, make: Callable[[], bytes], page: int = 0) -> bool:
        """Write ``path`` from ``make()`` unless the last build wrote it from the same inputs.

        Returns whether it was written.
        """
        if not self.fresh and self.state.file_digest(path) == digest:
            self._record(FileRecord(path, digest, owner, page))
            return False
        self.writer.write(path, make())
        self._record(FileRecord(path, digest, owner, page))
        return True

    def copy(self, path: str, digest: str, owner: str, source: str) -> None:
        """Copy ``source`` to ``path`` unless the last build copied it from the same file."""
        if self.fresh or self.state.file_digest(path) != digest:
            self.writer.copy(path, source)
        self._record(FileRecord(path, digest, owner))

    def _record(self, record: FileRecord) -> None:
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
