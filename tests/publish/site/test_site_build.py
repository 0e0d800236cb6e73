"""The static site: pages, feeds, sitemap, search index, escaping, incremental builds, CLI, preview server."""

from __future__ import annotations

import json
import os
import shutil
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from threading import Thread
from typing import NoReturn

import feedparser
import lxml.html
import pytest
from jinja2 import FileSystemBytecodeCache
from lxml import etree
from PIL import Image
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.config import load_config
from medcurate.errors import PublishError
from medcurate.models import CuratedItem, Variant
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from medcurate.publish.site import build as site_build
from medcurate.publish.site import render as site_render
from medcurate.publish.site.index import ITEMS_PER_PART, part_name
from medcurate.publish.site.itemsource import ItemRevision, ListedItems
from medcurate.publish.site.plan import bucket_of, part_of, parts_for
from medcurate.publish.site.render import Renderer, SiteMeta
from medcurate.publish.site.serve import make_server
from medcurate.publish.site.state import state_path
from medcurate.publish.site.views import Section, item_key, make_view, rfc822
from medcurate.publish.site.write import SiteWriter
from sitesupport import IMAGE, PUBLISH_ITEMS, fixture_items, site_files

COMMUNITY_PAGE = "communities/chronic-care-management/curated-content/"
ZEPPELIN = f"{COMMUNITY_PAGE}example-health-zeppelin-networks-for-remote-monitoring/index.html"
NEWS_ITEM = "news/example-news-hospitals-adopt-microsegmentation/index.html"
BOOKMARK_ITEM = "posts/example-rural-tele-icu-keeps-patients-close-to-home/index.html"


@pytest.fixture()
def images_dir(tmp_path: Path) -> Path:
    """A stored featured image for the community fixture."""
    directory = tmp_path / "images"
    directory.mkdir()
    Image.new("RGB", (64, 32), (30, 90, 160)).save(directory / IMAGE, "JPEG")
    return directory


def build(
    items: list[CuratedItem] | list[SiteItem], out: Path, images_dir: Path | None = None
) -> BuildReport:
    """Build with small pages so pagination shows."""
    options = SiteOptions(page_size=2, images_dir=images_dir)
    return build_site(items, out, config=load_config(None), options=options)


@pytest.fixture()
def site(tmp_path: Path, images_dir: Path) -> Path:
    """The fixtures built into a site."""
    out = tmp_path / "site"
    build(fixture_items(), out, images_dir)
    return out


def test_every_kind_of_page_is_written(site: Path) -> None:
    expected = [
        "index.html",
        "archive/index.html",
        "archive/page/1/index.html",
        ZEPPELIN,
        NEWS_ITEM,
        BOOKMARK_ITEM,
        f"{COMMUNITY_PAGE}index.html",
        f"{COMMUNITY_PAGE}index.xml",
        f"{COMMUNITY_PAGE}atom.xml",
        "news/index.html",
        "topic/index.html",
        "topic/healthcare-it-news-cybersecurity/index.html",
        "topic/healthcare-it-news-cybersecurity/index.xml",
        "topic/healthcare-it-news-cybersecurity/atom.xml",
        "source/index.html",
        "source/example-health-org/index.html",
        "communities/index.html",
        "index.xml",
        "atom.xml",
        "sitemap.xml",
        "sitemap-pages.xml",
        "sitemap-items-0000.xml",
        "robots.txt",
        "404.html",
        "search/index.html",
        "search/index.json",
        "static/style.css",
        "static/search.js",
        f"{COMMUNITY_PAGE}example-health-zeppelin-networks-for-remote-monitoring/{IMAGE}",
    ]
    missing = [path for path in expected if not (site / path).is_file()]
    assert not missing


