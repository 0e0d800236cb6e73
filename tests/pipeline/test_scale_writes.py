"""Many writers at once, with real processes: queue workers on PostgreSQL, `medcurate add` on SQLite,
two servers answering for each other's jobs.

Each test submits the same links more than once in overlapping batches and then checks what the
database holds: every link stored exactly once, every batch entry in a final state, front-matter
ids equal to row ids, and no traceback in any process's output.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from bench.scale_ingest import (
    article_pages,
    audit,
    overlapping_batches,
    running_server,
    serve_pages,
    tracebacks,
    worker_env,
)

from medcurate.jobs import IngestJob, QueueRunner, registered_status
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.models import BatchEntryRecord
from medcurate.suggest.static import static_encoder
from medcurate.users import Role, add_user, create_api_token
from opssupport import REDIS_URL, require_redis

LINKS = 60
FINAL = {"created", "existing", "duplicate"}


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, list[str]]]:
    """60 article pages (some near-duplicates of others) on a local server: its base URL and links.

    The processes suggest with the static model, distilled here first (once per machine) so that
    they do not all distil it at once.
    """
    static_encoder().stamp  # noqa: B018 - loads, or distils, the model
    found = article_pages(LINKS, seed=3)
    with serve_pages(found) as base:
        yield base, [base + path for path in found]


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _entry_statuses(database: Database) -> list[str]:
    from sqlalchemy import select

    with database.session() as session:
        return list(session.scalars(select(BatchEntryRecord.status)))


def _assert_stored_once(database: Database, links: Sequence[str], outputs: Sequence[str]) -> None:
    found = audit(_url(database), links)
    statuses = _entry_statuses(database)
    assert statuses and set(statuses) <= FINAL, sorted(set(statuses))
    assert (found.items, found.lost, found.duplicates, found.id_mismatches) == (len(links), 0, 0, 0)
    assert tracebacks(outputs) == 0, "\n".join(outputs)[-4000:]


@pytest.mark.postgres
def test_four_queue_workers_store_every_link_once(
    pages: tuple[str, list[str]], tmp_path: Path, postgres_database: Database
) -> None:
    database = postgres_database
    require_redis()
    _, links = pages
    queue_name = f"medcurate-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(tmp_path / "home", _url(database), REDIS_URL, queue_name)
    settings = Settings(
        home=tmp_path / "home", database_url=_url(database), queue_url=REDIS_URL, queue_name=queue_name
    )
    runner = QueueRunner(settings, database)
    batches = overlapping_batches(links, size=20)
    job_ids = [
        runner.submit(IngestJob(urls=tuple(batch), actor="test", batch_key=f"b{n}"))
        for n, batch in enumerate(batches)
    ]
    command = [sys.executable, "-m", "medcurate", "worker", "--burst"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0, 0], outputs
    _assert_stored_once(database, links, outputs)
    assert {runner.status(job_id).state for job_id in job_ids} == {"finished"}
    # Each embedding model (the suggestions' and the stories' MiniLM) is loaded once per worker at most,
    # however many jobs it ran.
    for output in outputs:
        loads = re.findall(r"loaded the static embedding model|loading the \S+ embedding model", output)
        assert len(loads) == len(set(loads)), loads


def test_concurrent_add_processes_store_every_link_once(pages: tuple[str, list[str]], tmp_path: Path) -> None:
    _, links = pages
    home = tmp_path / "home"  # a new site: the three processes create (and migrate) it at once
    env = {**worker_env(home, "", "", "unused"), "MEDCURATE_QUEUE_URL": ""}
    chosen = links[:24]
    runs = [chosen[:16], chosen[8:], chosen[:16]]  # the third repeats the first: the same batch
    command = [sys.executable, "-m", "medcurate", "add", "--no-images"]
    processes = [
        subprocess.Popen(
            [*command, *urls], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for urls in runs
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    database = open_database(f"sqlite:///{home / 'medcurate.db'}")
    try:
        _assert_stored_once(database, chosen, outputs)
    finally:
        database.dispose()


def _token(database: Database) -> str:
    with database.session() as session:
        add_user(session, username="ed", password="correct horse battery", role=Role.EDITOR, actor="test")
        _, secret = create_api_token(session, username="ed", name="test", actor="test")
    return secret


def test_two_servers_answer_for_each_others_jobs(pages: tuple[str, list[str]], tmp_path: Path) -> None:
    _, links = pages
    home = tmp_path / "home"
    database = open_database(f"sqlite:///{home / 'medcurate.db'}")
    env = {**worker_env(home, "", "", "unused"), "MEDCURATE_QUEUE_URL": ""}
    headers = {"Authorization": f"Bearer {_token(database)}"}
    try:
        with running_server(env, workers=2) as first, running_server(env) as second:
            started = httpx.post(
                f"{first}/api/batches", json={"text": "\n".join(links[:3])}, headers=headers, timeout=30
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]
            state = ""
            for _ in range(600):  # poll the other server until the job ends (bounded)
                answer = httpx.get(f"{second}/api/jobs/{job_id}", headers=headers, timeout=30)
                assert answer.status_code == 200, answer.text
                state = answer.json()["state"]
                if state in ("finished", "failed"):
                    break
                time.sleep(0.1)
            assert state == "finished"
            assert answer.json()["batch_key"] == started.json()["batch_key"]
            assert answer.json()["done"] == 3
            assert httpx.get(f"{first}/api/jobs/{job_id}", headers=headers).json()["state"] == "finished"
            assert registered_status(database, job_id).state == "finished"
    finally:
        database.dispose()


def test_worker_output_counts_tracebacks() -> None:
    crash = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x\n'
    assert tracebacks(["all well", crash + crash]) == 2
