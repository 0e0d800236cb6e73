"""FETCH stage against a real HTTP server on 127.0.0.1: redirects, caps, bombs, timeouts, retries, content."""

from __future__ import annotations

import asyncio
import gzip
import io
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from PIL import Image

import paths
from factories import make_pdf
from httpserver import (
    FakeClock,
    LocalServer,
    Reply,
    SeenRequest,
    drip,
    endless,
    http_server,
    local_fetch_options,
)
from medcurate.errors import (
    BlockedURL,
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from medcurate.ingest.body import decode_html, retry_after
from medcurate.ingest.fetch import (
    FetchResult,
    fetch_feed_bytes,
    fetch_image,
    fetch_many,
    fetch_one,
    fetch_url,
)
from medcurate.ingest.httpcache import HttpCache
from medcurate.ingest.options import DEFAULT_USER_AGENT
from medcurate.ingest.politeness import InProcessHostLimiter
from medcurate.ingest.robots import RobotsRules

__all__ = ["http_server"]  # the fixture, imported for pytest

FIXTURES = paths.FIXTURES / "fetch"
GIB = 1024**3
MIB = 1024**2


def make_png(size: tuple[int, int]) -> bytes:
    """A small PNG of the given pixel size."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def srv(http_server) -> LocalServer:
    """One server on 127.0.0.1 with an article page."""
    server: LocalServer = http_server()
    server.route("/article", Reply(body=(FIXTURES / "article.html").read_bytes()))
    return server


# --- pages, redirects ------------------------------------------------------------------------------


def test_html_page_is_fetched_and_decoded(srv: LocalServer) -> None:
    page = fetch_url(srv.url("/article"), local_fetch_options())
    assert page.kind == "html"
    assert page.status_code == 200
    assert page.final_url == page.requested_url == srv.url("/article")
    assert page.redirect_chain == ((srv.url("/article"), 200),)
    assert page.content_type == "text/html"
    assert page.encoding == "utf-8"
    assert "Hospitals brace for a busy winter" in page.text
    assert page.fetched_at.tzinfo is UTC
    assert not page.from_cache
    assert srv.seen("/article")[0].headers["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("medcurate/0.1.0 (+")


def test_redirect_chain_is_followed_hop_by_hop_and_recorded(srv: LocalServer) -> None:
    srv.route("/old", Reply(status=301, headers={"Location": "/older"}, content_type=None))
    srv.route("/older", Reply(status=302, headers={"Location": srv.url("/article")}, content_type=None))
    page = fetch_url(srv.url("/old"), local_fetch_options())
    assert page.redirect_chain == (
        (srv.url("/old"), 301),
        (srv.url("/older"), 302),
        (srv.url("/article"), 200),
    )
    assert page.final_url == srv.url("/article")
    assert page.requested_url == srv.url("/old")
    assert srv.paths() == ["/robots.txt", "/old", "/older", "/article"]


def test_redirect_loop_is_refused_with_the_loop_shown(srv: LocalServer) -> None:
    srv.route("/ping", Reply(status=302, headers={"Location": "/pong"}))
    srv.route("/pong", Reply(status=302, headers={"Location": "/ping"}))
    with pytest.raises(TooManyRedirects, match="redirect loop") as info:
        fetch_url(srv.url("/ping"), local_fetch_options())
    message = str(info.value)
    assert f"{srv.url('/ping')} (302) -> {srv.url('/pong')} (302) -> {srv.url('/ping')}" in message
    assert srv.count("/ping") == 1 and srv.count("/pong") == 1


def test_overlong_redirect_chain_is_refused(srv: LocalServer) -> None:
    for i in range(5):
        srv.route(f"/r{i}", Reply(status=307, headers={"Location": f"/r{i + 1}"}))
    with pytest.raises(TooManyRedirects, match="more than 3 redirects"):
        fetch_url(srv.url("/r0"), local_fetch_options(max_redirects=3))
    assert srv.count("/r4") == 0


# --- size caps, bombs, slow servers ----------------------------------------------------------------


def test_declared_10gb_body_is_refused_from_its_content_length(srv: LocalServer) -> None:
    srv.route("/huge", Reply(body=endless(10 * GIB), headers={"Content-Length": str(10 * GIB)}))
    with pytest.raises(TooLarge, match="Content-Length 10,737,418,240 is over the 10,485,760 byte cap"):
        fetch_url(srv.url("/huge"), local_fetch_options())
    srv.wait_idle()  # the server stops when the client hangs up; count what it sent by then
    assert srv.bytes_sent.get("/huge", 0) < 100 * MIB


def test_streamed_10gb_body_without_length_is_stopped_at_the_cap(srv: LocalServer) -> None:
    srv.route("/stream", Reply(body=endless(10 * GIB)))  # close-delimited: no length to judge by
    with pytest.raises(TooLarge, match="passed the 2,097,152 byte cap while streaming"):
        fetch_url(srv.url("/stream"), local_fetch_options(max_bytes=2 * MIB))
    srv.wait_idle()
    # Only the cap plus what socket buffers held left the server, nowhere near 10 GB.
    assert srv.bytes_sent["/stream"] < 50 * MIB


@pytest.fixture
def bomb() -> bytes:
    """10 MB of zeros, gzip'd to about 10 KB."""
    return gzip.compress(b"\0" * (10 * MIB), compresslevel=9)


def test_gzip_bomb_is_refused_by_the_decompressed_cap(srv: LocalServer, bomb: bytes) -> None:
    assert len(bomb) < 20_000
    srv.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(TooLarge, match="decompressed past 1,048,576 bytes"):
        fetch_url(srv.url("/bomb"), local_fetch_options(max_decompressed_bytes=MIB))


def test_gzip_bomb_is_refused_by_the_ratio_cap_under_default_size_caps(srv: LocalServer, bomb: bytes) -> None:
    srv.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(TooLarge, match=r"compression ratio above [\d,]+:1, over the 100:1 cap"):
        fetch_url(srv.url("/bomb"), local_fetch_options())


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_page_is_inflated(srv: LocalServer, coding: str, encode) -> None:
    html = (FIXTURES / "article.html").read_bytes()
    srv.route("/z", Reply(body=encode(html), headers={"Content-Encoding": coding}))
    page = fetch_url(srv.url("/z"), local_fetch_options())
    assert page.body == html


def test_unknown_content_encoding_is_refused(srv: LocalServer) -> None:
    srv.route("/br", Reply(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    with pytest.raises(UnsupportedContent, match="content encoding 'br' is not supported"):
        fetch_url(srv.url("/br"), local_fetch_options())


def test_dripping_server_is_cut_off_by_the_total_deadline(srv: LocalServer) -> None:
    body = b"<html>" + b"x" * 200  # 20 s of dripping: far past the deadline
    srv.route("/drip", Reply(body=drip(body, 0.1), headers={"Content-Length": str(len(body))}))
    with pytest.raises(FetchTimeout, match=r"total deadline of 1\.2 s passed"):
        fetch_url(srv.url("/drip"), local_fetch_options(read_timeout=10.0, total_timeout=1.2))
    # The message names the total deadline, not the 10 s read timeout, and several bytes had arrived:
    # every read succeeded, only the deadline stopped the fetch.
    assert srv.bytes_sent["/drip"] >= 3


# --- retries -------------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_after_the_wait(srv: LocalServer) -> None:
    def limited(req: SeenRequest) -> Reply:
        if srv.count("/limited") == 1:
            return Reply(status=429, body=b"slow down", headers={"Retry-After": "1"})
        return Reply(body=b"<html><p>finally</p></html>")

    srv.route("/limited", limited)
    clock = FakeClock()
    page = fetch_url(srv.url("/limited"), clock.options())
    assert "finally" in page.text
    assert srv.count("/limited") == 2
    assert clock.sleeps == [1.0]  # the server's Retry-After, not the 0.05 s back-off


def test_503_then_success(srv: LocalServer) -> None:
    srv.route(
        "/flaky", lambda req: Reply(status=503) if srv.count("/flaky") < 3 else Reply(body=b"<html>up</html>")
    )
    clock = FakeClock()
    page = fetch_url(srv.url("/flaky"), clock.options())
    assert page.text == "<html>up</html>"
    assert srv.count("/flaky") == 3
    assert clock.sleeps == [0.05, 0.1]  # exponential back-off from FetchOptions.backoff


def test_persistent_503_gives_up_after_the_retries(srv: LocalServer) -> None:
    srv.route("/down", Reply(status=503))
    with pytest.raises(HTTPStatusError, match="HTTP 503 Service Unavailable after 3 attempts") as info:
        fetch_url(srv.url("/down"), local_fetch_options(max_retries=2))
    assert info.value.status_code == 503
    assert srv.count("/down") == 3


def test_404_is_not_retried(srv: LocalServer) -> None:
    with pytest.raises(HTTPStatusError, match="HTTP 404") as info:
        fetch_url(srv.url("/missing"), local_fetch_options())
    assert info.value.status_code == 404
    assert srv.count("/missing") == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_retry_after_wait_is_capped(srv: LocalServer) -> None:
    def limited(req: SeenRequest) -> Reply:
        if srv.count("/cap") == 1:
            return Reply(status=429, headers={"Retry-After": "3600"})
        return Reply(body=b"<html>ok</html>")

    srv.route("/cap", limited)
    clock = FakeClock()
    fetch_url(srv.url("/cap"), clock.options(max_retry_wait=0.2))
    assert srv.count("/cap") == 2
    assert clock.sleeps == [0.2]


# --- content types -------------------------------------------------------------------------------


def test_pdf_is_fetched_with_its_text(srv: LocalServer) -> None:
    srv.route(
        "/report.pdf", Reply(body=make_pdf("Sepsis bundle compliance report"), content_type="application/pdf")
    )
    page = fetch_url(srv.url("/report.pdf"), local_fetch_options())
    assert page.kind == "pdf"
    assert page.content_type == "application/pdf"
    assert page.text == "Sepsis bundle compliance report"
    assert page.body.startswith(b"%PDF-1.4")


def test_pdf_without_content_type_is_sniffed(srv: LocalServer) -> None:
    srv.route("/doc", Reply(body=make_pdf("Sniffed"), content_type="application/octet-stream"))
    page = fetch_url(srv.url("/doc"), local_fetch_options())
    assert (page.kind, page.text) == ("pdf", "Sniffed")


def test_image_given_to_fetch_url_is_unsupported_content(srv: LocalServer) -> None:
    srv.route("/photo.png", Reply(body=make_png((120, 80)), content_type="image/png"))
    with pytest.raises(UnsupportedContent, match=r"unsupported content type 'image/png'.*use fetch_image"):
        fetch_url(srv.url("/photo.png"), local_fetch_options())


def test_image_given_to_fetch_image_is_measured(srv: LocalServer) -> None:
    png = make_png((120, 80))
    srv.route("/photo.png", Reply(body=png, content_type="image/png"))
    image = fetch_image(srv.url("/photo.png"), local_fetch_options())
    assert (image.format, image.size) == ("PNG", (120, 80))
    assert image.body == png
    assert image.content_type == "image/png"


def test_fetch_image_refuses_html_broken_images_and_oversize(srv: LocalServer) -> None:
    srv.route("/fake.jpg", Reply(body=b"\xff\xd8\xff\xe0 not really", content_type="image/jpeg"))
    srv.route("/big.png", Reply(body=make_png((400, 400)) + b"\0" * 5000, content_type="image/png"))
    with pytest.raises(UnsupportedContent, match="not an image"):
        fetch_image(srv.url("/article"), local_fetch_options())
    with pytest.raises(UnsupportedContent, match="not a readable image"):
        fetch_image(srv.url("/fake.jpg"), local_fetch_options())
    with pytest.raises(TooLarge):
        fetch_image(srv.url("/big.png"), local_fetch_options(), max_bytes=4000)


def test_other_content_types_are_unsupported(srv: LocalServer) -> None:
    srv.route("/data.json", Reply(body=b"{}", content_type="application/json"))
    with pytest.raises(UnsupportedContent, match="'application/json'"):
        fetch_url(srv.url("/data.json"), local_fetch_options())


# --- encodings -----------------------------------------------------------------------------------


def test_windows_1252_page_without_charset_decodes_right(srv: LocalServer) -> None:
    body = (FIXTURES / "cp1252.html").read_bytes()
    assert b"Becker\x92s" in body
    srv.route("/legacy", Reply(body=body, content_type="text/html"))
    page = fetch_url(srv.url("/legacy"), local_fetch_options())
    assert "Becker’s Hospital Review" in page.text
    assert page.encoding == "cp1252"


@pytest.mark.parametrize(
    ("body", "http_charset", "expected_text", "expected_encoding"),
    [
        ("café".encode(), "utf-8", "café", "utf-8"),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "iso-8859-1", "café", "utf-8"),  # a BOM beats the header
        (b"Becker\x92s", "iso-8859-1", "Becker’s", "cp1252"),  # WHATWG: latin-1 means windows-1252
        (b'<meta charset="windows-1251"><p>\xcf\xf0\xe8\xe2\xe5\xf2', None, "Привет", "cp1251"),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-2"><p>\xb1',
            None,
            "ą",
            "iso8859-2",
        ),
        ("naïve ünïcödé".encode(), None, "naïve ünïcödé", "utf-8"),  # valid UTF-8 needs no guess
        (b"x", "no-such-charset", "x", "utf-8"),  # an unknown label is ignored
    ],
)
def test_decode_html_order(
    body: bytes, http_charset: str | None, expected_text: str, expected_encoding: str
) -> None:
    text, encoding = decode_html(body, http_charset)
    assert expected_text in text
    assert encoding == expected_encoding


# --- robots.txt ----------------------------------------------------------------------------------


def test_robots_disallow_refuses_without_fetching(srv: LocalServer) -> None:
    srv.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    srv.route("/private/page", Reply(body=b"<html>secret</html>"))
    with pytest.raises(BlockedURL, match=r"disallowed for medcurate by .*/robots.txt.*respect_robots=False"):
        fetch_url(srv.url("/private/page"), local_fetch_options())
    assert srv.paths() == ["/robots.txt"]
    # Switched off, the page is fetched and robots.txt is not even asked for.
    page = fetch_url(srv.url("/private/page"), local_fetch_options(respect_robots=False))
    assert page.text == "<html>secret</html>"
    assert srv.paths() == ["/robots.txt", "/private/page"]


def test_robots_rules_for_our_agent_and_redirect_hops(srv: LocalServer) -> None:
    robots = b"User-agent: medcurate\nDisallow: /no-bots\n\nUser-agent: *\nAllow: /\n"
    srv.route("/robots.txt", Reply(body=robots, content_type="text/plain"))
    srv.route("/jump", Reply(status=302, headers={"Location": "/no-bots"}))
    with pytest.raises(BlockedURL, match="disallowed for medcurate"):
        fetch_url(srv.url("/jump"), local_fetch_options())
    assert srv.count("/no-bots") == 0
    assert fetch_url(srv.url("/article"), local_fetch_options()).status_code == 200


def test_robots_5xx_means_disallow_all(srv: LocalServer) -> None:
    srv.route("/robots.txt", Reply(status=500))
    with pytest.raises(BlockedURL, match="host unavailable"):
        fetch_url(srv.url("/article"), local_fetch_options(max_retries=0))
    assert srv.count("/article") == 0


# --- cache ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "conditional"),
    [("ETag", "if-none-match"), ("Last-Modified", "if-modified-since")],
)
def test_304_is_served_from_the_cache(
    srv: LocalServer, tmp_path: Path, validator: str, conditional: str
) -> None:
    value = '"v1"' if validator == "ETag" else "Wed, 21 Oct 2015 07:28:00 GMT"
    html = (FIXTURES / "article.html").read_bytes()

    def cached(req: SeenRequest) -> Reply:
        if req.headers.get(conditional) == value:
            return Reply(status=304, headers={validator: value}, content_type=None)
        return Reply(body=gzip.compress(html), headers={validator: value, "Content-Encoding": "gzip"})

    srv.route("/cached", cached)
    options = local_fetch_options(cache_dir=tmp_path / "cache")
    first = fetch_url(srv.url("/cached"), options)
    second = fetch_url(srv.url("/cached"), options)
    assert not first.from_cache
    assert second.from_cache
    assert second.body == first.body == html
    assert second.text == first.text
    assert second.status_code == 200
    assert [r.headers.get(conditional) for r in srv.seen("/cached")] == [None, value]