def test_item_page_shows_everything_about_the_item(site: Path) -> None:
    page = (site / NEWS_ITEM).read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert "<h1>Hospitals adopt microsegmentation</h1>" in page
    assert 'href="https://www.example-news.com/technology/hospitals-adopt-microsegmentation"' in page
    assert "on example-news.com" in page
    assert '<time datetime="2022-11-11T00:00:00Z">11 November 2022</time>' in page
    assert "Second Curator" in page
    assert 'href="/topic/healthcare-it-news-health-it-security/"' in page
    assert 'href="/news/">News</a>' in page  # community, and the breadcrumb
    assert "Elisity" in page and "Identity-based microsegmentation" in page  # offering + config description
    assert "<li>segment by identity</li>" in page
    assert '<meta property="og:title" content="Hospitals adopt microsegmentation">' in page
    assert '<meta name="twitter:card"' in page
    assert (
        'property="og:url" content="https://example.org/news/example-news-hospitals-adopt-microsegmentation/"'
        in page
    )
    zeppelin = (site / ZEPPELIN).read_text(encoding="utf-8")
    assert (
        f'<img src="/{COMMUNITY_PAGE}example-health-zeppelin-networks-for-remote-monitoring/{IMAGE}"'
        in zeppelin
    )
    assert 'alt="An airship above a clinic" width="64" height="32"' in zeppelin
    assert f'<a href="/{COMMUNITY_PAGE}">Curated Content</a>' in zeppelin  # linked: the site has it
    assert "<li>Chronic Care Management (CCM)</li>" in zeppelin  # not linked: no such page


def test_markdown_bodies_are_rendered(site: Path) -> None:
    page = (site / BOOKMARK_ITEM).read_text(encoding="utf-8")
    assert "<strong>tele-ICU</strong>" in page
    assert '<a href="https://www.example-rural.net/monitors" rel="nofollow noopener noreferrer">' in page


def test_alias_pages_redirect_without_script(site: Path) -> None:
    page = (site / "news/zeppelin-networks-for-remote-monitoring/index.html").read_text(encoding="utf-8")
    target = f"/{COMMUNITY_PAGE}example-health-zeppelin-networks-for-remote-monitoring/"
    assert f'<meta http-equiv="refresh" content="0; url={target}">' in page
    assert f'<link rel="canonical" href="https://example.org{target}">' in page
    assert "<script" not in page
    assert (site / "news/evil-alias/index.html").is_file()


def test_hostile_item_renders_inert(site: Path) -> None:
    for path in site.rglob("*.html"):
        tree = lxml.html.fromstring(path.read_bytes())
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue
            assert element.tag not in {"svg", "iframe", "math", "object", "embed", "details"}, path
            assert not [name for name in element.attrib if name.lower().startswith("on")], path
            for name in ("href", "src", "action"):
                value = element.get(name, "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (path, value)
            if element.tag == "script":
                assert (
                    element.get("type") == "application/ld+json" or element.get("src") == "/static/search.js"
                )
    evil = next(site.glob("news/*script*/index.html"))  # the slug was slugified into a safe directory
    text = evil.read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;Evil" in text
    assert "a mallory marker word" in text
    assert '<a href="https://example.org/ok" rel="nofollow noopener noreferrer">fine</a>' in text
    # JSON-LD is escaped the way tojson does it, so nothing in it can close the script element.
    assert "\\u003cscript\\u003e" in text


def test_feeds_parse_and_are_dated_by_their_newest_item(site: Path) -> None:
    feeds = sorted(site.rglob("index.xml")) + sorted(site.rglob("atom.xml"))
    assert len(feeds) > 10
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path
    rss = feedparser.parse((site / "index.xml").read_bytes())
    assert rss.feed.updated == "Fri, 11 Nov 2022 00:00:00 +0000"
    titles = [entry.title for entry in rss.entries]
    assert titles[0] == "Hospitals adopt microsegmentation"
    atom = feedparser.parse((site / "atom.xml").read_bytes())
    assert atom.version == "atom10"
    assert atom.feed.updated == "2022-11-11T00:00:00Z"


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=2), -timedelta(hours=5, minutes=30)])
def test_feed_dates_are_rfc822_and_page_dates_name_the_month(offset: timedelta) -> None:
    moment = datetime(2024, 3, 5, 7, 8, 9, tzinfo=timezone(offset))
    assert rfc822(moment) == format_datetime(moment)
    item = CuratedItem(front_matter={"title": "T", "date": moment}, body="", variant=Variant.NEWS_2022)
    view = make_view(
        SiteItem(item=item),
        url="/news/t/",
        section=Section(key="news", name="News", url="/news/"),
        config=load_config(None),
        images={},
        known_pages=frozenset(),
        source_digest="d",
    )
    assert view.date_human == "5 March 2024"
    assert view.date_rfc822 == format_datetime(moment)


def test_undated_feed_entries_take_the_feed_date() -> None:
    meta = SiteMeta(title="S", base_url="https://example.org/", language="en", nav=())
    renderer = Renderer(meta, ())
    section = Section(key="news", name="News", url="/news/")
    dated, undated = (
        make_view(
            SiteItem(item=CuratedItem(front_matter=matter, body="<p>Brief</p>", variant=Variant.NEWS_2022)),
            url=f"/news/{matter['title'].lower()}/",
            section=section,
            config=load_config(None),
            images={},
            known_pages=frozenset(),
            source_digest=matter["title"],
        )
        for matter in ({"title": "Dated", "date": datetime(2024, 3, 5, tzinfo=UTC)}, {"title": "Undated"})
    )
    first, second = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    one = renderer.atom_entries([dated, undated], first)
    other = renderer.atom_entries([dated, undated], second)
    dated_entry = "<updated>2024-03-05T00:00:00Z</updated>"
    assert one.count(dated_entry) == 1 == other.count(dated_entry)
    assert "<updated>2024-01-01T00:00:00Z</updated>" in one and "2025-01-01" not in one
    assert "<updated>2025-01-01T00:00:00Z</updated>" in other and "2024-01-01" not in other
    rss = renderer.rss_items([dated, undated])
    assert rss.startswith("<item>\n<title>Dated</title>") and rss.count("<item>") == 2


def test_sitemap_and_robots(site: Path) -> None:
    index = etree.fromstring((site / "sitemap.xml").read_bytes())
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    parts = [el.text or "" for el in index.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert parts == ["https://example.org/sitemap-pages.xml", "https://example.org/sitemap-items-0000.xml"]
    locs = []
    for part in parts:
        tree = etree.fromstring((site / part.removeprefix("https://example.org/")).read_bytes())
        locs += [el.text for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://example.org/" in locs
    assert f"https://example.org/{NEWS_ITEM.removesuffix('index.html')}" in locs
    assert "https://example.org/news/zeppelin-networks-for-remote-monitoring/" not in locs  # an alias
    assert "Sitemap: https://example.org/sitemap.xml" in (site / "robots.txt").read_text()


def _search_rows(site: Path) -> list[dict[str, str]]:
    """Every row of the search index, from its parts."""
    index = json.loads((site / "search/index.json").read_text())
    rows = []
    for name in index["parts"]:
        text = (site / "search" / name).read_text()
        assert "<" not in text
        rows += [dict(zip(index["fields"], row, strict=True)) for row in json.loads(text)["items"]]
    return rows


def test_search_index_holds_the_brief_text(site: Path) -> None:
    rows = _search_rows(site)
    assert len(rows) == len({r["url"] for r in rows}) == 4
    zeppelin = next(r for r in rows if r["title"] == "Zeppelin Networks for Remote Monitoring")
    assert "quixotic" in zeppelin["text"]
    assert zeppelin["url"] == f"/{ZEPPELIN.removesuffix('index.html')}"


def test_search_index_parts_keep_a_one_item_rebuild_small(tmp_path: Path) -> None:
    items = [
        fixture_items()[1].updated({"title": f"Item number {n}", "slug": f"item-{n}", "mdName": f"item-{n}"})
        for n in range(ITEMS_PER_PART * 3)
    ]
    out = tmp_path / "site"
    build(items, out)
    rows = _search_rows(out)
    index = json.loads((out / "search/index.json").read_text())
    bits = parts_for(len(items), ITEMS_PER_PART)
    assert len(index["parts"]) == 1 << bits == 4 and len(rows) == len(items)
    assert {r["title"] for r in rows} == {f"Item number {n}" for n in range(len(items))}
    before = {p.name: p.stat().st_mtime_ns for p in (out / "search").iterdir()}
    items[7] = items[7].updated({"title": "Item number seven, renamed"})
    build(items, out)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "search").iterdir()}
    assert [name for name in after if after[name] != before[name]] == [
        part_name(part_of(bucket_of(items[7].md_name or ""), bits))
    ]
    assert "Item number seven, renamed" in {r["title"] for r in _search_rows(out)}


def test_rebuild_with_nothing_changed_writes_nothing(site: Path, images_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    report = build(fixture_items(), site, images_dir)
    assert report.written == 0 and report.removed == 0
    assert report.unchanged == report.files > 40
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()} == before


def test_a_rebuild_with_nothing_changed_reports_what_the_build_before_it_did(tmp_path: Path) -> None:
    items = fixture_items()
    items.append(items[0])  # published twice: a warning
    out = tmp_path / "site"
    first = build(items, out)
    assert first.warnings and first.items == 4
    again = build(items, out)
    assert (again.written, again.items, again.warnings) == (0, first.items, first.warnings)
    assert again.files == again.unchanged == first.files


