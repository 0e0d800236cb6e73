"""Scheduled refreshes against a real local server serving three feeds that change between ticks.

Time is the test's: each tick is ``run_due(now=...)`` at a moment the test picks, so intervals,
back-off and Retry-After are checked as the moments the scheduler stores, never by sleeping.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from httpserver import LocalServer, Reply, SeenRequest
from medcurate.batchrun import IngestOptions
from medcurate.pipeline import default_options
from medcurate.scheduler.follow import follow_source, pause_source, resume_source
from medcurate.scheduler.ticker import run_due
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord, SourceEntryRecord
from medcurate.store.subscriptions import get_subscription, source_health, troubled_sources

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
VOCABULARY = ["clinic", "nurses", "vendor", "audit", "budget", "network", "device", "patient", "server", "backup", "policy", "board", "insurer", "outage", "pharmacy", "imaging", "laboratory", "portal", "identity", "password", "firewall", "training", "drill", "regulator", "hospital", "surgeon", "oncology", "cardiology", "trial", "dose", "vaccine", "screening", "registry", "telehealth", "billing", "coding", "claims", "privacy", "breach", "ransomware", "encryption", "staffing", "shortage", "rural", "urban", "pediatric", "geriatric", "emergency"]


def article(title: str, seed: int) -> bytes:
    """An article page whose words no other seed's page shares in order (no near-duplicates)."""
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(VOCABULARY) for _ in range(60)).capitalize() + ".</p>" for _ in range(6)
    )
    return (
        f"<!doctype html><html><head><title>{title}</title><meta name='author' content='Ann Writer'>"
        f"<meta property='article:published_time' content='2026-11-30T08:00:00Z'></head>"
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


@dataclass
class Feed:
    """One feed the server serves: its entries (newest first) and how it answers now."""

    path: str
    validator: str  # "etag" or "last-modified"
    entries: list[tuple[str, datetime]] = field(default_factory=list)
    version: int = 1
    failing: Reply | None = None

    def add(self, server: LocalServer, slug: str, when: datetime) -> None:
        server.route(f"/articles/{slug}", Reply(body=article(f"Story {slug}", zlib.crc32(slug.encode()))))
        self.entries.insert(0, (slug, when))
        self.version += 1

    def answer(self, server: LocalServer, request: SeenRequest) -> Reply:
        if self.failing is not None:
            return self.failing
        etag = f'"{self.path}-v{self.version}"'
        modified = format_datetime(T0 + timedelta(minutes=self.version), usegmt=True)
        if self.validator == "etag" and request.headers.get("if-none-match") == etag:
            return Reply(status=304, body=b"", content_type=None, headers={"ETag": etag})
        if self.validator == "last-modified" and request.headers.get("if-modified-since") == modified:
            return Reply(status=304, body=b"", content_type=None, headers={"Last-Modified": modified})
        items = "".join(
            f"<item><title>Story {slug}</title><link>{server.url('/articles/' + slug)}</link>"
            f"<guid isPermaLink='false'>urn:{self.path}:{slug}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
            for slug, when in self.entries
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.path}</title>{items}</channel></rss>'
        headers = {"ETag": etag} if self.validator == "etag" else {"Last-Modified": modified}
        return Reply(body=body.encode(), content_type="application/rss+xml", headers=headers)


@pytest.fixture()
def newsroom() -> Iterator[tuple[LocalServer, dict[str, Feed]]]:
    """Three feeds: one with an ETag, one with Last-Modified, one that will fail."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        feeds = {
            "alpha": Feed("/alpha.xml", "etag"),
            "beta": Feed("/beta.xml", "last-modified"),
            "gamma": Feed("/gamma.xml", "etag"),
        }
        for name, feed in feeds.items():
            server.route(feed.path, lambda request, feed=feed: feed.answer(server, request))
            for number in range(3):
                feed.add(server, f"{name}-{number}", T0 - timedelta(hours=3 - number))
        yield server, feeds


def settings_for(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database.engine.url.render_as_string(hide_password=False),
        allowed_hosts=("127.0.0.1",),
        host_delay=0.0,
        feed_pause_after=3,
        feed_first_entries=2,
    )


def light(settings: Settings) -> IngestOptions:
    """The pipeline's options without suggestions (they load a model; tested elsewhere)."""
    return replace(default_options(settings), suggest=False, download_images=False)


def drafted_urls(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(url for (url,) in session.query(ItemRecord.url).all() if url)


def _source_ids(database: Database, server: LocalServer, settings: Settings) -> dict[str, int]:
    ids = {}
    for name, topics in (("alpha", ["Cybersecurity"]), ("beta", []), ("gamma", ["Telehealth", "Policy"])):
        source = follow_source(
            database,
            location=server.url(f"/{name}.xml"),
            actor="tester",
            now=T0,
            config=settings.load_site_config(),
            community="news",
            topics=topics,
        )
        ids[name] = source.id
    return ids


def test_scheduled_refreshes_draft_new_entries_send_conditional_requests_back_off_and_pause(
    newsroom: tuple[LocalServer, dict[str, Feed]], database: Database, tmp_path: Path
) -> None:
    server, feeds = newsroom
    settings = settings_for(tmp_path, database)
    ids = _source_ids(database, server, settings)

    # First refresh: each new source drafts only its newest two entries (feed_first_entries=2).
    first = run_due(database, settings, options=light(settings), now=T0)
    assert sorted(r.source_id for r in first.refreshes) == sorted(ids.values())
    urls = drafted_urls(database)
    assert len(urls) == 6 and not any(url.endswith("-0") for url in urls)
    with database.session() as session:
        gamma_items = session.query(ItemRecord).filter(ItemRecord.url.like("%gamma%")).all()
        assert {item.community for item in gamma_items} == {"news"}
        assert all([t.label for t in item.topics][:2] == ["Telehealth", "Policy"] for item in gamma_items)
        assert session.query(SourceEntryRecord).count() == 9  # the oldest entries are remembered unread

    # Not due yet: no request at all.
    before = len(server.paths())
    assert (
        run_due(database, settings, options=light(settings), now=T0 + timedelta(minutes=10)).refreshes == []
    )
    assert len(server.paths()) == before

    # Due, unchanged: conditional requests, 304s, nothing new; gamma has one new entry.
    feeds["gamma"].add(server, "gamma-3", T0 + timedelta(minutes=20))
    second = run_due(database, settings, options=light(settings), now=T0 + timedelta(minutes=31))
    by_source = {r.source_id: r for r in second.refreshes}
    assert by_source[ids["alpha"]].not_modified and by_source[ids["beta"]].not_modified
    assert server.seen("/alpha.xml")[-1].headers.get("if-none-match") == '"/alpha.xml-v4"'
    assert "if-modified-since" in server.seen("/beta.xml")[-1].headers
    assert by_source[ids["gamma"]].drafts == 1
    assert drafted_urls(database) == sorted([*urls, server.url("/articles/gamma-3")])

    # gamma fails: back-off doubles, and the third failure in a row pauses it with the reason.
    feeds["gamma"].failing = Reply(status=500, body=b"down")
    now = T0 + timedelta(minutes=62)
    waits = []
    for _ in range(3):
        report = run_due(database, settings, options=light(settings), now=now)
        assert [r.error is not None for r in report.refreshes if r.source_id == ids["gamma"]] == [True]
        with database.session() as session:
            source = get_subscription(session, ids["gamma"])
            if source.enabled:
                next_at = source.next_refresh_at.replace(tzinfo=UTC)
                waits.append(next_at - now)
                now = next_at
    assert waits == [timedelta(minutes=60), timedelta(minutes=120)]
    with database.session() as session:
        gamma = get_subscription(session, ids["gamma"])
        assert not gamma.enabled and gamma.consecutive_failures == 3
        assert "paused after 3 failures" in (gamma.paused_reason or "") and "500" in gamma.paused_reason
        failing, _silent = troubled_sources(session, now=now)
        assert [s.id for s in failing] == [ids["gamma"]]
    calls = server.count("/gamma.xml")
    run_due(database, settings, options=light(settings), now=now + timedelta(days=2))
    assert server.count("/gamma.xml") == calls  # a paused source is not refreshed

    # Resumed and healthy again: refreshed at once, its new entry drafted once.
    feeds["gamma"].failing = None
    feeds["gamma"].add(server, "gamma-4", now)
    resume_source(database, source_id=ids["gamma"], actor="tester", now=now + timedelta(days=2))
    resumed = run_due(database, settings, options=light(settings), now=now + timedelta(days=2))
    assert [(r.source_id, r.drafts) for r in resumed.refreshes] == [(ids["gamma"], 1)]
    assert drafted_urls(database).count(server.url("/articles/gamma-4")) == 1
    with database.session() as session:
        health = {h.source.id: h for h in source_health(session, now=now + timedelta(days=2))}
    assert health[ids["gamma"]].drafts_30d == 4 and health[ids["alpha"]].drafts_30d == 2
    assert health[ids["gamma"]].median_delay is not None


def test_retry_after_on_a_429_sets_the_next_refresh(
    newsroom: tuple[LocalServer, dict[str, Feed]], database: Database, tmp_path: Path
) -> None:
    server, feeds = newsroom
    settings = settings_for(tmp_path, database)
    source = follow_source(
        database, location=server.url("/beta.xml"), actor="t", now=T0, config=settings.load_site_config()
    )
    feeds["beta"].failing = Reply(status=429, body=b"slow down", headers={"Retry-After": "7200"})
    run_due(database, settings, options=light(settings), now=T0)
    with database.session() as session:
        stored = get_subscription(session, source.id)
        assert stored.next_refresh_at.replace(tzinfo=UTC) == T0 + timedelta(hours=2)
        assert "429" in (stored.last_error or "")
    pause_source(database, source_id=source.id, actor="t", reason="moving to a new URL")
    with database.session() as session:
        assert get_subscription(session, source.id).paused_reason == "moving to a new URL"
