"""The CLI and the readers under issue 14: storage errors, Rich markup in data, stalled batches,
unlocking users, feeds too long to read whole."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.ingest.resolve import canonical_key
from medcurate.ingest.sources import parse_feed
from medcurate.settings import Settings
from medcurate.store.db import open_database
from medcurate.store.models import BatchEntryRecord, BatchRecord


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def run(home: Path) -> CliRunner:
    """A runner on a fresh data directory, wide enough that Rich never wraps a cell."""
    return CliRunner(env={"MEDCURATE_HOME": str(home), "MEDCURATE_DATABASE_URL": "", "COLUMNS": "400"})


def test_a_storage_error_ends_with_a_message_not_a_traceback(run: CliRunner, home: Path) -> None:
    assert run.invoke(app, ["init"]).exit_code == 0
    with sqlite3.connect(home / "medcurate.db") as connection:
        connection.execute("DROP TABLE item_topics")
        connection.execute("DROP TABLE items")
    result = run.invoke(app, ["items", "list"])
    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "error:" in result.output and "database" in result.output
    assert "Traceback" not in result.output


def test_bracketed_ipv6_hosts_survive_the_result_table(run: CliRunner) -> None:
    assert run.invoke(app, ["init"]).exit_code == 0
    result = run.invoke(app, ["add", "http://[fe80::1]:8101/"])
    assert "http://[fe80::1]:8101/" in result.output, result.output


def test_users_unlock(run: CliRunner, home: Path) -> None:
    from medcurate.web.auth import LoginLimits, sign_in

    assert run.invoke(app, ["init"]).exit_code == 0
    added = run.invoke(
        app, ["users", "add", "eve", "--role", "editor", "--password-stdin"], input="a long password\n"
    )
    assert added.exit_code == 0, added.output
    database = open_database(Settings(home=home).database)
    limits = LoginLimits(free_failures=1, first_delay=timedelta(hours=1))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.session() as session:
        for _ in range(2):
            try:
                sign_in(session, username="eve", password="guess", address="a", limits=limits, now=now)
            except Exception:
                session.commit()
    result = run.invoke(app, ["users", "unlock", "eve"])
    assert result.exit_code == 0, result.output
    assert "1 failed sign-ins forgotten" in result.output
    with database.session() as session:
        assert sign_in(
            session, username="eve", password="a long password", address="a", limits=limits, now=now
        )
    database.dispose()
    assert run.invoke(app, ["users", "unlock", "ghost"]).exit_code == 1


def _dead_batch(home: Path, url: str) -> int:
    """A batch left "running" by a process that died three hours ago, one link pending."""
    database = open_database(Settings(home=home).database)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with database.session() as session:
        batch = BatchRecord(key="k" * 64, description="dead batch", state="running", created_at=long_ago)
        session.add(batch)
        session.flush()
        session.add(
            BatchEntryRecord(
                batch_id=batch.id,
                position=0,
                url=url,
                url_key=canonical_key(url),  # as the pipeline records every link
                origin={"kind": "url-list", "origin": "links", "tags": []},
                updated_at=long_ago,
            )
        )
        batch_id = batch.id
    database.dispose()
    return batch_id


def test_batches_list_shows_a_dead_batch_as_stalled_and_cancel_ends_it(run: CliRunner, home: Path) -> None:
    assert run.invoke(app, ["init"]).exit_code == 0
    batch_id = _dead_batch(home, "https://example.org/a")
    listed = run.invoke(app, ["batches", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)[0]["state"] == "stalled"
    assert "stalled" in run.invoke(app, ["batches", "list"]).output
    # a batch that is alive is left alone unless forced
    alive = run.invoke(app, ["batches", "cancel", str(batch_id), "--stalled-after", "100000"])
    assert alive.exit_code == 1 and "--force" in alive.output
    assert json.loads(run.invoke(app, ["batches", "list", "--json"]).output)[0]["state"] == "stalled"
    cancelled = run.invoke(app, ["batches", "cancel", str(batch_id)])
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.output
    assert json.loads(run.invoke(app, ["batches", "list", "--json"]).output)[0]["state"] == "cancelled"
    assert run.invoke(app, ["batches", "cancel", "999"]).exit_code == 1


def test_batches_resume_runs_the_links_left(run: CliRunner, home: Path) -> None:
    assert run.invoke(app, ["init"]).exit_code == 0
    # a link the SSRF guard refuses: the resumed batch finishes without the network
    batch_id = _dead_batch(home, "http://[fe80::1]:8101/")
    result = run.invoke(app, ["batches", "resume", str(batch_id)])
    assert "http://[fe80::1]:8101/" in result.output, result.output
    listed = json.loads(run.invoke(app, ["batches", "list", "--json"]).output)
    assert [(b["id"], b["state"]) for b in listed] == [(batch_id, "finished")]


# --- feeds ---------------------------------------------------------------------------------------


def _rss(entries: int, base: str = "https://example.org/") -> bytes:
    items = "".join(f"<item><title>Entry {n}</title><link>{base}{n}</link></item>" for n in range(entries))
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def test_a_long_feed_is_cut_to_the_entry_cap() -> None:
    report = parse_feed(_rss(1_500), origin="https://example.org/feed")
    assert len(report.entries) == 1_000
    assert report.entries[-1].url == "https://example.org/999"
    assert any("more than 1000 entries" in p for p in report.problems)
    small = parse_feed(_rss(5), origin="https://example.org/feed", max_entries=3)
    assert [e.url for e in small.entries] == [f"https://example.org/{n}" for n in range(3)]
    whole = parse_feed(_rss(5), origin="https://example.org/feed", max_entries=5)
    assert len(whole.entries) == 5 and not whole.problems


def test_a_long_json_feed_is_cut_to_the_entry_cap() -> None:
    items = [{"id": str(n), "url": f"https://example.org/{n}"} for n in range(20)]
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    report = parse_feed(data, origin="https://example.org/feed.json", max_entries=7)
    assert len(report.entries) == 7


def test_the_feed_cap_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCURATE_FEED_MAX_ENTRIES", "250")
    assert Settings().feed_max_entries == 250
    monkeypatch.setenv("MEDCURATE_FEED_MAX_ENTRIES", "lots")
    from medcurate.errors import ConfigError

    with pytest.raises(ConfigError):
        Settings()


def test_ingest_reads_at_most_the_cap(run: CliRunner, home: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(_rss(3, base="http://[fe80::1]:8101/"))  # refused by the SSRF guard: no network
    runner = CliRunner(
        env={
            "MEDCURATE_HOME": str(home),
            "MEDCURATE_DATABASE_URL": "",
            "COLUMNS": "400",
            "MEDCURATE_FEED_MAX_ENTRIES": "2",
            "MEDCURATE_ALLOWED_HOSTS": "[]",
        }
    )
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["ingest", "--feed", str(feed), "--no-robots", "--no-images"])
    assert "more than 2 entries" in result.output, result.output
