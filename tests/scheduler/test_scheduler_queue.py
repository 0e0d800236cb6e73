"""The scheduler on RQ: two real ``medcurate worker --with-scheduler`` processes, Redis and PostgreSQL.

The test drives time as the in-process test does: it enqueues the tick job for a moment it picks,
three times over (as if three schedulers fired at once), and the workers share the ticks and the
refresh jobs they queue. Each feed must be requested once per due moment and each new entry drafted
once: the database claims, not luck, decide who refreshes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from feedsupport import T0, follow_newsroom, newsroom
from httpserver import LocalServer
from medcurate.scheduler.queue import TICK_PREFIX, tick_job
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord
from medcurate.store.subscriptions import list_subscriptions

__all__ = ["newsroom"]  # the imported fixture, so linters see it used

# The test's moments lie years ahead of the real clock, so that the real ticks the workers' scheduler
# runs meanwhile find nothing due: only the ticks the test enqueues refresh.
LATER = T0.replace(year=T0.year + 20)
REDIS_URL = os.environ.get("MEDCURATE_TEST_REDIS", "redis://127.0.0.1:6379/15")
pytestmark = pytest.mark.postgres


def _redis_or_skip() -> Any:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    return connection


# A guard against a hang only: two workers load their models on a loaded machine.
def _wait(check: Callable[[], bool], what: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def workers(postgres_database: Database, tmp_path: Path) -> Iterator[tuple[Any, Settings]]:
    """Two ``medcurate worker --with-scheduler`` processes on a fresh queue; the queue and settings."""
    connection = _redis_or_skip()
    from rq import Queue

    database_url = postgres_database.engine.url.render_as_string(hide_password=False)
    queue_name = f"medcurate-feeds-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        home=tmp_path / "home",
        database_url=database_url,
        queue_url=REDIS_URL,
        queue_name=queue_name,
        allowed_hosts=("127.0.0.1",),
        host_delay=0.0,
        feed_first_entries=2,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDCURATE_")}
    env.update(
        MEDCURATE_HOME=str(settings.home),
        MEDCURATE_DATABASE_URL=database_url,
        MEDCURATE_QUEUE_URL=REDIS_URL,
        MEDCURATE_QUEUE_NAME=queue_name,
        MEDCURATE_ALLOWED_HOSTS='["127.0.0.1"]',
        MEDCURATE_HOST_DELAY="0",
        MEDCURATE_FEED_FIRST_ENTRIES="2",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "medcurate", "worker", "--with-scheduler"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"worker-{n}.log").open("w"),
        )
        for n in range(2)
    ]
    try:
        yield Queue(queue_name, connection=connection), settings
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)  # RQ's warm shutdown: the job in hand finishes
        for process in processes:
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _settled(queue: Any, database: Database, refreshes: int) -> Callable[[], bool]:
    """True once every source was refreshed ``refreshes`` times and the queue holds no work."""
    from rq.registry import StartedJobRegistry

    def check() -> bool:
        with database.session() as session:
            sources = list_subscriptions(session)
            done = all(s.refreshes >= refreshes and s.lease_until is None for s in sources)
        idle = queue.count == 0 and StartedJobRegistry(queue=queue).count == 0
        return done and idle

    return check


def _tick_three_times(queue: Any, moment_iso: str) -> None:
    for _ in range(3):
        queue.enqueue(tick_job, moment_iso)


def test_two_workers_refresh_each_feed_once_per_due_moment(
    workers: tuple[Any, Settings], newsroom: tuple[LocalServer, dict[str, Any]], postgres_database: Database
) -> None:
    queue, settings = workers
    server, feeds = newsroom
    database = postgres_database
    ids = follow_newsroom(database, server, settings, now=LATER)

    # The workers' scheduler holds the next real tick (one, whichever worker scheduled it).
    from rq.registry import ScheduledJobRegistry

    _wait(
        lambda: any(j.startswith(TICK_PREFIX) for j in ScheduledJobRegistry(queue=queue).get_job_ids()),
        "a tick",
    )

    _tick_three_times(queue, LATER.isoformat())
    _wait(_settled(queue, database, 1), "the first refreshes")
    assert {path: server.count(path) for path in ("/alpha.xml", "/beta.xml", "/gamma.xml")} == {
        "/alpha.xml": 1,
        "/beta.xml": 1,
        "/gamma.xml": 1,
    }
    with database.session() as session:
        urls = [url for (url,) in session.query(ItemRecord.url).all()]
        assert len(urls) == len(set(urls)) == 6
        assert all(s.refreshes == 1 and s.drafts_made == 2 for s in list_subscriptions(session))

    # Half an hour later: alpha and beta answer 304 to conditional requests, gamma has one new entry.
    feeds["gamma"].add(server, "gamma-3", LATER + timedelta(minutes=20))
    _tick_three_times(queue, (LATER + timedelta(minutes=31)).isoformat())
    _wait(_settled(queue, database, 2), "the second refreshes")
    assert [server.count(p) for p in ("/alpha.xml", "/beta.xml", "/gamma.xml")] == [2, 2, 2]
    assert "if-none-match" in server.seen("/alpha.xml")[-1].headers
    with database.session() as session:
        by_id = {s.id: s for s in list_subscriptions(session)}
        assert by_id[ids["alpha"]].not_modified == 1 and by_id[ids["beta"]].not_modified == 1
        assert by_id[ids["gamma"]].drafts_made == 3
        assert all(s.refreshes == 2 for s in by_id.values())
        gamma_3 = session.query(ItemRecord).filter(ItemRecord.url == server.url("/articles/gamma-3")).count()
        assert gamma_3 == 1
