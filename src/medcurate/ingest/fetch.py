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

Each URL goes through, hop by hop (``session.FetchSession``; the options in ``options``):

1. the SSRF guard (``netguard.check_url``; the connection itself is checked by ``GuardedBackend``);
2. robots.txt (fetched once per host through the same guard; ``respect_robots=False`` skips it);
3. the politeness throttle: at most ``per_host_concurrency`` requests to a host, starts at least
   ``per_host_delay`` seconds apart (or the host's Crawl-delay, capped);
4. one GET, with retries and exponential back-off on 429 and 5xx honouring Retry-After (capped);
5. redirects followed by hand, every hop recorded and put through 1-4 again; loops are refused;
6. the content type from the headers: neither HTML nor PDF (nor untyped) is refused unread;
7. the body read as a stream, stopped at ``max_bytes`` on the wire and at ``max_decompressed_bytes``
   or ``max_compression_ratio`` after gzip/deflate decoding (``body.BodyReader``);
8. HTML decoded (BOM, HTTP charset, ``<meta charset>``, then charset_normalizer) or PDF text
   extracted by pypdf (``body``).

robots.txt rules, the throttle and the connection pool live for one ``fetch_many`` batch (or one
``fetch_one`` call), so batch URLs from the same host together; ``FetchOptions.robots_cache`` keeps
the rules for longer (the scheduler's tick shares one between its refreshes).

``total_timeout`` bounds the time one URL spends on the network (all hops, retries and body reads),
so a server dripping a byte a second is cut off even though every read succeeds; waiting for the
throttle or a Retry-After does not count. With ``cache_dir`` set, answers with validators are
stored (``httpcache``) and revalidated; a 304 serves the stored copy with ``from_cache=True``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
import time
import warnings
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from medcurate.errors import HTTPStatusError, MedcurateError, TooLarge, UnsupportedContent
from medcurate.ingest.body import (
    HTML_TYPES,
    PDF_TYPES,
    SNIFF_TYPES,
    Kind,
    decode_html,
    media_type,
    page_kind,
    pdf_text,
)
from medcurate.ingest.options import FetchOptions
from medcurate.ingest.session import FetchSession

__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "FeedResponse",
    "FetchResult",
    "FetchedImage",
    "FetchedPage",
    "fetch_feed_async",
    "fetch_feed_bytes",
    "fetch_feed_response",
    "fetch_feed_response_async",
    "fetch_image",
    "fetch_image_async",
    "fetch_many",
    "fetch_one",
    "fetch_url",
]

LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
_ACCEPT_IMAGE = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8"
_ACCEPT_FEED = (
    "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,*/*;q=0.5"
)
_FEED_MARKERS = ("xml", "rss", "atom", "rdf", "json", "opml")
_IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF"})

T = TypeVar("T")


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


async def _fetch_page(session: FetchSession, url: str) -> FetchedPage:
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
    session = FetchSession(options)
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
    session = FetchSession(options)
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
    session = FetchSession(options)
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
    session = FetchSession(options)
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
    session = FetchSession(replace(options, cache_dir=None))
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
