"""The store read without SQLAlchemy: ``medcurate site build`` on the database's own driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.config import load_config
from medcurate.errors import StorageError
from medcurate.models import ItemState
from medcurate.publish.service import StoredItems, publish_site
from medcurate.publish.site import build as site_build
from medcurate.settings import Settings
from medcurate.store.db import Database, alembic_config, open_database, schema_revision
from medcurate.store.direct import (
    SCHEMA_HEAD,
    open_reader,
    postgres_conninfo,
    reader_at_head,
    sqlite_path,
)
from medcurate.store.direct import schema_revision as direct_schema_revision
from medcurate.store.repository import save_item
from medcurate.store.revisions import item_contents, item_revisions
from sitesupport import forget_views, site_files
from test_site_build import fixture_items


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _store(database: Database) -> None:
    with database.session() as session:
        for n, item in enumerate(fixture_items()):
            state = ItemState.PUBLISHED if n % 4 else ItemState.APPROVED
            save_item(session, item=item, md_name=f"item-{n}", url_key=f"item-{n}", state=state)


@pytest.fixture(autouse=True)
def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each build starts as a new process would: no views in memory."""
    forget_views(monkeypatch)


def test_urls_the_driver_takes_and_those_left_to_sqlalchemy() -> None:
    assert sqlite_path("sqlite:////srv/site/medcurate.db") == "/srv/site/medcurate.db"
    assert sqlite_path("sqlite:///relative/medcurate.db") == "relative/medcurate.db"
    assert sqlite_path("sqlite:///with%20space.db") == "with space.db"
    for left in ("sqlite://", "sqlite:///:memory:", "sqlite:///x.db?mode=ro", "postgresql://h/db"):
        assert sqlite_path(left) is None
    assert postgres_conninfo("postgresql+psycopg://u:p%40w@h:5433/db?sslmode=require") == (
        "postgresql://u:p%40w@h:5433/db?sslmode=require"
    )
    assert postgres_conninfo("postgres://h/db") == "postgresql://h/db"
    for left in ("postgresql+asyncpg://h/db", "mysql://h/db", "sqlite:///x.db"):
        assert postgres_conninfo(left) is None


def test_the_driver_reads_what_the_engine_reads(database: Database) -> None:
    _store(database)
    states = [ItemState.PUBLISHED, ItemState.APPROVED]
    with reader_at_head(_url(database)) as direct, database.reader() as pooled:
        assert direct is not None
        assert direct_schema_revision(direct) == SCHEMA_HEAD == schema_revision(database.engine)
        rows = item_revisions(direct, states=states)
        assert rows == item_revisions(pooled, states=states)
        assert len(rows) == len(fixture_items())
        assert len(item_revisions(direct, states=[ItemState.APPROVED])) == (len(fixture_items()) + 3) // 4
        contents = item_contents(direct, ids=[row.id for row in rows])
        assert contents == item_contents(pooled, ids=[row.id for row in rows])
        # Front matter comes back with its types and its order: the revisions agree.
        assert [contents[row.id][0].revision for row in rows] == [row.revision for row in rows]
        assert [contents[row.id][0].front_matter for row in rows] == [i.front_matter for i in fixture_items()]


def test_driver_errors_become_storage_errors(database: Database) -> None:
    with reader_at_head(_url(database)) as direct, database.reader() as pooled:
        for reader in (direct, pooled):
            assert reader is not None
            with pytest.raises(StorageError, match="cannot read the database"):
                reader.rows("SELECT nothing FROM no_such_table")


def test_a_row_without_a_revision_gets_it_from_its_content(database: Database) -> None:
    _store(database)
    with database.session() as session:
        session.execute(text("UPDATE items SET revision = NULL, featured_image = NULL"))
    with database.reader() as reader:
        rows = item_revisions(reader, states=[ItemState.PUBLISHED, ItemState.APPROVED])
    assert [row.revision for row in rows] == [item.revision for item in fixture_items()]
    assert any(row.featured_image for row in rows)