def test_responses_without_validators_are_not_cached(srv: LocalServer, tmp_path: Path) -> None:
    options = local_fetch_options(cache_dir=tmp_path / "cache")
    fetch_url(srv.url("/article"), options)
    second = fetch_url(srv.url("/article"), options)
    assert not second.from_cache
    assert "if-none-match" not in srv.seen("/article")[1].headers


# --- batches, politeness -------------------------------------------------------------------------


def test_fetch_many_keeps_order_and_reports_each_failure(srv: LocalServer) -> None:
    srv.route("/photo.png", Reply(body=make_png((10, 10)), content_type="image/png"))
    urls = [srv.url("/article"), srv.url("/missing"), "ftp://example.org/file", srv.url("/photo.png")]
    seen: list[FetchResult] = []
    results = asyncio.run(fetch_many(urls, local_fetch_options(), on_result=seen.append))
    assert [r.url for r in results] == urls
    assert [r.ok for r in results] == [True, False, False, False]
    assert [r.error for r in results] == [None, "HTTPStatusError", "BlockedURL", "UnsupportedContent"]
    assert results[2].message is not None and "scheme 'ftp'" in results[2].message
    assert results[0].page is not None and results[0].page.kind == "html"
    assert sorted(r.url for r in seen) == sorted(urls)


