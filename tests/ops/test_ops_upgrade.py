"""A database made by release 0.1.0 upgrades in place, on SQLite and PostgreSQL, without changing meaning.

The fixture (``tests/fixtures/upgrade``) was built by ``make_0_1_0.py`` at schema revision 0003 with
a row of every kind; ``expected.json`` and ``export-0.1.0/`` hold what 0.1.0 made of it. Every
revision the code has is applied (upgrade to head), so each later schema change is covered here.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.errors import AuthError
from medcurate.ops.schema import SchemaState, code_head, schema_status, upgrade
from medcurate.store.db import create_db_engine, open_database
from opssupport import MEDCURATE, postgres_database, site_env

FIXTURES = paths.FIXTURES / "upgrade"
FIXTURE_DB = FIXTURES / "medcurate-0.1.0.db"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
RELEASE_HEAD = EXPECTED["revision"]


def _load_builder() -> Any:
    spec = importlib.util.spec_from_file_location("make_0_1_0", FIXTURES / "make_0_1_0.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILDER = _load_builder()


def _copy_rows(source_url: str, target_url: str) -> None:
    """Every row of the SQLite fixture into a database at the 0.1.0 schema, typed by the target's columns."""
    source, target = sa.create_engine(source_url), create_db_engine(target_url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(target, only=list(EXPECTED["counts"]))
        with source.connect() as reading, target.begin() as writing:
            for table in metadata.sorted_tables:
                columns = [c for c in table.columns if c.computed is None]
                typed = sa.table(table.name, *(sa.column(c.name, _portable(c.type)) for c in columns))
                rows = [dict(r._mapping) for r in reading.execute(sa.select(*typed.columns))]
                for row in rows:  # SQLite keeps naive UTC: say so before PostgreSQL reads it
                    for key, value in row.items():
                        if hasattr(value, "tzinfo") and value.tzinfo is None and hasattr(value, "hour"):
                            row[key] = value.replace(tzinfo=UTC)
                if rows:
                    writing.execute(table.insert(), rows)
                if "id" in table.c and table.c.id.autoincrement is not False and rows:
                    writing.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    finally:
        source.dispose()
        target.dispose()


def _portable(kind: sa.types.TypeEngine[object]) -> sa.types.TypeEngine[object]:
    """The generic type to read a SQLite column as, from the PostgreSQL column's type."""
    if isinstance(kind, sa.JSON):
        return sa.JSON()
    if isinstance(kind, sa.DateTime):
        return sa.DateTime()
    if isinstance(kind, sa.Boolean):
        return sa.Boolean()
    if isinstance(kind, sa.LargeBinary):
        return sa.LargeBinary()
    return kind.as_generic() if hasattr(kind, "as_generic") else kind


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def release_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The 0.1.0 fixture, as a SQLite file or loaded into a new PostgreSQL database at revision 0003."""
    if request.param == "sqlite":
        copy = tmp_path / "medcurate.db"
        shutil.copyfile(FIXTURE_DB, copy)
        yield f"sqlite:///{copy}"
        return
    with postgres_database() as url:
        from alembic import command

        from medcurate.store.db import alembic_config

        engine = create_db_engine(url)
        command.upgrade(alembic_config(engine), RELEASE_HEAD)
        engine.dispose()
        _copy_rows(f"sqlite:///{FIXTURE_DB}", url)
        yield url


def _counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: int(connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one())
                for name in EXPECTED["counts"]
            }
    finally:
        engine.dispose()


def test_the_fixture_is_release_0_1_0() -> None:
    status = schema_status(f"sqlite:///{FIXTURE_DB}")
    assert status.revision == RELEASE_HEAD == "0003"
    assert _counts(f"sqlite:///{FIXTURE_DB}") == EXPECTED["counts"]
    assert all(count > 0 for count in EXPECTED["counts"].values()), "a table of the fixture is empty"


def test_upgrade_in_place_keeps_meaning(release_database: str, tmp_path: Path) -> None:
    url = release_database
    assert _counts(url) == EXPECTED["counts"]
    before, after = upgrade(url)
    assert before.revision == RELEASE_HEAD
    assert after.state is SchemaState.CURRENT and after.revision == code_head()
    assert _counts(url) == EXPECTED["counts"]
    # The seed export is byte for byte what 0.1.0 wrote.
    exported = tmp_path / "export"
    BUILDER.export_seed_files(url, exported)
    comparison = filecmp.dircmp(FIXTURES / "export-0.1.0", exported)
    _assert_same_tree(comparison)
    _assert_credentials_work(url)


def _assert_same_tree(comparison: filecmp.dircmp[str]) -> None:
    assert not comparison.left_only and not comparison.right_only, (
        comparison.left_only,
        comparison.right_only,
    )
    _, mismatch, errors = filecmp.cmpfiles(
        comparison.left, comparison.right, comparison.common_files, shallow=False
    )
    assert not mismatch and not errors, mismatch
    for sub in comparison.subdirs.values():
        _assert_same_tree(sub)


def _assert_credentials_work(url: str) -> None:
    from medcurate.users import verify_api_token, verify_credentials
    from medcurate.web.auth import resolve_session

    database = open_database(url, run_migrations=False)
    try:
        with database.session() as session:
            for name, expected in EXPECTED["users"].items():
                if expected["disabled"]:
                    with pytest.raises(AuthError, match="disabled"):
                        verify_credentials(session, username=name, password=EXPECTED["password"])
                    continue
                user = verify_credentials(session, username=name, password=EXPECTED["password"])
                assert user.role.value == expected["role"]
                with pytest.raises(AuthError):
                    verify_credentials(session, username=name, password="wrong password!")
            assert verify_api_token(session, token=EXPECTED["tokens"]["live"]).username == "edna"
            with pytest.raises(AuthError):
                verify_api_token(session, token=EXPECTED["tokens"]["revoked"])
            signed_in = resolve_session(session, cookie=EXPECTED["session_cookie"])
            assert signed_in is not None and signed_in.user.username == "edna"
    finally:
        database.dispose()


def _home_one_revision_behind(tmp_path: Path) -> tuple[Path, str]:
    """A home whose database (the fixture, upgraded) is one revision behind the code; and that revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from medcurate.store.db import alembic_config

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(FIXTURE_DB, home / "medcurate.db")
    url = f"sqlite:///{home / 'medcurate.db'}"
    upgrade(url)
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(code_head()).down_revision
    assert isinstance(previous, str)
    engine = create_db_engine(url)
    command.downgrade(alembic_config(engine), previous)
    engine.dispose()
    return home, previous


def test_db_check_and_upgrade_commands(tmp_path: Path) -> None:
    home, previous = _home_one_revision_behind(tmp_path)
    runner = CliRunner()
    behind = runner.invoke(app, ["--home", str(home), "db", "check"])
    assert behind.exit_code == 1
    said = " ".join(behind.output.split())  # as read, whatever the terminal's width wrapped
    assert "behind" in said and "medcurate db upgrade" in said
    done = runner.invoke(app, ["--home", str(home), "db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert f"upgraded from {previous} to {code_head()}" in " ".join(done.output.split())
    current = runner.invoke(app, ["--home", str(home), "db", "check", "--json"])
    assert current.exit_code == 0
    assert json.loads(current.output)["state"] == "current"


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker", "--burst"]])
def test_serve_and_worker_refuse_a_database_behind_the_code(tmp_path: Path, command: list[str]) -> None:
    home, previous = _home_one_revision_behind(tmp_path)
    env = site_env(home, MEDCURATE_QUEUE_URL="redis://127.0.0.1:1/0")
    done = subprocess.run([*MEDCURATE, *command], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "medcurate db upgrade" in done.stderr
    assert schema_status(f"sqlite:///{home / 'medcurate.db'}").revision == previous  # left as it was
