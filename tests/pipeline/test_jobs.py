"""Jobs in threads (the embedded default) and on an RQ queue in a real Redis, served by `medcurate worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from httpserver import LocalServer, Reply
from medcurate.jobs import IngestJob, QueueRunner, ThreadRunner, make_runner
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import ItemQuery, count_items, list_items
from opssupport import REDIS_URL, require_redis
from paths import FIXTURES

ARTICLE = (FIXTURES / "pipeline" / "article.html").read_bytes()


@pytest.fixture()
def site() -> LocalServer:
    """One article and an empty robots.txt."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        server.route("/a", Reply(body=ARTICLE))
        yield server


# A guard against a hang only: a loaded machine may take minutes, and nothing is asserted on the time.
def _wait(check: object, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_thread_runner_runs_a_job(site: LocalServer, tmp_path: Path, sqlite_database: Database) -> None:
    settings = Settings(home=tmp_path / "home", allowed_hosts=("127.0.0.1",))
    runner = make_runner(settings, sqlite_database)
    assert isinstance(runner, ThreadRunner)
    job_id = runner.submit(IngestJob(urls=(site.url("/a"),), actor="ann", batch_key="k1"))
    _wait(lambda: runner.status(job_id).state == "finished")
    runner.shutdown()
    with sqlite_database.session() as session:
        assert count_items(session) == 1


def test_queue_runner_with_a_worker_process(site: LocalServer, tmp_path: Path, database: Database) -> None:
    require_redis()
    database_url = database.engine.url.render_as_string(hide_password=False)
    queue_name = f"medcurate-test-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=database_url, queue_url=REDIS_URL, queue_name=queue_name)
    runner = make_runner(settings, database)
    assert isinstance(runner, QueueRunner)
    job_id = runner.submit(IngestJob(urls=(site.url("/a"),), actor="ann", batch_key="queued-1"))
    assert runner.status(job_id).state == "queued"
    env = {
        **os.environ,
        "MEDCURATE_HOME": str(home),
        "MEDCURATE_DATABASE_URL": database_url,
        "MEDCURATE_QUEUE_URL": REDIS_URL,
        "MEDCURATE_QUEUE_NAME": queue_name,
        "MEDCURATE_ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    worker = subprocess.run(
        [sys.executable, "-m", "medcurate", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a guard against a hang only, as in _wait
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert runner.status(job_id).state == "finished", worker.stderr
    with database.session() as session:
        titles = [r.title for r in list_items(session, query=ItemQuery())]
    assert titles == ["3 ways hospitals can harden their IT security"]


def test_worker_without_a_queue_fails_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "MEDCURATE_HOME": str(tmp_path)}
    env.pop("MEDCURATE_QUEUE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "medcurate", "worker", "--burst"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "MEDCURATE_QUEUE_URL" in result.stderr
