"""The writer process of ``output.SpawnedWriter``: creates the files framed on its stdin.

Run as ``python -I -S writer_process.py ROOT``: it imports only the standard library, so that it
starts in about 20 ms. Frame: one byte of kind (``w`` write bytes, ``c`` copy a file), the relative
path's length and the payload's length (two unsigned 32-bit big-endian integers), the path (UTF-8),
the payload (the file's bytes, or the UTF-8 path of the file to copy). The first error goes to
stderr; the process then keeps draining its input, so that the parent never blocks on a full pipe,
and exits 1.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from contextlib import suppress
from typing import IO

HEADER = struct.Struct("!cII")
WRITE = b"w"
COPY = b"c"
READ_BUFFER = 1 << 18
_FILE_MODE = 0o666  # open()'s default, before the umask


def _make_dir(root: str, rel: str, made: set[str]) -> None:
    """Create ``root/rel`` and any missing parents: one ``mkdir`` call per new directory, no stat."""
    try:
        os.mkdir(f"{root}/{rel}")
    except FileNotFoundError:
        parent = rel.rpartition("/")[0]
        if parent:
            _make_dir(root, parent, made)
        else:
            os.makedirs(root, exist_ok=True)
        with suppress(FileExistsError):
            os.mkdir(f"{root}/{rel}")
    except FileExistsError:
        pass
    made.add(rel)


def _parent_made(root: str, rel: str, made: set[str]) -> None:
    parent = rel.rpartition("/")[0]
    if parent and parent not in made:
        _make_dir(root, parent, made)


def check_inside(rel: str) -> None:
    """``ValueError`` unless ``rel`` is a relative path that stays below the root (no ``..``)."""
    if not rel or rel[0] == "/" or "\\" in rel or "\x00" in rel or ".." in rel.split("/"):
        raise ValueError(f"refused: {rel!r} resolves outside the site's folder")


def write_file(root: str, rel: str, data: bytes | memoryview, made: set[str]) -> None:
    """Write one output file; ``made`` remembers the directories already created."""
    check_inside(rel)
    _parent_made(root, rel, made)
    # os.open/os.write instead of open(): no text and buffer layers for a file written in one call.
    fd = os.open(f"{root}/{rel}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def copy_file(root: str, rel: str, source: str, made: set[str]) -> None:
    """Copy ``source`` to the output file ``rel``."""
    check_inside(rel)
    _parent_made(root, rel, made)
    shutil.copyfile(source, f"{root}/{rel}")


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the build ended in the middle of a file")
    return data


def serve(stream: IO[bytes], root: str) -> int:
    """Create the files framed on ``stream`` below ``root``; 0 when all were written, else 1."""
    made: set[str] = set()
    failed = False
    while header := stream.read(HEADER.size):
        if len(header) != HEADER.size:
            raise EOFError("the build ended in the middle of a file")
        kind, path_size, payload_size = HEADER.unpack(header)
        rel = _read_exactly(stream, path_size).decode("utf-8")
        payload = _read_exactly(stream, payload_size)
        if failed:
            continue
        try:
            if kind == WRITE:
                write_file(root, rel, payload, made)
            elif kind == COPY:
                copy_file(root, rel, payload.decode("utf-8"), made)
            else:
                raise ValueError(f"unknown frame kind {kind!r}")
        except (OSError, ValueError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            sys.stderr.write(f"cannot write {rel} in {root}: {detail}\n")
            sys.stderr.flush()
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(serve(os.fdopen(0, "rb", buffering=READ_BUFFER), sys.argv[1]))
