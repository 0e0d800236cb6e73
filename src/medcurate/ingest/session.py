"""One fetch session: the client a batch shares, with its throttle, robots.txt rules, cache and deadlines.

``FetchSession.follow(url, accept=...)`` runs steps 1-5 and 7 of ``fetch``'s docstring for one URL:
every hop through the SSRF guard and robots.txt, the per-host throttle, one GET with retries, the
redirects followed by hand, the body read under its caps (``body.BodyReader``). ``fetch`` builds the
pages, images and feeds from its answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from medcurate.errors import (
    BlockedURL,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    MedcurateError,
    TooLarge,
    TooManyRedirects,
)
from medcurate.ingest.body import BodyReader, retry_after
from medcurate.ingest.httpcache import CachedResponse, HttpCache
from medcurate.ingest.netguard import check_url, guarded_transport
from medcurate.ingest.options import FetchOptions
from medcurate.ingest.politeness import HostLimiter, InProcessHostLimiter
from medcurate.ingest.robots import MAX_ROBOTS_BYTES, RobotsRules, robots_url

__all__ = ["ROBOTS_AGENT", "Answer", "Budget", "FetchSession"]

LOGGER = logging.getLogger(__name__)

ROBOTS_AGENT = "medcurate"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
_ACCEPT_PAGE = "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,*/*;q=0.1"


@dataclass(frozen=True)
class Answer:
    """One hop's answer, body already read and decoded."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool = False


class Budget:
    """Network time left for one URL; throttle waits and back-off sleeps are not charged."""

    def __init__(self, seconds: float, url: str) -> None:
        self.left = seconds
        self.total = seconds
        self.url = url

    @contextlib.asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        """Run a network step under the time left, charging what it used."""
        if self.left <= 0:
            raise FetchTimeout(self._message(), url=self.url)
        start = time.monotonic()
        try:
            async with asyncio.timeout(self.left):
                yield
        except TimeoutError as exc:
            raise FetchTimeout(self._message(), url=self.url) from exc
        finally:
            self.left -= time.monotonic() - start

    def _message(self) -> str:
        """Say which deadline passed."""
        return f"total deadline of {self.total:g} s passed; raise FetchOptions.total_timeout to allow more"


@contextlib.contextmanager
def _translate_errors(url: str) -> Iterator[None]:
    """Turn httpx's exceptions into medcurate's, and give guard refusals their URL."""
    try:
        yield
    except MedcurateError as exc:
        if exc.url is None:
            exc.url = url
        raise
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"{type(exc).__name__}: the server was too slow ({exc})", url=url) from exc
    except httpx.InvalidURL as exc:
        raise BlockedURL(f"refused: invalid URL ({exc})", url=url) from exc
    except httpx.HTTPError as exc:
        # The class stays in front (metrics group failures by it); pages and the CLI show the words.
        raise FetchError(
            f"{type(exc).__name__}: could not reach the site ({exc or 'connection failed'})", url=url
        ) from exc