def test_per_host_concurrency_and_delay_are_respected(srv: LocalServer) -> None:
    urls = [srv.url(f"/slow?n={i}") for i in range(6)]

    def paired(req: SeenRequest) -> Reply:
        # Hold each request until a second one is in flight (or none is left to come), so two at
        # once is reached on any machine; the deadline only guards against a hang.
        deadline = time.monotonic() + 60
        while srv.in_flight < 2 and srv.count("/slow") < len(urls) and time.monotonic() < deadline:
            time.sleep(0.005)
        return Reply(body=b"<html>ok</html>")

    srv.route("/slow", paired)
    clock = FakeClock()
    options = clock.options(per_host_concurrency=2, per_host_delay=0.2, respect_robots=False)
    results = asyncio.run(fetch_many(urls, options))
    assert all(r.ok for r in results)
    assert srv.max_in_flight == 2
    # Every start after the first waited out the delay since the previous start.
    assert clock.sleeps == pytest.approx([0.2] * 5)


def test_in_process_limiter_holds_a_host_to_its_concurrency_and_spacing() -> None:
    clock = FakeClock()
    limiter = InProcessHostLimiter(2, clock=clock, sleep=clock.sleep)
    in_flight, most, starts = [0], [0], []

    async def request() -> None:
        async with limiter.slot("http://news.example", delay=0.2):
            starts.append(clock.now)
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            for _ in range(5):  # stay inside while every other task gets its turns at the slots
                await asyncio.sleep(0)
            in_flight[0] -= 1

    async def main() -> None:
        await asyncio.gather(*(request() for _ in range(6)))
        async with limiter.slot("http://other.example", delay=0.2):  # another host: no wait
            starts.append(clock.now)

    asyncio.run(main())
    assert most[0] == 2
    assert starts == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    assert clock.sleeps == pytest.approx([0.2] * 5)


