"""Users, roles and API tokens: the library (``medcurate.users``) and ``medcurate users ...``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.errors import AuthError, Conflict, InvalidInput, NotFound
from medcurate.store.db import Database, open_database
from medcurate.store.models import UserRecord
from medcurate.store.repository import audit_trail
from medcurate.users import (
    Role,
    add_user,
    create_api_token,
    disable_user,
    ensure_user,
    get_user,
    list_users,
    parse_role,
    revoke_api_token,
    set_role,
    verify_api_token,
    verify_credentials,
)

PASSWORD = "a long enough secret"


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.EDITOR) and Role.EDITOR.allows(Role.CURATOR)
    assert Role.CURATOR.allows(Role.VIEWER) and not Role.CURATOR.allows(Role.EDITOR)
    assert parse_role(" Editor ") is Role.EDITOR
    with pytest.raises(InvalidInput, match="one of: viewer, curator, editor, admin"):
        parse_role("owner")


def test_add_verify_and_audit(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        user = add_user(session, username="eve", password=PASSWORD, role=Role.EDITOR, actor="cli")
    assert user.role is Role.EDITOR and not user.disabled
    with sqlite_database.session() as session:
        stored = session.query(UserRecord).one()
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        assert verify_credentials(session, username="eve", password=PASSWORD).username == "eve"
        with pytest.raises(AuthError, match="wrong username or password"):
            verify_credentials(session, username="eve", password="not it at all")
        with pytest.raises(AuthError, match="wrong username or password"):
            verify_credentials(session, username="nobody", password=PASSWORD)
        events = audit_trail(session, entity_type="user")
    assert [(e.actor, e.action, e.entity_id) for e in events] == [("cli", "user.add", "eve")]


@pytest.mark.parametrize(
    ("username", "password", "error"),
    [("eve", "short", InvalidInput), ("has space", PASSWORD, InvalidInput), ("", PASSWORD, InvalidInput)],
)
def test_add_refuses_bad_input(sqlite_database: Database, username: str, password: str, error: type) -> None:
    with sqlite_database.session() as session, pytest.raises(error):
        add_user(session, username=username, password=password, role=Role.VIEWER, actor="t")


def test_duplicate_role_change_and_disable(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_user(session, username="cal", password=PASSWORD, role=Role.CURATOR, actor="t")
        with pytest.raises(Conflict):
            add_user(session, username="cal", password=PASSWORD, role=Role.CURATOR, actor="t")
    with sqlite_database.session() as session:
        assert set_role(session, username="cal", role=Role.EDITOR, actor="t").role is Role.EDITOR
        disable_user(session, username="cal", actor="t")
        with pytest.raises(AuthError, match="disabled"):
            verify_credentials(session, username="cal", password=PASSWORD)
        with pytest.raises(NotFound):
            set_role(session, username="ghost", role=Role.ADMIN, actor="t")
        assert [u.username for u in list_users(session)] == ["cal"]


def test_api_tokens_are_stored_hashed_and_revocable(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_user(session, username="bot", password=PASSWORD, role=Role.CURATOR, actor="t")
        token, secret = create_api_token(session, username="bot", name="ci", actor="t")
    with sqlite_database.session() as session:
        assert verify_api_token(session, token=secret).username == "bot"
        from medcurate.store.models import ApiTokenRecord

        assert secret not in session.query(ApiTokenRecord).one().token_hash
        revoke_api_token(session, token_id=token.id, username="bot", actor="t")
        with pytest.raises(AuthError):
            verify_api_token(session, token=secret)
        with pytest.raises(AuthError):
            verify_api_token(session, token="mct_made_up")


def run(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """Run the CLI against ``home``."""
    result = CliRunner().invoke(app, ["--home", str(home), *args], input=stdin)
    return result.exit_code, result.output


def test_cli_users(tmp_path: Path) -> None:
    code, out = run(
        tmp_path, "users", "add", "eve", "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0, out
    assert PASSWORD not in out
    assert run(tmp_path, "users", "add", "eve", "--password-stdin", stdin=PASSWORD + "\n")[0] == 1
    assert run(tmp_path, "users", "add", "x", "--role", "boss", "--password-stdin", stdin=PASSWORD)[0] == 2
    assert run(tmp_path, "users", "add", "y", "--password-stdin", stdin="short\n")[0] == 1
    assert run(tmp_path, "users", "set-role", "eve", "admin")[0] == 0
    assert run(tmp_path, "users", "disable", "eve")[0] == 0
    code, out = run(tmp_path, "users", "list", "--json")
    assert json.loads(out) == [
        {"username": "eve", "role": "admin", "disabled": True, "created_at": json.loads(out)[0]["created_at"]}
    ]
    assert run(tmp_path, "users", "enable", "eve")[0] == 0
    code, out = run(tmp_path, "users", "token", "eve")
    assert code == 0 and out.startswith("mct_")
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    with database.session() as session:
        assert verify_api_token(session, token=out.strip()).role is Role.ADMIN
        assert not get_user(session, username="eve").disabled
    database.dispose()


def test_cli_prompts_for_the_password_without_echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("medcurate.cli.users.getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("medcurate.cli.users.has_terminal", lambda: True)
    code, out = run(tmp_path, "users", "add", "cal")
    assert code == 0 and PASSWORD not in out and "curator" in out
    assert "Choose a password for cal" in out and "--password-stdin" in out
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    with database.session() as session:
        assert verify_credentials(session, username="cal", password=PASSWORD).role is Role.CURATOR
    database.dispose()


def test_cli_without_a_terminal_says_how_to_pass_the_password(tmp_path: Path) -> None:
    code, out = run(tmp_path, "users", "add", "cal", stdin="")
    assert code == 2
    assert "prompts for cal's password" in " ".join(out.split())
    assert "--password-stdin" in out
    assert json.loads(run(tmp_path, "users", "list", "--json")[1]) == []  # the refused add stored nobody


def test_ensure_user_is_idempotent(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    ensure_user(database, username="demo", password=PASSWORD, role="editor", actor="demo")
    with database.session() as session:
        disable_user(session, username="demo", actor="t")
    user = ensure_user(database, username="demo", password="another password", role=Role.ADMIN, actor="demo")
    assert user.role is Role.ADMIN and not user.disabled
    with database.session() as session:
        assert verify_credentials(session, username="demo", password="another password").username == "demo"
    database.dispose()