def _host_key(url: str) -> str:
    """The throttle and robots key of a URL: scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}"


class FetchSession:
    """One client shared by a batch, with its throttle, robots rules and cache."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        timeout = httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            pool=None,
        )
        self.client = httpx.AsyncClient(
            transport=guarded_transport(options.policy, verify=options.verify),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": options.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": _ACCEPT_PAGE,
            },
        )
        self.throttle: HostLimiter = options.host_limiter or InProcessHostLimiter(
            options.per_host_concurrency, clock=options.clock, sleep=options.sleep
        )
        self.delays: dict[str, float] = {}
        self.cache = HttpCache(options.cache_dir) if options.cache_dir is not None else None
        # The session's own, unless the options share one beyond it (the scheduler's tick).
        self._robots: dict[str, RobotsRules] = {} if options.robots_cache is None else options.robots_cache
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    async def exchange(
        self,
        url: str,
        budget: Budget,
        *,
        accept: Callable[[str], None] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        truncate: bool = False,
        spaced: bool = True,
    ) -> Answer:
        """One GET with retries on 429/5xx; redirects and 304s are returned, other errors raised."""
        opts = self.options
        cap = opts.max_bytes if max_bytes is None else max_bytes
        host = _host_key(url)
        attempt = 0
        while True:
            wait: float | None = None
            with _translate_errors(url):
                async with (
                    self.throttle.slot(host, delay=self.delays.get(host, opts.per_host_delay), spaced=spaced),
                    budget.spend(),
                    self.client.stream("GET", url, headers=headers) as resp,
                ):
                    status = resp.status_code
                    got = {k.lower(): v for k, v in resp.headers.items()}
                    if status in _RETRY_STATUSES and attempt < opts.max_retries:
                        hinted = retry_after(got.get("retry-after"))
                        wait = hinted if hinted is not None else opts.backoff * 2**attempt
                    elif status in _REDIRECT_STATUSES or status == 304:
                        return Answer(url, status, got, b"")
                    elif status >= 400:
                        raise HTTPStatusError(
                            f"the server answered HTTP {status} {resp.reason_phrase}"
                            + (f" after {attempt + 1} attempts" if attempt else ""),
                            url=url,
                            status_code=status,
                            retry_after=retry_after(got.get("retry-after")),
                        )
                    else:
                        if accept is not None:
                            accept(got.get("content-type", ""))
                        body = await self._read(resp, got, cap, url, truncate=truncate)
                        return Answer(url, status, got, body)
            attempt += 1
            delay = min(wait if wait is not None else 0.0, opts.max_retry_wait)
            LOGGER.info("HTTP %s from %s; retry %d in %.1f s", status, url, attempt, delay)
            await opts.sleep(delay)

    async def _read(
        self, resp: httpx.Response, headers: dict[str, str], cap: int, url: str, *, truncate: bool
    ) -> bytes:
        """Stream the body under the caps; refuse a declared length over the cap before reading."""
        declared = headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            raise TooLarge(
                f"refused: Content-Length {int(declared):,} is over the {cap:,} byte cap; "
                "raise FetchOptions.max_bytes to allow it",
                url=url,
            )
        reader = BodyReader(
            headers.get("content-encoding", ""),
            max_bytes=cap,
            max_decompressed_bytes=self.options.max_decompressed_bytes,
            max_ratio=self.options.max_compression_ratio,
            url=url,
        )
        try:
            async for chunk in resp.aiter_raw():
                reader.feed(chunk)
        except TooLarge:
            if not truncate:
                raise
        return reader.finish()[:cap] if truncate else reader.finish()

    async def robots_for(self, url: str) -> RobotsRules:
        """The robots.txt rules of a URL's host, fetched once per session (or per shared cache)."""
        key = _host_key(url)
        async with self._robots_locks.setdefault(key, asyncio.Lock()):
            rules = self._robots.get(key)
            if rules is None:
                rules = self._robots[key] = await self._load_robots(robots_url(url))
            if key not in self.delays:
                delay = rules.crawl_delay(ROBOTS_AGENT)
                if delay is not None:
                    wanted = max(self.options.per_host_delay, min(delay, self.options.max_crawl_delay))
                    self.delays[key] = wanted
            return rules

    async def _load_robots(self, url: str) -> RobotsRules:
        """Fetch robots.txt through the guard, following up to five redirects (RFC 9309)."""
        budget = Budget(self.options.total_timeout, url)
        current = url
        for _ in range(6):
            try:
                check_url(current, self.options.policy)
                # robots.txt is not spaced from the page that follows: one visit, two requests.
                answer = await self.exchange(
                    current, budget, max_bytes=MAX_ROBOTS_BYTES, truncate=True, spaced=current != url
                )
            except BlockedURL as exc:
                if current == url:  # the host itself is refused: say so, not "robots.txt unreachable"
                    raise
                return RobotsRules.unreachable(exc.message)
            except HTTPStatusError as exc:
                return RobotsRules.from_response(exc.status_code, b"", source=current)
            location = answer.headers.get("location")
            if answer.status in _REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                continue
            return RobotsRules.from_response(answer.status, answer.body, source=current)
        return RobotsRules(allow_all=True, source=f"{url} (too many redirects: no rules)")

    async def check_hop(self, url: str) -> None:
        """Refuse a hop the guard or robots.txt forbids, before requesting it."""
        check_url(url, self.options.policy)
        if self.options.respect_robots:
            rules = await self.robots_for(url)
            if not rules.allows(url, ROBOTS_AGENT):
                raise BlockedURL(
                    f"refused: disallowed for {ROBOTS_AGENT} by {rules.source}; "
                    "FetchOptions(respect_robots=False) switches robots.txt off",
                    url=url,
                )

    async def follow(
        self,
        url: str,
        *,
        accept: Callable[[str], None],
        max_bytes: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Answer, tuple[tuple[str, int], ...]]:
        """Follow redirects hop by hop, each hop guarded; return the final answer and the chain."""
        budget = Budget(self.options.total_timeout, url)
        chain: list[tuple[str, int]] = []
        current = url
        while True:
            with _translate_errors(current):
                await self.check_hop(current)
            cached = self.cache.load(current) if self.cache is not None else None
            conditional = cached.conditional_headers() if cached is not None else {}
            answer = await self.exchange(
                current,
                budget,
                accept=accept,
                headers={**(headers or {}), **conditional},
                max_bytes=max_bytes,
            )
            chain.append((current, answer.status))
            if answer.status == 304 and cached is not None:
                return _answer_from_cache(cached), tuple(chain)
            if answer.status == 304:
                raise HTTPStatusError("HTTP 304 to an unconditional request", url=current, status_code=304)
            if answer.status not in _REDIRECT_STATUSES:
                if self.cache is not None:
                    self.cache.store(current, status=answer.status, headers=answer.headers, body=answer.body)
                return answer, tuple(chain)
            location = answer.headers.get("location")
            if not location:
                raise HTTPStatusError(
                    f"HTTP {answer.status} redirect without a Location",
                    url=current,
                    status_code=answer.status,
                )
            nxt = urljoin(current, location.strip())
            shown = " -> ".join(f"{u} ({s})" for u, s in chain)
            if nxt in {u for u, _ in chain}:
                raise TooManyRedirects(f"redirect loop: {shown} -> {nxt}", url=url)
            if len(chain) > self.options.max_redirects:
                raise TooManyRedirects(
                    f"more than {self.options.max_redirects} redirects: {shown}; "
                    "raise FetchOptions.max_redirects to allow more",
                    url=url,
                )
            current = nxt


def _answer_from_cache(cached: CachedResponse) -> Answer:
    """The stored answer, as if just received."""
    return Answer(cached.url, cached.status, dict(cached.headers), cached.body, from_cache=True)
