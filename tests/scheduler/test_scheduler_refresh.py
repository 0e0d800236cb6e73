"""Scheduled refreshes against a real local server serving three feeds that change between ticks.

Time is the test's: each tick is ``run_due(now=...)`` at a moment the test picks, so intervals,
back-off and Retry-After are checked as the moments the scheduler stores, never by sleeping.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

from feedsupport import T0, Feed, follow_newsroom, newsroom
from httpserver import LocalServer, Reply
from medcurate.batchrun import IngestOptions
from medcurate.pipeline import default_options
from medcurate.scheduler.follow import follow_source, pause_source, resume_source
from medcurate.scheduler.ticker import run_due
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord, SourceEntryRecord
from medcurate.store.subscriptions import get_subscription, source_health, troubled_sources

__all__ = ["newsroom"]  # the imported fixture, so linters see it used


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


def test_scheduled_refreshes_draft_new_entries_send_conditional_requests_back_off_and_pause(
    newsroom: tuple[LocalServer, dict[str, Feed]], database: Database, tmp_path: Path
) -> None:
    server, feeds = newsroom
    settings = settings_for(tmp_path, database)
    ids = follow_newsroom(database, server, settings)

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


def test_a_304_keeps_the_feeds_ttl_from_its_last_full_answer(
    newsroom: tuple[LocalServer, dict[str, Feed]], database: Database, tmp_path: Path
) -> None:
    server, feeds = newsroom
    settings = settings_for(tmp_path, database)
    feeds["alpha"].ttl = 120  # minutes: longer than the source's 30
    source = follow_source(
        database, location=server.url("/alpha.xml"), actor="t", now=T0, config=settings.load_site_config()
    )

    def next_refresh() -> timedelta:
        with database.session() as session:
            stored = get_subscription(session, source.id)
            return stored.next_refresh_at.replace(tzinfo=UTC) - now

    now = T0
    run_due(database, settings, options=light(settings), now=now)
    assert next_refresh() == timedelta(hours=2)
    # Unchanged: the server answers 304, with no body to read the <ttl> from; the wait stays 2 hours.
    now = T0 + timedelta(hours=2)
    [report] = run_due(database, settings, options=light(settings), now=now).refreshes
    assert report.not_modified and server.seen("/alpha.xml")[-1].headers.get("if-none-match")
    assert next_refresh() == timedelta(hours=2)
    # A full answer without a <ttl> drops the hint: back to the source's own interval, 304s too.
    feeds["alpha"].ttl = None
    feeds["alpha"].add(server, "alpha-3", now)
    now = T0 + timedelta(hours=4)
    assert not run_due(database, settings, options=light(settings), now=now).refreshes[0].not_modified
    assert next_refresh() == timedelta(minutes=30)
    now += timedelta(minutes=30)
    assert run_due(database, settings, options=light(settings), now=now).refreshes[0].not_modified
    assert next_refresh() == timedelta(minutes=30)


def test_one_tick_reads_a_hosts_robots_txt_once_for_all_its_feeds(
    newsroom: tuple[LocalServer, dict[str, Feed]], database: Database, tmp_path: Path
) -> None:
    server, feeds = newsroom
    settings = settings_for(tmp_path, database)
    follow_newsroom(database, server, settings)  # three feeds on one host

    # The three refreshes and the articles they draft (six pages) share the tick's robots.txt.
    first = run_due(database, settings, options=light(settings), now=T0)
    assert len(first.refreshes) == 3 and sum(r.drafts for r in first.refreshes) == 6
    assert server.count("/robots.txt") == 1

    # The next tick reads it again (the file may have changed): once, for its 304s and its one draft.
    feeds["gamma"].add(server, "gamma-3", T0 + timedelta(minutes=20))
    second = run_due(database, settings, options=light(settings), now=T0 + timedelta(minutes=31))
    assert sorted(r.not_modified for r in second.refreshes) == [False, True, True]
    assert server.count("/robots.txt") == 2
