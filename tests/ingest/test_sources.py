"""Tests of medcurate.ingest.sources: every input kind, sniffing, and clear errors on malformed input."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import paths
from medcurate.errors import MedcurateError, SourceError
from medcurate.ingest.sources import (
    SourceEntry,
    SourceKind,
    detect_source_kind,
    entries_of,
    parse_bookmarks,
    parse_feed,
    parse_opml,
    parse_saved_page,
    parse_source,
    parse_text,
    read_saved_pages,
    read_source,
    urls_from_text,
)

FIXTURES = paths.FIXTURES / "sources"


# --- free text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://a.example.com/x.", ["https://a.example.com/x"]),
        (
            "see https://a.example.com/x, and https://b.example.com/y;",
            ["https://a.example.com/x", "https://b.example.com/y"],
        ),
        ("what? https://a.example.com/x?!", ["https://a.example.com/x"]),
        ("query kept https://a.example.com/x?q=1&b=2.", ["https://a.example.com/x?q=1&b=2"]),
        ("<https://a.example.com/angle>", ["https://a.example.com/angle"]),
        ("[title](https://a.example.com/md)", ["https://a.example.com/md"]),
        ('[t](https://a.example.com/md "a title")', ["https://a.example.com/md"]),
        ("(https://a.example.com/in-parens)", ["https://a.example.com/in-parens"]),
        ("https://en.wikipedia.org/wiki/Pick_(medicine)", ["https://en.wikipedia.org/wiki/Pick_(medicine)"]),
        (
            "(see https://en.wikipedia.org/wiki/Pick_(medicine))",
            ["https://en.wikipedia.org/wiki/Pick_(medicine)"],
        ),
        (
            "[w](https://en.wikipedia.org/wiki/Pick_(medicine))",
            ["https://en.wikipedia.org/wiki/Pick_(medicine)"],
        ),
        ('"https://a.example.com/q"', ["https://a.example.com/q"]),
        ("'https://a.example.com/q'", ["https://a.example.com/q"]),
        (
            "https://en.wikipedia.org/wiki/Alzheimer's_disease!",
            ["https://en.wikipedia.org/wiki/Alzheimer's_disease"],
        ),
        ("[https://a.example.com/bracketed]", ["https://a.example.com/bracketed"]),
        ("https://a.example.com/x https://a.example.com/x", ["https://a.example.com/x"]),
        ("HTTPS://A.EXAMPLE.COM/upper", ["HTTPS://A.EXAMPLE.COM/upper"]),
        ("https://127.0.0.1:8000/local", ["https://127.0.0.1:8000/local"]),
        ("mailto:a@example.org ftp://x.example.org/f http:// https://", []),
        ("nothing here", []),
        (
            '<p>Read <a href="https://a.example.com/h">this</a> and https://b.example.com/t.</p>',
            ["https://a.example.com/h", "https://b.example.com/t"],
        ),
        ('<p><a href="/relative">rel</a> <a href="javascript:x()">js</a></p>', []),
        ("# a heading\nhttps://a.example.com/kept in prose", ["https://a.example.com/kept"]),
        ("# list\nhttps://a.example.com/1\n# https://a.example.com/dropped\n", ["https://a.example.com/1"]),
        (
            "https://a.example.com/1  # note\nhttps://a.example.com/2#frag\n",
            ["https://a.example.com/1", "https://a.example.com/2#frag"],
        ),
    ],
)
def test_urls_from_text(text: str, expected: list[str]) -> None:
    assert urls_from_text(text) == expected


def test_markdown_post_keeps_titles_and_order() -> None:
    report = read_source(FIXTURES / "post.md")
    assert report.kind is SourceKind.TEXT
    assert report.urls == [
        "https://en.wikipedia.org/wiki/Health_informatics_(field)",
        "https://www.cms.example.gov/rules/2021-ccm?ref=newsletter&x=1",
        "https://angle.example.com/path?q=1",
        "https://trailing.example.com/story",
        "https://quoted.example.com/q",
        "https://paren.example.com/inside",
        "https://en.wikipedia.org/wiki/Telehealth_(medicine)",
        "https://question.example.com/x",
        "https://en.wikipedia.org/wiki/Alzheimer's_disease",
        "https://single.example.com/x",
    ]
    titles = {e.url: e.title for e in report.entries}
    assert titles["https://www.cms.example.gov/rules/2021-ccm?ref=newsletter&x=1"] == "the CMS rule"
    assert titles["https://en.wikipedia.org/wiki/Telehealth_(medicine)"] == "Telehealth"


def test_raw_email_is_decoded_before_links_are_found() -> None:
    report = read_source(FIXTURES / "email.eml")
    # Quoted-printable soft line breaks and =3D are undone; the HTML part adds anchor text as title.
    assert report.urls == [
        "https://journal.example.org/article?id=42&lang=en",
        "https://news.example.com/café-health",
        "https://tracker.example.net/click?u=abc",
    ]
    assert report.entries[0].title == "The journal article"
    assert report.entries[2].title is None  # anchor text that is a URL is not a title


def test_url_list_file() -> None:
    report = read_source(FIXTURES / "urls.txt")
    assert report.kind is SourceKind.URL_LIST
    assert report.urls == [
        "https://www.example.org/a",
        "https://www.example.org/b",
        "https://www.example.org/c",
    ]


def test_text_without_links_is_reported() -> None:
    report = parse_text("no links in this note", origin="note")
    assert report.entries == ()
    assert report.problems == ("no http(s) links found",)


# --- feeds -----------------------------------------------------------------------------------------


def test_rss2_feed() -> None:
    report = parse_feed((FIXTURES / "rss2.xml").read_bytes(), origin="https://healthit.example.org/feed.xml")
    assert report.urls == [
        "https://healthit.example.org/news/fda-ai-stroke?utm_source=rss",
        "https://healthit.example.org/news/relative-story",
        "https://healthit.example.org/news/guid-only",
    ]
    first, second = report.entries[0], report.entries[1]
    assert first.title == "FDA clears AI triage tool for stroke"
    assert first.published == datetime(2020, 12, 15, 11, 25, 20, tzinfo=UTC)
    assert first.summary == "The FDA cleared a triage tool & more."
    assert first.tags == ("Regulation", "AI")
    assert second.published == datetime(2020, 12, 16, 7, 0, tzinfo=UTC)
    assert report.problems == ("entry 4 ('No link at all') has no http(s) link; skipped",)


def test_atom_feed_resolves_against_xml_base() -> None:
    report = parse_feed((FIXTURES / "atom.xml").read_bytes(), origin=str(FIXTURES / "atom.xml"))
    assert report.urls == ["https://blog.example.net/posts/rpm-ccm", "https://other.example.com/a/b"]
    entry = report.entries[0]
    assert entry.published == datetime(2021, 2, 28, 14, 30, tzinfo=UTC)
    assert entry.summary == "How RPM fits chronic care."
    assert entry.tags == ("remote-monitoring", "ccm")
    assert all(e.kind is SourceKind.FEED and not e.is_feed for e in report.entries)


def test_json_feed() -> None:
    report = parse_feed((FIXTURES / "feed.json").read_bytes(), origin="https://links.example.org/feed.json")
    assert report.urls == [
        "https://news.example.com/telehealth-after-covid",  # external_url wins: a link blog curates it
        "https://links.example.org/2021/relative",
        "https://links.example.org/2021/bad-date",
    ]
    first = report.entries[0]
    assert first.published == datetime(2021, 4, 2, 12, 0, tzinfo=UTC)
    assert first.tags == ("telehealth", "policy")
    assert report.entries[1].summary == "A post body."
    assert report.problems == (
        "item 3 ('3') has no http(s) url; skipped",
        "item 4: unreadable date 'yesterday'",
    )


def test_json_feed_lone_surrogates_become_replacement_characters() -> None:
    feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", '
        b'"url": "https://news.example.com/a\\ud800b", "title": "Half \\udfff a pair", "tags": ["\\ud83d"]}]}'
    )
    entry = parse_feed(feed, origin="https://links.example.org/feed.json").entries[0]
    assert entry.title == "Half \ufffd a pair"
    assert entry.tags == ("\ufffd",)
    assert entry.url.encode("utf-8")


def test_rss_references_to_lone_surrogates_become_replacement_characters() -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>Half &#xD800; pair &#x1F600;</title><link>https://e.org/a</link>"
        b"<description>x &#55296; y &#233;</description></item></channel></rss>"
    )
    entry = parse_feed(rss, origin="https://e.org/feed").entries[0]
    assert entry.title == "Half \ufffd pair \U0001f600"
    assert entry.summary == "x \ufffd y \u00e9"


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the fixtures directory."""
    handler = functools.partial(QuietHandler, directory=str(FIXTURES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        del format, args


def test_fetched_feed_links_resolve_against_the_feed_url(fixture_server: str) -> None:
    url = f"{fixture_server}/rss2.xml"
    data = httpx.get(url).content
    report = parse_source(data, origin=url)
    assert report.kind is SourceKind.FEED
    assert report.entries[0].origin == url
    assert report.urls[0] == "https://healthit.example.org/news/fda-ai-stroke?utm_source=rss"
    assert report.urls[1] == f"{fixture_server}/news/relative-story"  # against the feed's URL
    # Read from a file, the same relative link falls back to the channel's <link>.
    assert read_source(FIXTURES / "rss2.xml").urls[1] == "https://healthit.example.org/news/relative-story"


def test_fetched_rss_without_channel_link_resolves_against_fetch_url(fixture_server: str) -> None:
    body = b'<rss version="2.0"><channel><title>t</title><item><link>/p/1</link></item></channel></rss>'
    report = parse_feed(body, origin="feed", base_url=f"{fixture_server}/dir/feed.xml")
    assert report.urls == [f"{fixture_server}/p/1"]


def test_feed_bytes_naming_a_local_file_are_never_opened() -> None:
    # feedparser opens a str or bytes that looks like a path; parse_feed must hand it a stream.
    with pytest.raises(SourceError, match="not an RSS, Atom or JSON feed"):
        parse_feed(str(FIXTURES / "rss2.xml").encode(), origin="x")


# --- OPML ------------------------------------------------------------------------------------------


def test_opml_nested_outlines() -> None:
    report = read_source(FIXTURES / "subscriptions.opml")
    assert report.kind is SourceKind.OPML
    assert report.urls == [
        "https://www.fda.example.gov/rss.xml",
        "https://healthcareit.example.com/feed",
        "https://toplevel.example.org/atom.xml",
    ]
    by_url = {e.url: e for e in report.entries}
    assert by_url["https://www.fda.example.gov/rss.xml"].title == "FDA Press Releases"
    assert by_url["https://www.fda.example.gov/rss.xml"].tags == ("Health IT", "Regulation")
    assert by_url["https://healthcareit.example.com/feed"].tags == ("Health IT", "news", "it")
    assert all(e.is_feed for e in report.entries)
    assert len(report.problems) == 1 and "file:///etc/feed.xml" in report.problems[0]


def test_opml_does_not_expand_internal_entities() -> None:
    report = parse_opml((FIXTURES / "malformed" / "laughs.opml").read_bytes(), origin="laughs.opml")
    assert report.urls == ["https://entity.example.org/feed"]
    assert "lol" not in repr(report.entries).replace("Laughs", "")


def test_opml_without_feeds_is_reported() -> None:
    report = parse_opml(b'<opml version="2.0"><body><outline text="empty"/></body></opml>', origin="o")
    assert report.entries == ()
    assert report.problems == ("no outline has an xmlUrl: nothing to subscribe to",)


# --- bookmarks -------------------------------------------------------------------------------------


def test_firefox_bookmarks() -> None:
    report = read_source(FIXTURES / "bookmarks_firefox.html")
    assert report.kind is SourceKind.BOOKMARKS
    assert report.urls == [
        "https://www.example.org/health/ehr-interop",
        "https://www.example.org/health/ccm-billing",
        "https://microsecond.example.com/",
    ]
    first = report.entries[0]
    assert first.title == "EHR interoperability & policy"
    assert first.tags == ("ehr", "interoperability", "policy")
    assert first.published == datetime.fromtimestamp(1607990720, tz=UTC)
    assert first.summary == "Editor note: good for the CCM community"
    assert report.entries[1].tags == ()
    assert report.entries[2].published == first.published  # a microsecond ADD_DATE is scaled down
    assert report.problems == ("skipped 2 bookmark(s) that are not web pages (javascript:, place:)",)


def test_pocket_export() -> None:
    report = read_source(FIXTURES / "bookmarks_pocket.html")
    assert report.kind is SourceKind.BOOKMARKS
    assert [e.tags for e in report.entries] == [("digital health", "wearables"), (), ("ai",)]
    assert report.entries[2].published == datetime.fromtimestamp(1540000000, tz=UTC)


def test_bookmarks_parser_refuses_a_page_without_links() -> None:
    with pytest.raises(SourceError, match="no bookmark links"):
        parse_bookmarks(b"<html><body><p>hello</p></body></html>", origin="page.html")


# --- saved pages -----------------------------------------------------------------------------------


def test_saved_pages_directory() -> None:
    report = read_saved_pages(FIXTURES / "saved")
    by_name = {Path(e.origin).name: e for e in report.entries}
    assert sorted(by_name) == ["canonical.html", "nourl.html", "og_url.html.gz", "savedfrom.htm"]
    canonical = by_name["canonical.html"]
    # A relative canonical resolves against og:url; canonical wins over og:url.
    assert canonical.url == "https://news.example.com/health/hospital-at-home"
    assert canonical.title == "Hospital at home programs expand"
    assert canonical.summary == "Hospitals are moving acute care into patients' homes."
    assert canonical.published == datetime(2021, 5, 20, tzinfo=UTC)
    assert canonical.tags == ("hospital at home", "acute care")
    assert canonical.html is not None and "<article>" in canonical.html
    assert by_name["og_url.html.gz"].url == "https://blog.example.net/2019/diabetes-apps"
    assert by_name["og_url.html.gz"].html is not None and "Naïve" in by_name["og_url.html.gz"].html
    assert by_name["savedfrom.htm"].url == "https://mirror.example.org/2020/vaccine-trials"
    assert by_name["nourl.html"].url is None  # kept, not dropped
    assert report.problems == ("nourl.html: no <link rel=canonical> or og:url; url left empty",)
    assert "html=" not in repr(canonical)  # the page body stays out of logs


def test_single_saved_page_file() -> None:
    report = read_source(FIXTURES / "saved" / "og_url.html.gz")
    assert report.kind is SourceKind.SAVED_PAGE
    assert report.urls == ["https://blog.example.net/2019/diabetes-apps"]


def test_saved_page_that_is_not_html() -> None:
    with pytest.raises(SourceError, match="not an HTML page"):
        parse_saved_page(b"plain words, no markup", origin="x.html")


def test_empty_saved_pages_directory(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(SourceError, match=r"no saved pages") as caught:
        read_source(tmp_path)
    assert str(tmp_path) in str(caught.value)


# --- sniffing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("rss2.xml", SourceKind.FEED),
        ("atom.xml", SourceKind.FEED),
        ("feed.json", SourceKind.FEED),
        ("subscriptions.opml", SourceKind.OPML),
        ("malformed/laughs.opml", SourceKind.OPML),
        ("bookmarks_firefox.html", SourceKind.BOOKMARKS),
        ("bookmarks_pocket.html", SourceKind.BOOKMARKS),
        ("saved", SourceKind.SAVED_PAGE),
        ("saved/canonical.html", SourceKind.SAVED_PAGE),
        ("saved/og_url.html.gz", SourceKind.SAVED_PAGE),
        ("urls.txt", SourceKind.URL_LIST),
        ("post.md", SourceKind.TEXT),
        ("email.eml", SourceKind.TEXT),
    ],
)
def test_detect_source_kind_of_files(name: str, kind: SourceKind) -> None:
    path = FIXTURES / name
    assert detect_source_kind(path) is kind
    if path.is_file():
        data = path.read_bytes()
        assert detect_source_kind(data) is kind
        assert read_source(path).kind is kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xef\xbb\xbfhttps://a.example.com/1\n", SourceKind.URL_LIST),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>', SourceKind.FEED),
        (b"<!-- c --><?xml-stylesheet href='x'?><rss version='2.0'/>", SourceKind.FEED),
        (b"<DL><p><DT><A HREF='https://a.example.com/'>a</A></DL>", SourceKind.BOOKMARKS),
        (b'<p>Hi, see <a href="https://a.example.com/">this</a></p>', SourceKind.TEXT),
        (gzip.compress(b"<html><head></head><body>x</body></html>"), SourceKind.SAVED_PAGE),
    ],
)
def test_detect_source_kind_of_bytes(data: bytes, kind: SourceKind) -> None:
    assert detect_source_kind(data) is kind


