"""Every file a build writes, copies or removes goes through ``SiteWriter``, below its root.

A file is written to a temporary name in its directory and renamed over the old one, so that a
reader of the site (a web server, a sync to a host) sees the old page or the new one, never half of
one. A build decides what changed from the digests in its state (``state``) before it renders, so
the writer is only handed files that did change. Each target path passes ``target``, the one place
that turns a site path into a file path.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from medcurate.errors import PublishError

TEMPORARY_SUFFIX = ".medcurate-tmp"
FILE_MODE = 0o666  # as ``open`` makes files: the process's umask applies


def _make_directory(directory: str) -> None:
    """Make ``directory`` (and its parents) unless it exists.

    Most of a site's pages are the only file in a directory of their own (``<url>/index.html``), so
    a build first asks for the directory to be made: one system call where it is new, as it is for
    nearly every page of a first build, and one that fails at once where it exists.
    """
    try:
        os.mkdir(directory)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)


def _write_file(path: str, data: bytes) -> None:
    """Create or truncate ``path`` and write ``data`` to it.

    Through the file descriptor alone: a page is written whole in one call, so Python's buffered
    file object would only add its own system calls (a terminal check, a seek, a status) to each of
    a site's hundreds of thousands of files.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


class SiteWriter:
    """Writes, copies and removes files below ``root``; counts what it did."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self.written = 0
        self.removed = 0

    def target(self, rel: str) -> str:
        """The file path of site path ``rel``; ``PublishError`` for one that would leave the root."""
        parts = rel.split("/")
        if not rel or rel.startswith("/") or any(p in {"", ".", ".."} for p in parts) or "\\" in rel:
            raise PublishError(f"refusing to write {rel!r}: not a path inside the site")
        return f"{self._root}/{rel}"

    def write(self, rel: str, data: bytes) -> None:
        """Create or replace ``rel`` with ``data``, atomically."""
        path = self.target(rel)
        temporary = path + TEMPORARY_SUFFIX
        try:
            _make_directory(os.path.dirname(path))
            _write_file(temporary, data)
            os.replace(temporary, path)
        except OSError as exc:
            raise PublishError(f"cannot write {rel} in {self.root}: {exc.strerror or exc}") from exc
        self.written += 1

    def copy(self, rel: str, source: str) -> None:
        """Create or replace ``rel`` with a copy of the file ``source``, atomically."""
        path = self.target(rel)
        temporary = path + TEMPORARY_SUFFIX
        try:
            _make_directory(os.path.dirname(path))
            shutil.copyfile(source, temporary)
            os.replace(temporary, path)
        except OSError as exc:
            detail = exc.strerror or exc
            raise PublishError(f"cannot copy {source} to {rel} in {self.root}: {detail}") from exc
        self.written += 1

    def remove(self, paths: Iterable[str]) -> None:
        """Delete files the site no longer has, then their directories if that emptied them."""
        for rel in paths:
            path = Path(self.target(rel))
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise PublishError(f"cannot remove {rel} in {self.root}: {exc.strerror or exc}") from exc
            self.removed += 1
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent
