"""FETCH stage: download pages (HTML or PDF) and featured images safely, politely and within bounds.

Public API::

    FetchOptions(*, concurrency=8, per_host_concurrency=2, per_host_delay=1.0, ...)   # DEFAULT_* below
    async fetch_many(urls, options, *, on_result=None) -> list[FetchResult]   # never raises per URL
    async fetch_one(url, options) -> FetchedPage                               # raises medcurate.errors
    fetch_url(url, options=None) -> FetchedPage                                # sync wrapper
    async fetch_image_async(url, options, *, max_bytes=...) -> FetchedImage
    fetch_image(url, options=None, *, max_bytes=...) -> FetchedImage           # sync wrapper
    async fetch_feed_async(url, options) -> bytes                              # RSS/Atom/JSON/OPML
    fetch_feed_bytes(url, options=None) -> bytes                               # sync wrapper
    decode_html(body, http_charset=None) -> tuple[str, str]                    # text, encoding

Each URL goes through, hop by hop:

1. the SSRF guard (``netguard.check_url``; the connection itself is checked by ``GuardedBackend``);
2. robots.txt (fetched once per host through the same guard; ``respect_robots=False`` skips it);
3. the politeness throttle: at most ``per_host_concurrency`` requests to a host, starts at least
   ``per_host_delay`` seconds apart (or the host's Crawl-delay, capped);
4. one GET, with retries and exponential back-off on 429 and 5xx honouring Retry-After (capped);
5. redirects followed by hand, every hop recorded and put through 1-4 again; loops are refused;
6. the content type from the headers: neither HTML nor PDF (nor untyped) is refused unread;
7. the body read as a stream, stopped at ``max_bytes`` on the wire and at ``max_decompressed_bytes``
   or ``max_compression_ratio`` after gzip/deflate decoding (``fetchbody.BodyReader``);
8. HTML decoded (BOM, HTTP charset, ``<meta charset>``, then charset_normalizer) or PDF text
   extracted by pypdf (``fetchbody``).

robots.txt rules, the throttle and the connection pool live for one ``fetch_many`` batch (or one
``fetch_one`` call), so batch URLs from the same host together.

``total_timeout`` bounds the time one URL spends on the network (all hops, retries and body reads),
so a server dripping a byte a second is cut off even though every read succeeds; waiting for the
throttle or a Retry-After does not count. With ``cache_dir`` set, answers with validators are
stored (``httpcache``) and revalidated; a 304 serves the stored copy with ``from_cache=True``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import logging
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from medcurate import __version__
from medcurate.errors import (
    BlockedURL,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    MedcurateError,
    TooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from medcurate.fetchbody import (
    HTML_TYPES,
    PDF_TYPES,
    SNIFF_TYPES,
    BodyReader,
    Kind,
    decode_html,
    media_type,
    page_kind,
    pdf_text,
    retry_after,
)
from medcurate.httpcache import CachedResponse, HttpCache
from medcurate.netguard import NetPolicy, check_url, guarded_transport
from medcurate.robots import MAX_ROBOTS_BYTES, RobotsRules, robots_url

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COMPRESSION_RATIO",
    "DEFAULT_MAX_CRAWL_DELAY",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_PER_HOST_CONCURRENCY",
    "DEFAULT_PER_HOST_DELAY",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "FetchOptions",
    "FetchResult",
    "FetchedImage",
    "FetchedPage",
    "HostLimiter",
    "InProcessHostLimiter",
    "decode_html",
    "fetch_feed_async",
    "fetch_feed_bytes",
    "fetch_image",
    "fetch_image_async",
    "fetch_many",
    "fetch_one",
    "fetch_url",
]

LOGGER = logging.getLogger(__name__)

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
DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
_ACCEPT_PAGE = "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,*/*;q=0.1"
_ACCEPT_IMAGE = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8"
_ACCEPT_FEED = (
    "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,*/*;q=0.5"
)
_FEED_MARKERS = ("xml", "rss", "atom", "rdf", "json", "opml")
_IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF"})

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """How to fetch: limits, politeness, timeouts, the SSRF policy and the cache directory.

    ``verify`` is True (system-independent certifi roots), False, or an ``ssl.SSLContext``.
    ``clock`` and ``sleep`` are the time the politeness spacing and the retry back-off run on
    (``time.monotonic`` and ``asyncio.sleep``); tests pass a fake pair and check the waits asked for.
    Network deadlines always run on the event loop's real clock.
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
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class FetchedPage:
    """A fetched HTML page or PDF.

    ``redirect_chain`` lists every hop as ``(url, status)``, the final answer included, so
    ``redirect_chain[0][0] == requested_url`` and ``redirect_chain[-1][0] == final_url``.
    """

    requested_url: str
    final_url: str
    redirect_chain: tuple[tuple[str, int], ...]
    status_code: int
    headers: dict[str, str]
    content_type: str
    kind: Kind
    body: bytes
    text: str
    encoding: str
    fetched_at: datetime
    from_cache: bool
    elapsed: float


@dataclass(frozen=True, kw_only=True)
class FetchedImage:
    """A fetched and verified image: its bytes, Pillow format name (``"JPEG"``) and pixel size."""

    requested_url: str
    final_url: str
    content_type: str
    body: bytes
    format: str
    size: tuple[int, int]


@dataclass(frozen=True, kw_only=True)
class FetchResult:
    """The outcome for one URL of a batch: a page, or the error's class name and message."""

    url: str
    page: FetchedPage | None = None
    error: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the URL was fetched."""
        return self.page is not None


@dataclass(frozen=True)
class _Answer:
    """One hop's answer, body already read and decoded."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool = False


# --- the session: client, throttle, robots, cache --------------------------------------------------


class _Budget:
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


class HostLimiter(Protocol):
    """Per-host politeness: how many requests a host gets at once, and how far apart they start.

    ``FetchOptions.host_limiter`` is None by default (an ``InProcessHostLimiter`` per batch);
    ``medcurate.politeness.RedisHostLimiter`` shares the limits between every worker on a queue.
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
        raise FetchError(f"{type(exc).__name__}: {exc or 'connection failed'}", url=url) from exc


def _host_key(url: str) -> str:
    """The throttle and robots key of a URL: scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}"


class _Session:
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
        self._robots: dict[str, RobotsRules] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()

    async def exchange(
        self,
        url: str,
        budget: _Budget,
        *,
        accept: Callable[[str], None] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        truncate: bool = False,
        spaced: bool = True,
    ) -> _Answer:
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
                        return _Answer(url, status, got, b"")
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
                        return _Answer(url, status, got, body)
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
        """The robots.txt rules of a URL's host, fetched once per session."""
        key = _host_key(url)
        async with self._robots_locks.setdefault(key, asyncio.Lock()):
            if key not in self._robots:
                rules = await self._load_robots(robots_url(url))
                self._robots[key] = rules
                delay = rules.crawl_delay(ROBOTS_AGENT)
                if delay is not None:
                    wanted = max(self.options.per_host_delay, min(delay, self.options.max_crawl_delay))
                    self.delays[key] = wanted
            return self._robots[key]

    async def _load_robots(self, url: str) -> RobotsRules:
        """Fetch robots.txt through the guard, following up to five redirects (RFC 9309)."""
        budget = _Budget(self.options.total_timeout, url)
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
    ) -> tuple[_Answer, tuple[tuple[str, int], ...]]:
        """Follow redirects hop by hop, each hop guarded; return the final answer and the chain."""
        budget = _Budget(self.options.total_timeout, url)
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
                return _from_cache(cached), tuple(chain)
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


def _from_cache(cached: CachedResponse) -> _Answer:
    """The stored answer, as if just received."""
    return _Answer(cached.url, cached.status, dict(cached.headers), cached.body, from_cache=True)


def _accept_page(url: str) -> Callable[[str], None]:
    """Refuse, from the headers alone, a response that cannot be HTML or PDF."""

    def accept(content_type: str) -> None:
        media = content_type.partition(";")[0].strip().lower()
        if media not in HTML_TYPES | PDF_TYPES | SNIFF_TYPES:
            raise UnsupportedContent(
                f"unsupported content type {media!r}: only HTML and PDF pages are fetched"
                + ("; use fetch_image for images" if media.startswith("image/") else ""),
                url=url,
            )

    return accept


async def _fetch_page(session: _Session, url: str) -> FetchedPage:
    """Fetch one page with a session."""
    start = time.monotonic()
    answer, chain = await session.follow(url, accept=_accept_page(url))
    media, charset = media_type(answer.headers)
    kind = page_kind(media, answer.body)
    if kind is None:
        raise UnsupportedContent(f"unsupported content type {media or 'unknown'!r}: not HTML or PDF", url=url)
    if kind == "html":
        text, encoding = decode_html(answer.body, charset)
    else:
        text, encoding = await asyncio.to_thread(pdf_text, answer.body), ""
    return FetchedPage(
        requested_url=url,
        final_url=answer.url,
        redirect_chain=chain,
        status_code=answer.status,
        headers=answer.headers,
        content_type=media,
        kind=kind,
        body=answer.body,
        text=text,
        encoding=encoding,
        fetched_at=datetime.now(UTC),
        from_cache=answer.from_cache,
        elapsed=time.monotonic() - start,
    )


async def fetch_one(url: str, options: FetchOptions) -> FetchedPage:
    """Fetch one HTML page or PDF.

    Args:
        url: an absolute http(s) URL.
        options: limits, politeness, SSRF policy, cache.

    Returns:
        The page, its text decoded (HTML) or extracted (PDF).

    Raises:
        FetchError: or one of its subclasses (BlockedURL, TooLarge, FetchTimeout, TooManyRedirects,
            HTTPStatusError, UnsupportedContent).
    """
    session = _Session(options)
    try:
        return await _fetch_page(session, url)
    finally:
        await session.aclose()


async def fetch_many(
    urls: Sequence[str],
    options: FetchOptions,
    *,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch many URLs concurrently, politely; one bad URL never fails the batch.

    Args:
        urls: the URLs, in the order results are wanted.
        options: limits, politeness, SSRF policy, cache.
        on_result: called with each result as soon as it is ready (completion order).

    Returns:
        One ``FetchResult`` per URL, in input order.
    """
    session = _Session(options)
    limit = asyncio.Semaphore(max(1, options.concurrency))

    async def one(url: str) -> FetchResult:
        async with limit:
            try:
                result = FetchResult(url=url, page=await _fetch_page(session, url))
            except Exception as exc:  # a batch reports every failure instead of raising
                if not isinstance(exc, MedcurateError):
                    LOGGER.exception("unexpected error fetching %s", url)
                message = exc.message if isinstance(exc, MedcurateError) else str(exc)
                result = FetchResult(url=url, error=type(exc).__name__, message=message)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(u) for u in urls)))
    finally:
        await session.aclose()


def _accept_image(url: str) -> Callable[[str], None]:
    """Refuse, from the headers alone, a response that cannot be an image."""

    def accept(content_type: str) -> None:
        media = content_type.partition(";")[0].strip().lower()
        if not media.startswith("image/") and media not in SNIFF_TYPES:
            raise UnsupportedContent(f"unsupported content type {media!r}: not an image", url=url)
        if media in ("image/svg+xml", "image/svg"):
            raise UnsupportedContent("SVG images are not accepted as featured images", url=url)

    return accept


def _verify_image(body: bytes, url: str) -> tuple[str, tuple[int, int]]:
    """Pillow's format and size of an image, after a full verification pass."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(body)) as img:
                fmt, size = str(img.format), (int(img.size[0]), int(img.size[1]))
                if size[0] * size[1] > DEFAULT_MAX_IMAGE_PIXELS:
                    raise TooLarge(f"refused: image of {size[0]}x{size[1]} pixels is too large", url=url)
                img.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(f"refused: image is a decompression bomb ({exc})", url=url) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedContent(f"not a readable image ({exc})", url=url) from exc
    if fmt not in _IMAGE_FORMATS:
        raise UnsupportedContent(f"image format {fmt} is not accepted", url=url)
    return fmt, size


async def fetch_image_async(
    url: str, options: FetchOptions, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
) -> FetchedImage:
    """Fetch a featured image under its own size cap and verify it with Pillow.

    Raises:
        FetchError: or a subclass; ``UnsupportedContent`` when it is not a raster image.
    """
    session = _Session(options)
    try:
        answer, _chain = await session.follow(
            url, accept=_accept_image(url), max_bytes=max_bytes, headers={"Accept": _ACCEPT_IMAGE}
        )
    finally:
        await session.aclose()
    fmt, size = _verify_image(answer.body, url)
    return FetchedImage(
        requested_url=url,
        final_url=answer.url,
        content_type=media_type(answer.headers)[0],
        body=answer.body,
        format=fmt,
        size=size,
    )


def _accept_feed(url: str) -> Callable[[str], None]:
    """Refuse, from the headers alone, a response that cannot be a feed or an OPML list."""

    def accept(content_type: str) -> None:
        media = content_type.partition(";")[0].strip().lower()
        textual = media in SNIFF_TYPES or media in ("text/plain", "text/html")
        if not textual and not any(marker in media for marker in _FEED_MARKERS):
            raise UnsupportedContent(f"unsupported content type {media!r}: not a feed", url=url)

    return accept


async def fetch_feed_async(url: str, options: FetchOptions) -> bytes:
    """Fetch a feed (RSS, Atom, JSON Feed) or OPML file: its decoded-from-gzip bytes, for the parser.

    Raises:
        FetchError: or a subclass, as for pages.
    """
    session = _Session(options)
    try:
        answer, _chain = await session.follow(url, accept=_accept_feed(url), headers={"Accept": _ACCEPT_FEED})
    finally:
        await session.aclose()
    return answer.body


@dataclass(frozen=True, kw_only=True)
class FeedResponse:
    """A conditional feed request's answer: 200 with the body and its validators, or 304 and no body."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def not_modified(self) -> bool:
        """True for a 304: the feed is as it was when the validators were given."""
        return self.status == 304


async def fetch_feed_response_async(
    url: str, options: FetchOptions, *, etag: str | None = None, last_modified: str | None = None
) -> FeedResponse:
    """Fetch a feed, OPML list or sitemap conditionally (``If-None-Match``/``If-Modified-Since``).

    A subscription keeps the validators of its last answer in the database rather than in the
    on-disk cache, so that any worker of a queue sends the same conditional request; a 304 comes
    back as a ``FeedResponse`` with no body, which the caller never parses.

    Raises:
        FetchError: or a subclass, as for pages; an ``HTTPStatusError`` carries the Retry-After.
    """
    conditional = {"If-None-Match": etag} if etag else {}
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    session = _Session(replace(options, cache_dir=None))
    try:
        answer, _chain = await session.follow(
            url, accept=_accept_feed(url), headers={"Accept": _ACCEPT_FEED, **conditional}
        )
    except HTTPStatusError as exc:
        if exc.status_code == 304 and conditional:
            return FeedResponse(url=url, status=304, body=b"", headers={})
        raise
    finally:
        await session.aclose()
    return FeedResponse(url=answer.url, status=answer.status, body=answer.body, headers=answer.headers)


def fetch_feed_response(
    url: str, options: FetchOptions, *, etag: str | None = None, last_modified: str | None = None
) -> FeedResponse:
    """Fetch a feed conditionally, synchronously; see ``fetch_feed_response_async``."""
    return _run(fetch_feed_response_async(url, options, etag=etag, last_modified=last_modified))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, in a worker thread when an event loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def fetch_url(url: str, options: FetchOptions | None = None) -> FetchedPage:
    """Fetch one page synchronously (``medcurate extract URL``); see ``fetch_one``."""
    return _run(fetch_one(url, options or FetchOptions()))


def fetch_feed_bytes(url: str, options: FetchOptions | None = None) -> bytes:
    """Fetch a feed or OPML file synchronously; see ``fetch_feed_async``."""
    return _run(fetch_feed_async(url, options or FetchOptions()))


def fetch_image(
    url: str, options: FetchOptions | None = None, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
) -> FetchedImage:
    """Fetch and verify one image synchronously; see ``fetch_image_async``."""
    return _run(fetch_image_async(url, options or FetchOptions(), max_bytes=max_bytes))
