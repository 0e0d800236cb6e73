"""``/healthz``, ``/readyz`` and ``medcurate doctor``, against servers of the test's own.

``/readyz`` is asked of a real ``medcurate serve`` over a throwaway PostgreSQL and a throwaway
Redis; the test stops each and sees "not ready", starts it again and sees "ready".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.settings import Settings
from medcurate.store.db import open_database
from medcurate.store.models import SourceRecord
from medcurate.store.repository import record_audit
from medcurate.users import Role, add_user
from opssupport import ThrowawayPostgres, ThrowawayRedis, serving, site_env, wait_until

PASSWORD = "correct horse battery"


@pytest.fixture()
def own_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this test's own."""
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture()
def own_redis() -> Iterator[ThrowawayRedis]:
    """A Redis server of this test's own."""
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _readyz(base: str) -> tuple[int, dict[str, dict[str, str]]]:
    answer = httpx.get(base + "/readyz", timeout=30)
    return answer.status_code, answer.json()["checks"]


@pytest.mark.postgres
@pytest.mark.slow
def test_readyz_follows_postgres_and_redis(
    own_postgres: ThrowawayPostgres, own_redis: ThrowawayRedis, tmp_path: Path
) -> None:
    open_database(own_postgres.url).dispose()  # the schema, at head
    env = site_env(
        tmp_path / "home", MEDCURATE_DATABASE_URL=own_postgres.url, MEDCURATE_QUEUE_URL=own_redis.url
    )
    with serving(env, tmp_path / "serve.log") as server:
        health = httpx.get(server.url + "/healthz", timeout=10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        status, checks = _readyz(server.url)
        assert status == 200, checks
        assert set(checks) == {"database", "redis", "model", "output"}
        assert all(c["state"] == "ok" and isinstance(c["seconds"], float) for c in checks.values())

        own_postgres.stop()
        status, checks = _readyz(server.url)
        assert status == 503 and checks["database"]["state"] == "fail"
        assert checks["redis"]["state"] == "ok"
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # up, though not ready
        own_postgres.start()
        wait_until(lambda: _readyz(server.url)[0] == 200, what="ready again after PostgreSQL returned")

        own_redis.stop()
        status, checks = _readyz(server.url)
        assert status == 503 and checks["redis"]["state"] == "fail" and checks["database"]["state"] == "ok"
        own_redis.start()
        wait_until(lambda: _readyz(server.url)[0] == 200, what="ready again after Redis returned")
    assert "set-cookie" not in health.headers  # no session is started by a probe


def test_reports_show_no_password() -> None:
    from medcurate.ops.health import redact_url

    assert redact_url("redis://:s3cret@cache.example:6380/0") == "redis://:***@cache.example:6380/0"
    assert redact_url("postgresql://app:pw@db.example/site") == "postgresql://app:***@db.example/site"
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_readyz_reports_a_database_behind_the_code(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from medcurate.web import WebOptions, create_app

    settings = Settings(home=tmp_path / "home")
    client = TestClient(create_app(settings, options=WebOptions(site_dir=tmp_path / "site")))
    with client:
        assert client.get("/readyz").status_code == 200
        database = client.app.state.context.database  # type: ignore[attr-defined]
        with database.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        answer = client.get("/readyz")
    assert answer.status_code == 503
    check = answer.json()["checks"]["database"]
    assert check["state"] == "fail" and "medcurate db upgrade" in check["fix"]


def _site(tmp_path: Path, *, base_url: str | None) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    if base_url is not None:
        (home / "medcurate.toml").write_text(f'[publishing]\nbase_url = "{base_url}"\n', encoding="utf-8")
    return Settings(home=home)


def _doctor(settings: Settings) -> tuple[int, dict[str, dict[str, str]]]:
    result = CliRunner().invoke(app, ["--home", str(settings.home), "doctor", "--json"])
    return result.exit_code, json.loads(result.output)["checks"]


def test_doctor_names_each_problem_and_what_to_do(tmp_path: Path) -> None:
    settings = _site(tmp_path, base_url=None)
    database = open_database(settings.database)
    old = datetime.now(UTC) - timedelta(days=10)
    with database.session() as session:
        session.add(
            SourceRecord(
                kind="feed",
                location="https://gone.example/feed",
                created_at=old,
                last_checked_at=old,
                last_error="404 Not Found",
            )
        )
        session.add(
            SourceRecord(
                kind="feed",
                location="https://fine.example/feed",
                created_at=old,
                last_checked_at=old,
                last_error=None,
            )
        )
    code, checks = _doctor(settings)
    assert code == 1
    failed = {name for name, check in checks.items() if check["state"] == "fail"}
    assert failed == {"base_url", "editors", "sources"}
    assert "[site] base_url" in checks["base_url"]["fix"]
    assert "medcurate users add" in checks["editors"]["fix"]
    assert "gone.example" in checks["sources"]["detail"] and "fine.example" not in checks["sources"]["detail"]

    with database.session() as session:
        add_user(session, username="edna", password=PASSWORD, role=Role.EDITOR, actor="test")
        source = session.query(SourceRecord).filter_by(location="https://gone.example/feed").one()
        record_audit(
            session,
            actor="edna",
            action="source.check",
            entity_type="source",
            entity_id=source.id,
            detail={"links": 3, "error": None},
        )
    database.dispose()
    (settings.home / "medcurate.toml").write_text('[publishing]\nbase_url = "https://news.example.org/"\n')
    code, checks = _doctor(settings)
    assert code == 0, checks
    assert all(check["state"] == "ok" for check in checks.values())


def test_doctor_fails_on_an_unwritable_output_folder(tmp_path: Path) -> None:
    settings = _site(tmp_path, base_url="https://news.example.org/")
    open_database(settings.database).dispose()
    (settings.home / "site").write_text("a file where the folder should be")
    code, checks = _doctor(settings)
    assert code == 1 and checks["output"]["state"] == "fail"


def test_doctor_does_not_create_a_database(tmp_path: Path) -> None:
    settings = _site(tmp_path, base_url="https://news.example.org/")
    code, checks = _doctor(settings)
    assert code == 1 and "medcurate init" in checks["database"]["fix"]
    assert not (settings.home / "medcurate.db").exists()
