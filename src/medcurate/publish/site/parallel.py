"""Forked helper processes: a build's second core, for the work that splits cleanly.

A helper is forked, not started: it inherits the build's items, compiled templates and plan, and
only its result crosses back, through a pipe, as bytes. Work dealt out in parts goes through a
``PartQueue``: whichever process is free takes the next part, so that none waits on another.

Written by hand because the standard library's pools start worker processes, pickle the work and
run handler threads, which cost more than they save in a build of about a second; only the pipe
protocol here is ours: one byte of status (``+`` done, ``-`` failed), then the result or the error
message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import suppress

from medcurate.errors import PublishError

_DONE = b"+"
_FAILED = b"-"
_PART = 4  # bytes of one part number; a pipe hands out reads this small whole (POSIX: under PIPE_BUF)
_PIPE_CAPACITY = 1 << 16  # Linux's smallest pipe: the numbers are written before anyone reads


def helper_count(workers: int, work: int, threshold: int) -> int:
    """How many helpers to fork beside this process for ``work`` units (0: work alone).

    ``workers`` 0 (automatic) forks one helper on a machine with two cores or more, when there are
    at least ``threshold`` units of work to pay for the fork, and only in a process with no other
    thread: forking a threaded process (the web app) can deadlock the child. ``workers`` N > 1
    forks N - 1 helpers for that much work, threads or not; 1 never forks.
    """
    if not hasattr(os, "fork") or work < threshold:
        return 0
    if workers == 0:
        import threading  # here: most builds are too small to ask

        return 1 if (os.cpu_count() or 1) >= 2 and threading.active_count() == 1 else 0
    return max(workers - 1, 0)


class Helper:
    """A forked helper: ``join`` waits for it and returns its result (the same on every call)."""

    def __init__(self, pid: int, result_fd: int) -> None:
        self.pid = pid
        self._result_fd = result_fd
        self._outcome: bytes | PublishError | None = None

    def join(self) -> bytes:
        """The helper's result; ``PublishError`` with its message when it failed."""
        if self._outcome is None:
            self._outcome = self._wait()
        if isinstance(self._outcome, PublishError):
            raise self._outcome
        return self._outcome

    def _wait(self) -> bytes | PublishError:
        with os.fdopen(self._result_fd, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == 0 and data[:1] == _DONE:
            return data[1:]
        message = data[1:].decode("utf-8", "replace") if data[:1] == _FAILED else ""
        return PublishError(message or f"a build helper process ended with status {code}")


def fork_helper(work: Callable[[], bytes]) -> Helper:
    """Run ``work`` in a forked process; the child leaves with ``os._exit``, running no cleanup."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            try:
                reply = _DONE + work()
                status = 0
            except BaseException as exc:  # the helper reports every failure to its parent
                reply = _FAILED + f"{exc}".encode("utf-8", "replace")
            _write_all(write_end, reply)
        finally:
            os._exit(status)
    os.close(write_end)
    return Helper(pid=pid, result_fd=read_end)


class PartQueue:
    """The numbers 0 .. count - 1 in a pipe, each taken by exactly one of the processes that share it.

    Made before the fork; every process then iterates ``take()`` until the pipe is empty. A read of
    four bytes from a pipe is atomic, so no number is taken twice and none is lost.
    """

    def __init__(self, count: int) -> None:
        if count * _PART > _PIPE_CAPACITY:
            raise ValueError(f"{count} parts do not fit in a pipe: deal larger parts")
        read_end, write_end = os.pipe()
        try:
            numbers = b"".join(n.to_bytes(_PART, "big") for n in range(count))
            written = os.write(write_end, numbers) if numbers else 0
        finally:
            os.close(write_end)
        if written != len(numbers):
            os.close(read_end)
            raise OSError("the part queue's pipe took only part of the numbers")
        self._fd = read_end

    @staticmethod
    def capacity() -> int:
        """The most parts a queue holds."""
        return _PIPE_CAPACITY // _PART

    def take(self) -> Iterator[int]:
        """The next free part number, until there is none left."""
        while len(data := os.read(self._fd, _PART)) == _PART:
            yield int.from_bytes(data, "big")

    def close(self) -> None:
        """Release this process's end of the pipe."""
        with suppress(OSError):
            os.close(self._fd)


def join_all(helpers: list[Helper]) -> list[bytes]:
    """Every helper's result, all of them waited for even when one failed (then its error is raised)."""
    results: list[bytes] = []
    failure: PublishError | None = None
    for helper in helpers:
        try:
            results.append(helper.join())
        except PublishError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return results


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    with suppress(BrokenPipeError):
        while view:
            view = view[os.write(fd, view) :]
