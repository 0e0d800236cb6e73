"""The rules that keep concurrent writers apart, one at a time, in-process, on both databases.

Ids from the database (front matter equal to the row id, continuing past imported ids), the loser
of a concurrent duplicate pointing at the winner, a crashing job failing its remaining links and
itself, re-runs finishing without duplicates, and driver errors leaving as medcurate's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bench.scale_ingest import article_pages
from sqlalchemy import select, text

from medcurate import batchrun
from medcurate.errors import ConfigError, Conflict, StorageError
from medcurate.ingest.politeness import RedisHostLimiter
from medcurate.ingest.sources import SourceEntry, SourceKind
from medcurate.jobs import IngestJob, ThreadRunner, registered_status
from medcurate.models import CuratedItem, Variant
from medcurate.pipeline import BatchReport, IngestOptions, ingest_entries
from medcurate.settings import Settings, settings_environment
from medcurate.store.db import Database
from medcurate.store.ingest import BatchLink, open_batch
from medcurate.store.models import BatchEntryRecord, BatchRecord, ItemRecord
from medcurate.store.repository import save_item
from opssupport import REDIS_URL, require_redis

PAGES = article_pages(4, seed=11)
OFFLINE = IngestOptions(suggest=False, download_images=False)


def _entries(paths: list[str]) -> list[SourceEntry]:
    return [
        SourceEntry(
            url=f"https://news.example.org{path}",
            kind=SourceKind.URL_LIST,
            origin="test",
            html=PAGES[path].decode(),
        )
        for path in paths
    ]


def _ingest(database: Database, tmp_path: Path, paths: list[str], key: str) -> BatchReport:
    return ingest_entries(
        database,
        _entries(paths),
        settings=Settings(home=tmp_path / "home"),
        actor="test",
        options=OFFLINE,
        batch_key=key,
    )


def _items(database: Database) -> list[tuple[int, Any, str | None]]:
    with database.session() as session:
        rows = session.execute(select(ItemRecord.id, ItemRecord.front_matter, ItemRecord.url)).all()
    return [(row[0], row[1].get("id"), row[2]) for row in rows]


def test_ids_come_from_the_database_past_imported_ones(database: Database, tmp_path: Path) -> None:
    imported = CuratedItem(
        front_matter={"id": 500, "title": "Imported"},
        body="An imported item keeps its id.",
        variant=Variant.NEWS_2022,
    )
    with database.session() as session:
        save_item(session, item=imported, md_name="imported", url_key="imported", item_id=500)
    report = _ingest(database, tmp_path, list(PAGES)[:2], "ids")
    assert report.counts["created"] == 2
    new = sorted(row for row in _items(database) if row[0] != 500)
    assert [row[0] for row in new] == [501, 502]
    assert all(item_id == front_id for item_id, front_id, _ in new)


def test_a_concurrent_duplicate_points_at_the_winner(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = next(iter(PAGES))
    (winner,) = _ingest(database, tmp_path, [path], "first").outcomes
    real = batchrun.stored_item
    calls = {"n": 0}

    def stale(session: Any, **kwargs: Any) -> ItemRecord | None:
        # The two checks before storing miss the winner, as a writer racing it would.
        calls["n"] += 1
        return None if calls["n"] <= 2 else real(session, **kwargs)

    monkeypatch.setattr(batchrun, "stored_item", stale)
    (loser,) = _ingest(database, tmp_path, [path], "second").outcomes
    assert (loser.status, loser.duplicate_of) == ("existing", winner.item_id)
    assert len(_items(database)) == 1
    with database.session() as session:
        entry = session.scalars(
            select(BatchEntryRecord).join(BatchRecord).where(BatchRecord.key == "second")
        ).one()
    assert (entry.status, entry.item_id) == ("existing", winner.item_id)


def test_a_crash_fails_the_remaining_links_and_a_rerun_finishes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = list(PAGES)[:3]
    real = batchrun.build_draft
    built = {"n": 0}

    def breaks_second(draft: Any) -> CuratedItem:
        built["n"] += 1
        if built["n"] > 2:  # two calls per stored item: the second item breaks
            raise RuntimeError("disk on fire")
        return real(draft)

    monkeypatch.setattr(batchrun, "build_draft", breaks_second)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _ingest(database, tmp_path, paths, "crash")
    with database.session() as session:
        batch = session.scalars(select(BatchRecord).where(BatchRecord.key == "crash")).one()
        statuses = sorted((e.status, e.reason or "") for e in batch.entries)
        assert batch.state == "failed"
    assert [s for s, _ in statuses] == ["created", "failed", "failed"]
    assert all("RuntimeError: disk on fire" in reason for s, reason in statuses if s == "failed")
    monkeypatch.setattr(batchrun, "build_draft", real)
    report = _ingest(database, tmp_path, paths, "crash")
    assert sorted(o.status for o in report.outcomes) == ["created", "created", "existing"]
    items = _items(database)
    assert len(items) == 3 and len({url for _, _, url in items}) == 3


def test_migration_0004_continues_ids_past_stored_rows(database: Database, tmp_path: Path) -> None:
    from alembic import command

    from medcurate.store.db import alembic_config

    config = alembic_config(database.engine)
    command.downgrade(config, "0003")
    with database.engine.begin() as connection:  # a row stored before 0004, in 0003's columns
        connection.execute(
            text(
                "INSERT INTO items (id, md_name, url_key, title, state, variant, front_matter, body, text,"
                " created_at, updated_at) VALUES (41, 'stored', 'stored', 'Stored', 'draft', 'news-2022',"
                " '{\"id\": 41}', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "head")
    (outcome,) = _ingest(database, tmp_path, list(PAGES)[:1], "after-migration").outcomes
    assert outcome.item_id == 42
    assert registered_status(database, "none").state == "unknown"  # the jobs table is there


def test_opening_a_batch_again_joins_it(database: Database) -> None:
    links = [BatchLink(url=f"https://a.example/{n}", url_key=f"a.example/{n}") for n in range(3)]
    first = open_batch(database, key="same", description="", links=links)
    second = open_batch(database, key="same", description="", links=links[1:])
    assert first == (second[0], first[1]) and second[1] == first[1]


def test_driver_errors_leave_as_storage_errors(database: Database) -> None:
    with pytest.raises(Conflict), database.session() as session:
        session.add_all([BatchRecord(key="k", description=""), BatchRecord(key="k", description="")])
        session.flush()
    with pytest.raises(StorageError), database.session() as session:
        session.execute(text("SELECT * FROM no_such_table"))


def test_a_job_is_answered_by_any_runner(sqlite_database: Database, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    runner = ThreadRunner(settings, sqlite_database)
    job_id = runner.submit(IngestJob(urls=("not a link",), actor="ann", batch_key="reg"))
    runner.shutdown()
    status = registered_status(sqlite_database, job_id)
    assert (status.state, status.batch_key, status.urls, status.actor) == (
        "finished",
        "reg",
        ("not a link",),
        "ann",
    )
    assert ThreadRunner(settings, sqlite_database).status(job_id) == status


def test_settings_travel_to_other_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, allowed_hosts=("127.0.0.1",), host_delay=0.25, host_concurrency=3)
    for name, value in settings_environment(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings
    monkeypatch.setenv("MEDCURATE_HOST_DELAY", "soon")
    with pytest.raises(ConfigError, match="MEDCURATE_HOST_DELAY"):
        Settings()


def test_the_redis_limiter_holds_every_process_to_the_host_limits() -> None:
    require_redis()
    import uuid

    prefix = f"medcurate-test:politeness:{uuid.uuid4().hex[:8]}"
    # Two limiters on their own connections stand for two worker processes.
    limiters = [RedisHostLimiter(REDIS_URL, concurrency=2, prefix=prefix) for _ in range(2)]
    in_flight, most, starts = [0], [0], []

    async def request(n: int) -> None:
        async with limiters[n % 2].slot("http://news.example", delay=0.05):
            starts.append(asyncio.get_running_loop().time())
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.02)
            in_flight[0] -= 1

    async def main() -> float:
        begun = asyncio.get_running_loop().time()
        await asyncio.gather(*(request(n) for n in range(8)))
        return asyncio.get_running_loop().time() - begun

    took = asyncio.run(main())
    assert len(starts) == 8 and 1 <= most[0] <= 2
    # Eight starts, each at least the delay after the one before it on the Redis clock: the whole
    # run cannot take less than seven delays (a lower bound, whatever the machine's load).
    assert took >= 7 * 0.05
