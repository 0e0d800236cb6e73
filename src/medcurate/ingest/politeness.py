"""Per-host politeness: the limiter of one batch's event loop, and the one shared through Redis.

``HostLimiter`` is the seam ``FetchOptions.host_limiter`` takes; ``InProcessHostLimiter`` serves one
batch (the default). ``RedisHostLimiter``: each queue worker fetches its own batches, so a throttle in
each process would let four workers hit one news site four times as often as configured. It keeps,
per host, the leases of the requests in flight (a sorted set scored by expiry, so a killed worker's
slot frees itself) and the earliest time the next request may start; one Lua script takes a slot
atomically, on the Redis clock, so the machines' clocks do not matter.

Written by hand because no maintained library offers both a per-key concurrency limit and a
minimum spacing between starts on Redis for asyncio (``limits`` and ``redis``'s locks each give one
half). The Redis calls are short and run on a thread (``asyncio.to_thread``), so one limiter serves
any event loop: the pipeline starts a new loop for every batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

DEFAULT_LEASE_SECONDS = 300.0
RETRY_SECONDS = 0.05

# KEYS: leases (sorted set), next start (string). ARGV: token, concurrency, delay ms, lease ms, spaced.
# Returns 0 when the slot is taken, else how many milliseconds to wait before asking again.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 50
end
if ARGV[5] == '1' then
  local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
  if next_start > now then
    return next_start - now
  end
  redis.call('SET', KEYS[2], now + tonumber(ARGV[3]), 'PX', tonumber(ARGV[3]) + 60000)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) + 60000)
return 0
"""


class HostLimiter(Protocol):
    """Per-host politeness: how many requests a host gets at once, and how far apart they start.

    ``FetchOptions.host_limiter`` is None by default (an ``InProcessHostLimiter`` per batch);
    ``RedisHostLimiter`` shares the limits between every worker on a queue.
    """

    def slot(self, host: str, *, delay: float, spaced: bool = True) -> AbstractAsyncContextManager[None]:
        """Hold one of the host's slots, started no sooner than ``delay`` after the previous start."""
        ...


class InProcessHostLimiter:
    """Per-host concurrency and spacing of request starts, within one event loop."""

    def __init__(
        self,
        concurrency: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._concurrency = max(1, concurrency)
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._next_start: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def slot(self, host: str, *, delay: float, spaced: bool = True) -> AsyncIterator[None]:
        """Hold one of the host's slots, started no sooner than its delay after the previous start."""
        sem = self._slots.setdefault(host, asyncio.Semaphore(self._concurrency))
        async with sem:
            if not spaced:
                yield
                return
            async with self._locks.setdefault(host, asyncio.Lock()):
                wait = self._next_start.get(host, 0.0) - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                self._next_start[host] = self._clock() + delay
            yield


class RedisHostLimiter:
    """At most ``concurrency`` requests per host at once, starts ``delay`` apart, across processes."""

    def __init__(
        self,
        url: str,
        *,
        concurrency: int,
        prefix: str = "medcurate:politeness",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        connection: Any = None,
    ) -> None:
        from redis import Redis

        self._redis = connection or Redis.from_url(url)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._concurrency = max(1, concurrency)
        self._prefix = prefix
        self._lease_ms = int(lease_seconds * 1000)

    def _keys(self, host: str) -> list[str]:
        return [f"{self._prefix}:{host}:leases", f"{self._prefix}:{host}:next"]

    def _try(self, host: str, token: str, delay: float, spaced: bool) -> int:
        args: list[str | int] = [token, self._concurrency, int(delay * 1000), self._lease_ms, int(spaced)]
        return int(self._acquire(keys=self._keys(host), args=args))

    @contextlib.asynccontextmanager
    async def slot(self, host: str, *, delay: float, spaced: bool = True) -> AsyncIterator[None]:
        """Wait for one of the host's slots (and its turn to start), hold it for the block."""
        token = uuid.uuid4().hex
        while (wait_ms := await asyncio.to_thread(self._try, host, token, delay, spaced)) != 0:
            await asyncio.sleep(max(wait_ms / 1000, RETRY_SECONDS))
        try:
            yield
        finally:
            await asyncio.to_thread(self._redis.zrem, self._keys(host)[0], token)