def test_site_build_on_the_driver_matches_the_warm_build(database: Database, tmp_path: Path) -> None:
    _store(database)
    settings = Settings(home=tmp_path / "home", database_url=_url(database))
    cold = publish_site(None, settings, out_dir=tmp_path / "direct", include_approved=True)
    site_build._VIEW_CACHE.clear()
    warm = publish_site(database, settings, out_dir=tmp_path / "pooled", include_approved=True)
    assert cold.items == warm.items == len(fixture_items())
    assert site_files(tmp_path / "direct") == site_files(tmp_path / "pooled")
    again = publish_site(None, settings, out_dir=tmp_path / "direct", include_approved=True)
    assert again.written == 0


def test_a_new_site_is_created_and_an_old_schema_migrated(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    report = publish_site(None, settings, out_dir=tmp_path / "site")
    assert report.items == 0 and (tmp_path / "site" / "index.html").is_file()
    database = open_database(settings.database)
    _store(database)
    command.downgrade(alembic_config(database.engine), "0002")
    with reader_at_head(settings.database) as reader:
        assert reader is None  # not current: SQLAlchemy migrates it first
    report = publish_site(None, settings, out_dir=tmp_path / "site")
    assert report.items == len([n for n in range(len(fixture_items())) if n % 4])
    assert schema_revision(database.engine) == SCHEMA_HEAD
    database.dispose()


def test_an_unreadable_database_fails_clearly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "medcurate.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"medcurate\.db"):
        reader = open_reader(f"sqlite:///{home / 'medcurate.db'}")
        assert reader is not None
        direct_schema_revision(reader)
        reader.rows("SELECT 1 FROM items")
    result = CliRunner().invoke(app, ["--home", str(home), "site", "build", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


def test_site_build_never_loads_sqlalchemy_on_a_current_store(
    sqlite_database: Database, tmp_path: Path
) -> None:
    _store(sqlite_database)
    home = Path(str(sqlite_database.engine.url.database)).parent
    probe = (
        "import sys\nfrom medcurate.cli import app\n"
        f"app(['--home', {str(home)!r}, 'site', 'build', '--json', {str(tmp_path / 'out')!r}],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'alembic', 'rich'}))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "MEDCURATE_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "index.html").is_file()


def test_stored_items_read_through_a_pooled_connection(database: Database, tmp_path: Path) -> None:
    _store(database)
    with database.reader() as reader:
        source = StoredItems(reader, [ItemState.PUBLISHED])
        report = site_build.build_site(source, tmp_path / "site", config=load_config(None))
    assert report.items == len(source.rows) > 0


def test_the_command_ends_with_its_output_whole(sqlite_database: Database, tmp_path: Path) -> None:
    """``main`` ends a successful build without the interpreter's teardown: the output is flushed."""
    _store(sqlite_database)
    home = Path(str(sqlite_database.engine.url.database)).parent
    environment = {k: v for k, v in os.environ.items() if k != "MEDCURATE_DATABASE_URL"}
    run = [
        sys.executable,
        "-c",
        "import sys\nfrom medcurate.cli import main\nsys.argv[0] = 'medcurate'\nmain()",
    ]
    built = subprocess.run(
        [*run, "--home", str(home), "site", "build", "--json", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert built.returncode == 0, built.stderr
    report = json.loads(built.stdout)
    assert report["written"] == report["files"] > 0
    plain = subprocess.run(
        [*run, "--home", str(home), "site", "build", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**environment, "COLUMNS": "200"},
    )
    assert plain.returncode == 0 and "0 files written" in plain.stdout
    (home / "medcurate.toml").write_text("[publishing\n", encoding="utf-8")
    broken = subprocess.run(
        [*run, "--home", str(home), "site", "build", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert broken.returncode == 1 and "error:" in broken.stderr
