"""``/metrics`` from several real server processes, read with prometheus-client's own text parser."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from medcurate.ops.metrics import reason_class, token_allows
from medcurate.store.db import open_database
from opssupport import serving, site_env

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
