"""Ingestion end to end: a real local HTTP server, the real fetcher, extractor and store."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from PIL import Image

import paths
from factories import make_pdf
from httpserver import LocalServer, Reply, local_fetch_options
from medcurate.frontmatter import read_document, render_document
from medcurate.pipeline import IngestOptions, default_options, ingest_urls
from medcurate.rules import derive_slug
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import ItemQuery, count_items, get_item, item_from_record, list_items

FIXTURES = paths.FIXTURES / "pipeline"
ARTICLE_PATH = "/technology/3-ways-hospitals-can-harden-their-it-security"


def _png(width: int = 1200, height: int = 630) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def _article_variant(sentence: str) -> bytes:
    html = (FIXTURES / "article.html").read_text(encoding="utf-8")
    return html.replace("None of these steps is new", sentence).encode("utf-8")


@pytest.fixture()
def site() -> LocalServer:
    """A local news site: one article, its image, a near-copy on another path, a missing page."""
    with LocalServer() as server:
        server.route(
            "/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        )
        server.route(ARTICLE_PATH, Reply(body=(FIXTURES / "article.html").read_bytes()))
        server.route("/images/hardening.png", Reply(body=_png(), content_type="image/png"))
        server.route("/syndicated/hardening", Reply(body=_article_variant("None of these measures is novel")))
        server.route("/private/memo", Reply(body=b"<html><body><p>secret</p></body></html>"))
        yield server


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", allowed_hosts=("127.0.0.1",))


def _options(settings: Settings) -> IngestOptions:
    fetch = local_fetch_options(cache_dir=settings.cache_dir)
    return replace(default_options(settings, suggest=False), fetch=fetch)


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path / 'pipeline.db'}")
    yield database
    database.dispose()


def test_article_becomes_a_draft_with_every_seed_field(
    site: LocalServer, db: Database, tmp_path: Path, seeds_dir: Path
) -> None:
    settings = _settings(tmp_path)
    url = site.url(ARTICLE_PATH) + "?utm_source=twitter&fbclid=abc"
    report = ingest_urls(db, [url], settings=settings, actor="ann", options=_options(settings))
    assert [o.status for o in report.outcomes] == ["created"], report.outcomes
    with db.session() as session:
        record = get_item(session, item_id=report.outcomes[0].item_id or 0)
        item = item_from_record(record)
        provenance = record.provenance
    seed = read_document(next(seeds_dir.glob("002_*.txt")))
    # The seed's fields in the seed's order, then medcurate's own (identifiers, source type) after them.
    own = ("identifiers", "sourceType")
    assert [key for key in item.front_matter if key not in own] == list(seed.front_matter)
    assert list(item.front_matter)[len(seed.front_matter) :] == [k for k in own if k in item.front_matter]
    assert item.front_matter["sourceType"]["type"] in {"news", "opinion"}
    for key in (
        "featuredImage",
        "link",
        "openProjectCustomFields",
        "htmlMetaData",
        "openGraphMetaData",
        "twitterMetaData",
    ):
        assert set(seed.front_matter[key]) <= set(item.front_matter[key]), key
    fm = item.front_matter
    assert fm["title"] == "3 ways hospitals can harden their IT security"
    assert fm["slug"] == derive_slug(fm["link"]["brand"], fm["title"])
    assert fm["slug"].endswith("3-ways-hospitals-can-harden-their-it-security")
    assert fm["aliases"] == "/news/3-ways-hospitals-can-harden-their-it-security"
    assert fm["link"]["href"] == site.url(ARTICLE_PATH)  # tracking parameters gone
    assert fm["date"] == "2024-03-05"
    assert fm["author"] == ["Dana Whitfield"]
    assert fm["featuredImage"]["size"] == [1200, 630]
    assert fm["featuredImage"]["format"] == "PNG"
    assert (settings.images_dir / fm["featuredImage"]["href"]).exists()
    assert fm["openGraphMetaData"]["ogtitle"] == "3 ways hospitals can harden their IT security"
    assert fm["twitterMetaData"]["twittercard"] == "summary_large_image"
    assert len(fm["description"]) <= 200 and fm["description"].startswith("Hospitals struggle")
    assert item.body.startswith("<p>Hospitals struggle constantly")
    assert "Most read" not in item.body and "newsletter" not in item.body
    assert provenance is not None and provenance["redirect_chain"][-1][1] == 200
    assert yaml.safe_load(render_document(item).split("---\n")[1])["mdName"].endswith(".md")


def test_rerun_resumes_and_creates_no_duplicates(site: LocalServer, db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    urls = [site.url(ARTICLE_PATH), site.url("/missing"), "not a url", site.url("/private/memo")]
    first = ingest_urls(db, urls, settings=settings, actor="ann", options=_options(settings))
    statuses = {o.url: o.status for o in first.outcomes}
    assert statuses[site.url(ARTICLE_PATH)] == "created"
    failed = {o.url: o.reason for o in first.outcomes if o.status == "failed"}
    assert len(failed) == 3
    assert any("404" in (reason or "") for reason in failed.values())
    assert any("robots" in (reason or "").lower() for reason in failed.values())
    second = ingest_urls(db, urls, settings=settings, actor="ann", options=_options(settings))
    assert second.batch_id == first.batch_id
    assert [o.status for o in second.outcomes if o.url == site.url(ARTICLE_PATH)] in ([], ["existing"])
    with db.session() as session:
        assert count_items(session) == 1


def test_near_duplicate_is_flagged_with_a_link(site: LocalServer, db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    options = _options(settings)
    first = ingest_urls(db, [site.url(ARTICLE_PATH)], settings=settings, actor="ann", options=options)
    second = ingest_urls(
        db, [site.url("/syndicated/hardening")], settings=settings, actor="ann", options=options
    )
    outcome = second.outcomes[0]
    # The syndicated copy names the original as canonical on the same host: it is the existing item.
    assert outcome.status in {"duplicate", "existing"}
    assert outcome.duplicate_of == first.outcomes[0].item_id


def test_killed_batch_resumes_without_duplicates(tmp_path: Path) -> None:
    pages = [f"/news/story-{n}" for n in range(6)]
    released = threading.Event()
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        for n, path in enumerate(pages):
            body = _article_variant(
                f"Story number {n} has its own distinct closing words about topic {n * 7}"
            )
            body = body.replace(b"3 ways hospitals", f"Story {n}: {n + 3} ways hospitals".encode())
            body = body.replace(b'<link rel="canonical"', b'<link rel="ignored"').replace(
                b"og:url", b"og:ignored"
            )

            def held(_request: object, body: bytes = body, first: bool = n == 0) -> Reply:
                # Only the first story is served until the test lets the rest go: the batch is
                # surely mid-way when it is killed. The timeout only guards against a hang.
                if not first:
                    released.wait(timeout=120)
                return Reply(body=body)

            server.route(path, held)
        # Each page is a different article: vary the whole body so dedupe keeps them apart.
        home = tmp_path / "home"
        env = {**os.environ, "MEDCURATE_HOME": str(home), "MEDCURATE_ALLOWED_HOSTS": '["127.0.0.1"]'}
        env.pop("MEDCURATE_DATABASE_URL", None)
        command = [sys.executable, "-m", "medcurate", "add", "--no-images", *[server.url(p) for p in pages]]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        database_url = f"sqlite:///{home / 'medcurate.db'}"
        deadline = time.monotonic() + 120  # guards against a hang only
        stored = 0
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            if (home / "medcurate.db").exists():
                probe = open_database(database_url, run_migrations=False)
                try:
                    with probe.session() as session:
                        stored = count_items(session)
                except Exception:  # the schema may not be there yet
                    stored = 0
                finally:
                    probe.dispose()
                if stored >= 1:
                    break
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        released.set()
        if process.stderr is not None:
            process.stderr.close()
        assert 1 <= stored < len(pages)
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    database = open_database(database_url)
    try:
        with database.session() as session:
            assert count_items(session) == len(pages)
            titles = [r.title for r in list_items(session, query=ItemQuery(limit=100))]
            assert len(set(titles)) == len(pages)
    finally:
        database.dispose()


def test_pdf_becomes_an_item_with_featured_pdf(db: Database, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        server.route(
            "/reports/sepsis.pdf",
            Reply(body=make_pdf("Sepsis bundle compliance report"), content_type="application/pdf"),
        )
        report = ingest_urls(
            db,
            [server.url("/reports/sepsis.pdf")],
            settings=settings,
            actor="ann",
            options=_options(settings),
        )
        assert [o.status for o in report.outcomes] == ["created"], report.outcomes
        with db.session() as session:
            record = get_item(session, item_id=report.outcomes[0].item_id or 0)
            assert record.front_matter["featuredPdf"] == server.url("/reports/sepsis.pdf")
            assert record.title == "Sepsis bundle compliance report"
            assert "Sepsis bundle" in record.text


def test_an_image_url_is_refused_and_the_batch_goes_on(
    site: LocalServer, db: Database, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    urls = [site.url("/images/hardening.png"), site.url(ARTICLE_PATH)]
    report = ingest_urls(db, urls, settings=settings, actor="ann", options=_options(settings))
    outcomes = {o.url: o for o in report.outcomes}
    assert outcomes[urls[0]].status == "failed"
    assert "UnsupportedContent" in (outcomes[urls[0]].reason or "")
    assert outcomes[urls[1]].status == "created"


def test_every_new_draft_gets_stored_suggestions(site: LocalServer, db: Database, tmp_path: Path) -> None:
    from sqlalchemy import select

    from medcurate.store.models import DecisionRecord
    from medcurate.suggest.service import record_decision, stored_suggestions

    settings = _settings(tmp_path)
    options = replace(_options(settings), suggest=True)
    report = ingest_urls(db, [site.url(ARTICLE_PATH)], settings=settings, actor="ann", options=options)
    item_id = report.outcomes[0].item_id
    assert item_id is not None
    suggestions = stored_suggestions(db, item_id=item_id)
    topics = [s for s in suggestions if s.kind == "topic"]
    assert topics and all(0.0 <= s.score <= 1.0 for s in topics)
    assert [s.rank for s in topics] == sorted(s.rank for s in topics)
    assert any("ybersecurity" in s.label for s in topics[:3]), [s.label for s in topics]
    record_decision(db, item_id=item_id, kind="topic", label=topics[0].label, action="accept", actor="ann")
    with db.session() as session:
        decision = session.scalars(select(DecisionRecord).where(DecisionRecord.item_id == item_id)).one()
        assert (decision.label, decision.action, decision.actor) == (topics[0].label, "accept", "ann")
        assert topics[0].label in item_from_record(get_item(session, item_id=item_id)).topics
