"""``/metrics`` from several real server processes, read with prometheus-client's own text parser."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from medcurate.ops.metrics import reason_class, token_allows
from medcurate.store.db import open_database
from opssupport import require_redis, serving, site_env

REQUESTS = "medcurate_http_request_duration_seconds"


def _request_counts(text: str) -> dict[tuple[str, str, str], float]:
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name != REQUESTS:
            continue
        for sample in family.samples:
            if sample.name == REQUESTS + "_count":
                labels = sample.labels
                counts[(labels["method"], labels["route"], labels["status"])] = sample.value
    return counts


def test_metrics_of_two_server_processes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_database(f"sqlite:///{home / 'medcurate.db'}").dispose()
    env = site_env(home, MEDCURATE_METRICS_TOKEN="metrics-secret")
    with serving(env, tmp_path / "a.log") as first, serving(env, tmp_path / "b.log") as second:
        for _ in range(3):
            assert httpx.get(first.url + "/login", timeout=10).status_code == 200
        for _ in range(2):
            assert httpx.get(second.url + "/api/items", timeout=10).status_code == 401
        assert httpx.get(first.url + "/metrics", timeout=10).status_code == 401  # the token is asked for
        answers = [
            httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer metrics-secret"}, timeout=10)
            for server in (first, second)
        ]
    for answer in answers:
        assert answer.status_code == 200
        counts = _request_counts(answer.text)
        assert counts[("GET", "/login", "200")] == 3  # served by the first process
        assert counts[("GET", "/api/items", "401")] == 2  # served by the second
    families = {f.name for f in text_string_to_metric_families(answers[0].text)}
    assert {"medcurate_db_pool_connections_in_use", "medcurate_db_pool_connections_open"} <= families
    assert (home / "run" / "metrics").is_dir()


def test_reason_labels_stay_few() -> None:
    assert reason_class("BlockedURL: robots.txt disallows https://x.example/a?b=1", "failed") == "BlockedURL"
    assert reason_class(None, "created") == "created"
    assert reason_class("could not read https://x.example: 404", "failed") == "other"


def test_token_check() -> None:
    assert token_allows(None, None)
    assert token_allows("s3cret", "Bearer s3cret")
    assert not token_allows("s3cret", "Bearer nope")
    assert not token_allows("s3cret", None)


def test_queue_depth_is_read_from_redis() -> None:
    import uuid

    from prometheus_client import CollectorRegistry, generate_latest
    from redis import Redis
    from rq import Queue

    from medcurate.ops.metrics import QueueCollector

    url = require_redis()
    name = f"medcurate-test-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, connection=Redis.from_url(url))
    try:
        for n in range(3):
            queue.enqueue("medcurate.jobs.run_ingest_job", n)
        registry = CollectorRegistry()
        registry.register(QueueCollector(url, name))
        samples = {
            sample.labels["state"]: sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples
        }
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)
    assert samples["queued"] == 3 and samples["failed"] == 0 and samples["started"] == 0
    down = CollectorRegistry()
    down.register(QueueCollector("redis://127.0.0.1:1/0", name))
    assert "medcurate_queue_jobs{" not in generate_latest(down).decode()  # Redis down: no made-up zeros


def test_site_builds_are_timed_and_counted(tmp_path: Path) -> None:
    from medcurate.ops.metrics import SITE_BUILD_SECONDS, SITE_FILES
    from medcurate.settings import Settings
    from medcurate.web.services import rebuild_site

    def value(name: str) -> float:
        sample = [
            s
            for metric in (*SITE_BUILD_SECONDS.collect(), *SITE_FILES.collect())
            for s in metric.samples
            if s.name == name
        ]
        return sample[0].value

    settings = Settings(home=tmp_path / "home")
    database = open_database(settings.database)
    builds, files = (
        value("medcurate_site_build_duration_seconds_count"),
        value("medcurate_site_files_written_total"),
    )
    rebuild_site(database, settings, tmp_path / "site")
    database.dispose()
    assert value("medcurate_site_build_duration_seconds_count") == builds + 1
    written = sum(1 for p in (tmp_path / "site").rglob("*") if p.is_file() and not p.name.startswith("."))
    assert value("medcurate_site_files_written_total") - files >= written > 0
