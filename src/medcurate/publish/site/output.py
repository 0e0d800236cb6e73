"""Writing a build's files: in this process, or in a writer process while this one renders.

A cold build creates one directory and one file per page (clean URLs): at 1,000 items that is a
third of the build, nearly all of it time spent in the kernel. ``SpawnedWriter`` hands each file's
bytes through a pipe to a small child process that creates the files, so the kernel's work runs on
another core while this process renders the next pages. That pays only while one process renders:
when forked helpers render too, every core is busy and each process writes its own files
(``DirectWriter``), which was faster than a third process writing for the build's main one.

The child is a new interpreter (``python -I -S writer_process.py``, standard library only), not a
fork: forking copies this process's page tables and then every page it touches while rendering,
and forking a threaded process (the web app) is unsafe. Written by hand because no library writes a
stream of files in another process; ``writer_process`` documents the frames.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from typing import IO, TYPE_CHECKING, Protocol

from medcurate.errors import PublishError
from medcurate.publish.site import writer_process
from medcurate.publish.site.writer_process import COPY, HEADER, WRITE, copy_file, write_file

if TYPE_CHECKING:
    import subprocess

# Bytes gathered before one write to the pipe: fewer system calls.
_CHUNK = 1 << 17
# Linux's largest pipe for an unprivileged process: the renderer runs up to this far ahead of the writer
# instead of waiting on a 64 KiB pipe whenever the writer is in the middle of a file.
_PIPE_SIZE = 1 << 20
# Below this many files a writer process costs more (its start-up, about 20 ms) than it saves.
SPAWN_THRESHOLD = 300


class FileWriter(Protocol):
    """Where a build's outputs go: relative POSIX paths below the site root."""

    def write(self, rel: str, data: bytes) -> None:
        """Create or replace ``rel`` with ``data``."""

    def copy(self, rel: str, source: str) -> None:
        """Create or replace ``rel`` with a copy of the file ``source``."""

    def close(self) -> None:
        """Finish every pending write; raises ``PublishError`` when any failed."""


class DirectWriter:
    """Writes each file as it comes, in this process."""

    def __init__(self, root: str) -> None:
        self._root = root
        self._made: set[str] = set()

    def write(self, rel: str, data: bytes) -> None:
        """Create or replace ``rel`` with ``data``."""
        try:
            write_file(self._root, rel, data, self._made)
        except ValueError as exc:
            raise PublishError(str(exc)) from exc
        except OSError as exc:
            raise PublishError(f"cannot write {rel} in {self._root}: {exc.strerror or exc}") from exc

    def copy(self, rel: str, source: str) -> None:
        """Create or replace ``rel`` with a copy of ``source``."""
        try:
            copy_file(self._root, rel, source, self._made)
        except ValueError as exc:
            raise PublishError(str(exc)) from exc
        except OSError as exc:
            detail = exc.strerror or exc
            raise PublishError(f"cannot copy {source} to {rel} in {self._root}: {detail}") from exc

    def close(self) -> None:
        """Nothing is pending."""


class SpawnedWriter:
    """Sends each file to a writer process; ``close`` waits for it and reports its first error."""

    def __init__(self, root: str) -> None:
        import subprocess  # here: builds that write few files never need it

        self._root = root
        self._process: subprocess.Popen[bytes] = subprocess.Popen(
            [sys.executable, "-I", "-S", writer_process.__file__, root],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            bufsize=0,
        )
        assert self._process.stdin is not None
        self._pipe: IO[bytes] = self._process.stdin
        _enlarge_pipe(self._pipe.fileno())
        self._buffer = bytearray()
        self._broken = False

    def _send(self, kind: bytes, rel: str, payload: bytes) -> None:
        path = rel.encode("utf-8")
        self._buffer += HEADER.pack(kind, len(path), len(payload))
        self._buffer += path
        self._buffer += payload
        if len(self._buffer) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._broken or not self._buffer:
            self._buffer.clear()
            return
        try:
            self._pipe.write(self._buffer)
        except BrokenPipeError:
            self._broken = True  # the writer died; close() says why
        self._buffer.clear()

    def write(self, rel: str, data: bytes) -> None:
        """Queue ``rel`` with ``data``."""
        self._send(WRITE, rel, data)

    def copy(self, rel: str, source: str) -> None:
        """Queue a copy of ``source`` to ``rel``."""
        self._send(COPY, rel, source.encode("utf-8"))

    def close(self) -> None:
        """Wait until every file is written; ``PublishError`` with the writer's message if one failed."""
        self._flush()
        with suppress(BrokenPipeError):
            self._pipe.close()
        assert self._process.stderr is not None
        message = self._process.stderr.read().decode("utf-8", "replace").strip()
        self._process.stderr.close()
        if self._process.wait() != 0:
            raise PublishError(message or f"the site's writer process failed in {self._root}")


def _enlarge_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or a lower limit: the pipe keeps its size, the build only waits more


def open_writer(root: str, files: int) -> FileWriter:
    """A writer for ``files`` outputs below ``root``: a writer process when there are enough of them."""
    if files >= SPAWN_THRESHOLD and sys.executable and os.path.isfile(writer_process.__file__):
        with suppress(OSError):
            return SpawnedWriter(root)
    return DirectWriter(root)
