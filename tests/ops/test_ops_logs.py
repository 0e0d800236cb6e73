"""One logging set-up: JSON lines with the request, job and item ids, and never a secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from medcurate.ops.logs import JSONFormatter, TextFormatter, bind, redact, setup_logging
from medcurate.store.db import open_database
from medcurate.users import Role, add_user, create_api_token
from opssupport import serving, site_env

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer mct_abcdefghijklmnop",
        "token mct_abcdefghijklmnopqrstuvwxyz0123",
        "cookie medcurate_session=Zx9abcdEFG; Path=/",
        "form password=hunter2hunter2&next=/items",
        '{"password": "hunter2hunter2"}',
        "postgresql://medcurate:pa55word@db.example/medcurate",
    ],
)
def test_redact_removes_secrets(line: str) -> None:
    cleaned = redact(line)
    for secret in ("mct_abcdefghijklmnop", "Zx9abcdEFG", "hunter2hunter2", "pa55word"):
        assert secret not in cleaned


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("medcurate.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_lines_carry_the_ids_in_force() -> None:
    with bind(request_id="r1", job_id="j9"):
        line = json.loads(JSONFormatter().format(_record("stored", item_id=42)))
        text = TextFormatter().format(_record("stored"))
    assert line["request_id"] == "r1" and line["job_id"] == "j9" and line["item_id"] == "42"
    assert line["message"] == "stored" and line["level"] == "info"
    assert "request_id=r1" in text and "job_id=j9" in text
    assert "request_id" not in json.loads(JSONFormatter().format(_record("after")))


def test_setup_is_idempotent() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        setup_logging(log_format="json")
        setup_logging(log_format="json")
        ours = [h for h in root.handlers if h.get_name() == "medcurate"]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JSONFormatter)
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def test_a_real_server_logs_json_lines_without_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    database = open_database(f"sqlite:///{home / 'medcurate.db'}")
    with database.session() as session:
        add_user(session, username="edna", password=PASSWORD, role=Role.EDITOR, actor="test")
        _, token = create_api_token(session, username="edna", name="t", actor="test")
    database.dispose()
    env = site_env(home, MEDCURATE_LOG_FORMAT="json")
    with serving(env, tmp_path / "serve.log") as server, httpx.Client(base_url=server.url) as client:
        page = client.get("/login")
        login_csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed_in = client.post(
            "/login",
            data={"username": "edna", "password": PASSWORD, "csrf_token": login_csrf, "next": "/items"},
        )
        assert signed_in.status_code in {200, 303}
        cookie = client.cookies.get("medcurate_session")
        assert cookie
        assert client.get("/items").status_code == 200
        assert client.get("/api/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get(f"/api/items?token={token}&password={PASSWORD}").status_code in {200, 401}
        output = server.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "medcurate.web"]
    assert requests, output
    assert all(len(line["request_id"]) >= 8 for line in requests)
    assert any(line["message"].startswith("GET /api/items 200") for line in requests)
    for secret in (PASSWORD, token, cookie, login_csrf):
        assert secret not in output
