"""Sitemaps and Google News sitemaps as sources, and ``collect`` expanding a sitemap index and OPML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from httpserver import LocalServer, Reply, local_fetch_options
from medcurate.errors import SourceError
from medcurate.ingest.fetch import fetch_feed_bytes
from medcurate.ingest.sources import SourceInput, SourceKind, collect, detect_source_kind, parse_sitemap

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://news.example/older</loc>
    <news:news><news:publication><news:name>News</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2026-11-29T08:00:00Z</news:publication_date>
      <news:title>Older story</news:title><news:keywords>Payers, Policy</news:keywords></news:news></url>
  <url><loc>https://news.example/newest</loc>
    <news:news><news:publication><news:name>News</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2026-11-30T09:30:00+01:00</news:publication_date>
      <news:title>Newest story</news:title></news:news></url>
  <url><loc>not a url</loc></url>
</urlset>"""


def test_a_google_news_sitemap_gives_titles_dates_and_keywords_newest_first() -> None:
    assert detect_source_kind(NEWS_SITEMAP) is SourceKind.SITEMAP
    report = parse_sitemap(NEWS_SITEMAP, origin="https://news.example/news-sitemap.xml")
    assert [e.url for e in report.entries] == ["https://news.example/newest", "https://news.example/older"]
    newest, older = report.entries
    assert newest.title == "Newest story" and newest.published == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert older.tags == ("Payers", "Policy")
    assert report.problems == ("1 <url> element(s) without an http(s) <loc>; skipped",)


def test_a_plain_sitemap_keeps_the_newest_pages_by_lastmod() -> None:
    urls = "".join(
        f"<url><loc>https://site.example/p{n}</loc><lastmod>2026-11-{n:02d}</lastmod></url>"
        for n in range(1, 11)
    )
    data = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    report = parse_sitemap(data, origin="s", max_entries=3)
    assert [e.url for e in report.entries] == [f"https://site.example/p{n}" for n in (10, 9, 8)]
    assert "the newest 3 were read" in report.problems[0]


def test_a_sitemap_refuses_other_xml() -> None:
    with pytest.raises(SourceError, match="expected <urlset> or <sitemapindex>"):
        parse_sitemap(b"<note/>", origin="x")


def test_collect_reads_a_sitemap_index_and_an_opml_list_through_the_network() -> None:
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        server.route("/news.xml", Reply(body=NEWS_SITEMAP, content_type="application/xml"))
        index = (
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{server.url('/news.xml')}</loc></sitemap>"
            f"<sitemap><loc>{server.url('/gone.xml')}</loc></sitemap></sitemapindex>"
        )
        server.route("/index.xml", Reply(body=index.encode(), content_type="application/xml"))
        feed = f'<rss version="2.0"><channel><item><link>{server.url("/story")}</link></item></channel></rss>'
        server.route("/feed.xml", Reply(body=feed.encode(), content_type="application/rss+xml"))
        opml = (
            f'<opml version="2.0"><body><outline text="F" xmlUrl="{server.url("/feed.xml")}"/></body></opml>'
        )
        server.route("/subs.opml", Reply(body=opml.encode(), content_type="text/x-opml"))
        options = local_fetch_options(max_retries=0)
        collection = collect(
            [SourceInput(location=server.url("/index.xml")), SourceInput(location=server.url("/subs.opml"))],
            fetch=lambda url: fetch_feed_bytes(url, options),
        )
    assert [e.url for e in collection.entries] == [
        "https://news.example/newest",
        "https://news.example/older",
        server.url("/story"),
    ]
    assert any("gone.xml" in p and "404" in p for p in collection.problems)
