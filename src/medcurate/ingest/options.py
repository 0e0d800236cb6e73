"""How to fetch: the ``FetchOptions`` every fetch takes, and their named defaults.

Kept apart from ``fetch`` so that the session (``session``) and the public calls (``fetch``) share
it without importing each other.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from medcurate import __version__
from medcurate.ingest.netguard import NetPolicy
from medcurate.ingest.politeness import HostLimiter
from medcurate.ingest.robots import RobotsRules

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COMPRESSION_RATIO",
    "DEFAULT_MAX_CRAWL_DELAY",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_PER_HOST_CONCURRENCY",
    "DEFAULT_PER_HOST_DELAY",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "FetchOptions",
]

PROJECT_URL = "https://github.com/medcurate/medcurate"
DEFAULT_USER_AGENT = f"medcurate/{__version__} (+{PROJECT_URL})"
ROBOTS_AGENT = "medcurate"
DEFAULT_CONCURRENCY = 8
DEFAULT_PER_HOST_CONCURRENCY = 2
DEFAULT_PER_HOST_DELAY = 1.0
DEFAULT_MAX_CRAWL_DELAY = 10.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_TOTAL_TIMEOUT = 60.0
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_RETRY_WAIT = 30.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_DECOMPRESSED_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_COMPRESSION_RATIO = 100.0


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """How to fetch: limits, politeness, timeouts, the SSRF policy and the cache directory.

    ``verify`` is True (system-independent certifi roots), False, or an ``ssl.SSLContext``.
    ``clock`` and ``sleep`` are the time the politeness spacing and the retry back-off run on
    (``time.monotonic`` and ``asyncio.sleep``); tests pass a fake pair and check the waits asked for.
    Network deadlines always run on the event loop's real clock.
    ``robots_cache`` (host key -> rules) outlives one session when given: the scheduler passes one
    per tick, so that the refreshes of a tick, each its own session, read a host's robots.txt once.
    """

    concurrency: int = DEFAULT_CONCURRENCY
    per_host_concurrency: int = DEFAULT_PER_HOST_CONCURRENCY
    per_host_delay: float = DEFAULT_PER_HOST_DELAY
    max_crawl_delay: float = DEFAULT_MAX_CRAWL_DELAY
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    max_bytes: int = DEFAULT_MAX_BYTES
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO
    user_agent: str = DEFAULT_USER_AGENT
    respect_robots: bool = True
    cache_dir: Path | None = None
    policy: NetPolicy = field(default_factory=NetPolicy)
    verify: ssl.SSLContext | bool = field(default=True, compare=False)
    host_limiter: HostLimiter | None = field(default=None, compare=False)
    robots_cache: dict[str, RobotsRules] | None = field(default=None, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False, repr=False)