def test_fetch_one_raises_and_fetch_url_works_inside_a_running_loop(srv: LocalServer) -> None:
    async def inside() -> str:
        with pytest.raises(HTTPStatusError):
            await fetch_one(srv.url("/missing"), local_fetch_options())
        return fetch_url(srv.url("/article"), local_fetch_options()).final_url

    assert asyncio.run(inside()) == srv.url("/article")


def test_robots_txt_does_not_delay_the_page_but_pages_are_spaced(srv: LocalServer) -> None:
    clock = FakeClock()
    fetch_url(srv.url("/article"), clock.options(per_host_delay=2.0))
    assert srv.paths() == ["/robots.txt", "/article"]
    assert clock.sleeps == []
    urls = [srv.url("/article?1"), srv.url("/article?2")]
    asyncio.run(fetch_many(urls, clock.options(per_host_delay=0.5)))
    assert srv.count("/article") == 3
    assert clock.sleeps == [0.5]


def test_crawl_delay_is_honoured_up_to_the_cap(srv: LocalServer) -> None:
    srv.route("/robots.txt", Reply(body=b"User-agent: *\nCrawl-delay: 5\n", content_type="text/plain"))
    clock = FakeClock()
    options = clock.options(per_host_delay=0.0, max_crawl_delay=0.3)
    asyncio.run(fetch_many([srv.url("/article?1"), srv.url("/article?2")], options))
    assert srv.count("/article") == 2
    assert clock.sleeps == [0.3]  # the robots.txt Crawl-delay of 5 s, cut to the cap