# --- malformed input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("malformed/broken.xml", "not well-formed XML, so not OPML"),
        ("malformed/other.xml", "XML whose root is <note>: not RSS, Atom, OPML or a sitemap"),
        ("malformed/not_a_feed.json", "JSON that is not a JSON Feed"),
        ("malformed/empty.txt", "the input is empty"),
        ("malformed/binary.bin", "binary data"),
        ("malformed/entities.opml", "external entity"),
        ("does-not-exist.xml", "cannot read"),
    ],
)
def test_malformed_files_raise_source_error_naming_the_file(name: str, message: str) -> None:
    path = FIXTURES / name
    with pytest.raises(SourceError, match=message) as caught:
        read_source(path)
    assert caught.value.origin == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert isinstance(caught.value, MedcurateError) and caught.value.stage == "sources"


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        (SourceKind.FEED, b"<html><body>not a feed</body></html>", "not an RSS, Atom or JSON feed"),
        (SourceKind.FEED, b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "no 'items' list"),
        (SourceKind.FEED, b'{"version": "2"}', "JSON without a JSON Feed version"),
        (SourceKind.FEED, b"{not json", "not valid JSON"),
        (SourceKind.OPML, b"<rss version='2.0'/>", r"XML root is <rss>, expected <opml>"),
        (SourceKind.OPML, b"", "not well-formed XML"),
    ],
)
def test_forced_kind_on_wrong_input(kind: SourceKind, data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_source(data, origin="input.bin", kind=kind)
    assert caught.value.origin == "input.bin"


def test_size_limit_applies_after_decompression(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b"<html>" + b" " * 200_000 + b"</html>"))
    assert bomb.stat().st_size < 10_000
    with pytest.raises(SourceError, match="decompresses past the 100000-byte limit"):
        read_source(bomb, max_bytes=100_000)
    with pytest.raises(SourceError, match="over the 100-byte limit"):
        read_source(FIXTURES / "rss2.xml", max_bytes=100)


# --- records ---------------------------------------------------------------------------------------


def test_entries_are_frozen_and_entries_of_deduplicates() -> None:
    entry = SourceEntry(url="https://a.example.com/", kind=SourceKind.TEXT, origin="o")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.url = "https://b.example.com/"  # type: ignore[misc]
    reports = [
        read_source(FIXTURES / "urls.txt"),
        parse_text("https://www.example.org/a https://z.example/", origin="t"),
    ]
    assert [e.url for e in entries_of(reports)] == [
        "https://www.example.org/a",
        "https://www.example.org/b",
        "https://www.example.org/c",
        "https://z.example/",
    ]