def test_a_changed_stylesheet_is_written_although_no_item_changed(
    site: Path, images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = site_build._static_files()
    changed = {**shipped, "style.css": shipped["style.css"] + b"\n.new-rule { color: teal; }\n"}
    monkeypatch.setattr(site_build, "_static_files", lambda: changed)
    report = build(fixture_items(), site, images_dir)
    assert report.written == 1
    assert b".new-rule" in (site / "static/style.css").read_bytes()


def test_one_changed_item_rewrites_only_its_pages(site: Path, images_dir: Path) -> None:
    items = fixture_items()
    brief = "<p>A new brief about the airship idea.</p>"
    changed = [
        i.updated({"description": "A new description."}, body=brief) if i.title.startswith("Zeppelin") else i
        for i in items
    ]
    before = {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    report = build(changed, site, images_dir)
    after = {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    rewritten = {p for p in after if after[p] != before.get(p)}
    assert report.written == len(rewritten)
    assert ZEPPELIN in rewritten
    assert f"{COMMUNITY_PAGE}index.html" in rewritten
    assert any(p.startswith("search/part-") for p in rewritten)
    assert NEWS_ITEM not in rewritten and BOOKMARK_ITEM not in rewritten
    assert "static/style.css" not in rewritten
    assert "A new brief about the airship idea." in (site / ZEPPELIN).read_text(encoding="utf-8")
    assert report.written < report.files / 3


def test_a_full_build_writes_again_a_page_deleted_by_hand(site: Path, images_dir: Path) -> None:
    (site / ZEPPELIN).unlink()
    (site / "search/index.json").unlink()
    options = SiteOptions(page_size=2, images_dir=images_dir, incremental=False)
    report = build_site(fixture_items(), site, config=load_config(None), options=options)
    assert report.written == report.files and report.removed == 0
    assert (site / ZEPPELIN).is_file() and (site / "search/index.json").is_file()


def test_a_removed_item_loses_its_pages(site: Path, images_dir: Path) -> None:
    items = [i for i in fixture_items() if i.variant.value != "bookmark-2019"]
    report = build(items, site, images_dir)
    assert report.removed > 0
    assert not (site / BOOKMARK_ITEM).exists()
    assert not (site / "posts").exists()
    assert (site / NEWS_ITEM).exists()


def test_site_items_carry_store_metadata(tmp_path: Path) -> None:
    item = next(i for i in fixture_items() if i.variant.value == "bookmark-2019")
    out = tmp_path / "site"
    build([SiteItem(item=item, key="bookmark-key", community="news")], out)
    page = (out / BOOKMARK_ITEM).read_text(encoding="utf-8")
    assert 'in <a href="/news/">News</a>' in page


@pytest.fixture()
def served(site: Path) -> Iterator[str]:
    """The built site on a real server on 127.0.0.1."""
    server = make_server(site, port=0)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_preview_server_serves_pages_and_the_site_404(served: str) -> None:
    with urllib.request.urlopen(f"{served}/") as response:
        assert response.status == 200
        assert b"Hospitals adopt microsegmentation" in response.read()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{served}/no/such/page/")
    assert raised.value.code == 404
    assert b"Page not found" in raised.value.read()
    raised.value.close()


def test_cli_builds_from_the_store(tmp_path: Path) -> None:
    runner = CliRunner(env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": ""})
    assert runner.invoke(app, ["import", str(PUBLISH_ITEMS)]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(app, ["site", "build", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 items" in " ".join(result.output.split())
    assert (out / ZEPPELIN).is_file()
    again = runner.invoke(app, ["site", "build", str(out)])
    assert "0 files written" in " ".join(again.output.split())
    report = json.loads(runner.invoke(app, ["site", "build", "--json", str(out)]).stdout)
    assert report["items"] == 4 and report["written"] == 0 and report["files"] > 20
    missing = runner.invoke(app, ["site", "serve", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2


def test_the_state_lives_beside_the_site_and_a_new_build_reads_no_unchanged_item(
    tmp_path: Path, images_dir: Path
) -> None:
    out = tmp_path / "site"
    build(fixture_items(), out, images_dir)
    assert state_path(out).parent == tmp_path and state_path(out).is_file()
    assert not [p for p in out.rglob("*") if "state" in p.name]  # never served nor deployed
    items = fixture_items()
    items[2] = items[2].updated({"title": "Only this one changed"})
    read: list[str] = []

    class Counting(ListedItems):
        def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
            read.extend(keys)
            return super().load(keys)

    report = build_site(
        Counting([SiteItem(item=i) for i in items]),
        out,
        config=load_config(None),
        options=SiteOptions(page_size=2, images_dir=images_dir),
    )
    assert report.written > 0
    # The changed item, then the few whose briefs its feeds and the home page show.
    assert read[0] == item_key(SiteItem(item=items[2])) and len(read) < 4 * 6


@pytest.mark.parametrize("garbage", ["{not json", "", "SQLite format 3\x00 but cut short"])
def test_a_broken_state_is_replaced_and_the_site_built_in_full(
    tmp_path: Path, images_dir: Path, garbage: str
) -> None:
    out = tmp_path / "site"
    build(fixture_items(), out, images_dir)
    expected = site_files(out)
    state_path(out).write_text(garbage, encoding="utf-8")
    shutil.rmtree(out)
    report = build(fixture_items(), out, images_dir)
    assert site_files(out) == expected and report.written == report.files


def test_a_page_that_cannot_be_written_fails_the_build_and_the_next_build_repairs_the_site(
    tmp_path: Path, images_dir: Path
) -> None:
    out = tmp_path / "site"
    build(fixture_items(), out, images_dir)
    items = fixture_items()
    items = [i.updated({"title": f"{i.title}, again"}) for i in items]
    blocked = out / ZEPPELIN.removesuffix("/index.html")
    shutil.rmtree(blocked)
    blocked.write_text("a file where the item's directory must go")
    with pytest.raises(PublishError, match="cannot write"):
        build(items, out, images_dir)
    blocked.unlink()
    build(items, out, images_dir)
    clean = tmp_path / "clean"
    build(items, clean, images_dir)
    assert site_files(out) == site_files(clean)


def test_writes_never_leave_the_site(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path / "site")
    for path in ("../escape.html", "/etc/passwd", "a/../../b", "a//b", ""):
        with pytest.raises(PublishError, match="refusing"):
            writer.write(path, b"x")
    writer.write("a/b/index.html", "Café".encode())
    assert (tmp_path / "site/a/b/index.html").read_text(encoding="utf-8") == "Café"
    assert not list((tmp_path / "site/a/b").glob("*.medcurate-tmp"))
    writer.write("a/b/index.html", b"shorter")  # replaced whole, in a directory that exists
    assert (tmp_path / "site/a/b/index.html").read_bytes() == b"shorter"


def test_pages_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    old_mask = os.umask(0o027)
    try:
        SiteWriter(tmp_path / "site").write("p/index.html", b"x")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((tmp_path / "site/p/index.html").stat().st_mode) == 0o640


def test_compiled_templates_are_cached_and_follow_template_edits(
    tmp_path: Path, images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "jinja"
    cache_dir.mkdir(mode=0o700)
    monkeypatch.setattr(
        site_render,
        "_bytecode_cache",
        lambda: FileSystemBytecodeCache(str(cache_dir), pattern=site_render.BYTECODE_PATTERN),
    )
    overrides = tmp_path / "templates"
    (overrides / "site").mkdir(parents=True)
    page = overrides / "site" / "404.html"
    out = tmp_path / "site"
    for text in ("First missing page", "Second missing page"):
        page.write_text(f'{{% extends "site/base.html" %}}{{% block main %}}{text}{{% endblock %}}')
        options = SiteOptions(page_size=2, images_dir=images_dir, template_dirs=(overrides,))
        build_site(fixture_items(), out, config=load_config(None), options=options)
        assert text in (out / "404.html").read_text(encoding="utf-8")
    # Both versions of the edited template, and the built-in ones, were compiled into the cache.
    assert len(list(cache_dir.glob("medcurate-site-*.cache"))) >= 3


def test_a_build_without_a_template_cache_still_builds(
    tmp_path: Path, images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsafe(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("Cannot determine safe temp directory.")

    monkeypatch.setattr(site_render, "FileSystemBytecodeCache", unsafe)
    out = tmp_path / "site"
    report = build(fixture_items(), out, images_dir)
    assert report.written == report.files and (out / NEWS_ITEM).is_file()