def test_cache_ignores_damaged_and_no_store_entries(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path)
    url = "https://example.org/a"
    assert not cache.store(url, status=200, headers={"ETag": '"x"', "Cache-Control": "no-store"}, body=b"a")
    assert not cache.store(url, status=404, headers={"ETag": '"x"'}, body=b"a")
    assert not cache.store(url, status=200, headers={}, body=b"a")
    assert cache.load(url) is None
    assert cache.store(url, status=200, headers={"ETag": '"x"', "Content-Encoding": "gzip"}, body=b"abc")
    entry = cache.load(url)
    assert entry is not None and entry.body == b"abc" and "content-encoding" not in entry.headers
    assert entry.conditional_headers() == {"If-None-Match": '"x"'}
    next(tmp_path.glob("*.body")).write_bytes(b"truncated")  # size no longer matches the metadata
    assert cache.load(url) is None


def test_feed_bytes_are_fetched_and_non_feeds_refused(srv: LocalServer) -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>'
    srv.route(
        "/feed.xml",
        Reply(
            body=gzip.compress(rss), content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
        ),
    )
    srv.route("/logo.png", Reply(body=make_png((4, 4)), content_type="image/png"))
    assert fetch_feed_bytes(srv.url("/feed.xml"), local_fetch_options()) == rss
    assert "application/rss+xml" in srv.seen("/feed.xml")[0].headers["accept"]
    with pytest.raises(UnsupportedContent, match="'image/png': not a feed"):
        fetch_feed_bytes(srv.url("/logo.png"), local_fetch_options())
    with pytest.raises(BlockedURL, match="loopback"):
        fetch_feed_bytes(srv.url("/feed.xml"))  # the default policy


def test_a_shared_robots_cache_spares_the_next_batch_the_request_not_the_crawl_delay(
    srv: LocalServer,
) -> None:
    srv.route("/robots.txt", Reply(body=b"User-agent: *\nCrawl-delay: 5\n", content_type="text/plain"))
    clock = FakeClock()
    shared: dict[str, RobotsRules] = {}
    options = clock.options(per_host_delay=0.0, max_crawl_delay=0.3, robots_cache=shared)
    for _ in range(2):  # two batches, two sessions, one cache (what a scheduler tick does)
        asyncio.run(fetch_many([srv.url("/article?1"), srv.url("/article?2")], options))
    assert srv.count("/robots.txt") == 1 and srv.count("/article") == 4
    assert clock.sleeps == [0.3, 0.3]  # each batch spaces its two pages by the cached Crawl-delay
