"""Fixtures shared by the whole suite: databases on SQLite and PostgreSQL, the shared corpora."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbsupport import fresh_postgres, fresh_sqlite
from medcurate.store.db import Database
from paths import SHARED

SEEDS = SHARED / "seeds"
CURATED_POSTS = SHARED / "corpora" / "curated-posts-dev"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def require_shared(path: Path) -> Path:
    """The path under ../shared, or a skip that says why."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpora sit beside the repo only on the team's machines")
    return path


@pytest.fixture()
def seeds_dir() -> Path:
    """The five reference items."""
    return require_shared(SEEDS)


@pytest.fixture()
def curated_posts_dir() -> Path:
    """The 260 bookmark-variant posts."""
    return require_shared(CURATED_POSTS)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database: the same tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield from fresh_sqlite(tmp_path)
    else:
        yield from fresh_postgres()


@pytest.fixture()
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite database, for tests that are not about storage."""
    yield from fresh_sqlite(tmp_path)


@pytest.fixture()
def postgres_database() -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database (skipped off CI when the server is not running)."""
    yield from fresh_postgres()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """``make demo`` once for the session, without serving, as a fresh clone runs it: its folder and port.

    Run in a folder without ``../shared`` beside it; its site's base URL is the address the demo
    would serve it on (the returned app port plus one), which is free when the fixture starts.
    """
    import socket

    from medcurate.demo import main

    folder = tmp_path_factory.mktemp("demo")
    with socket.socket() as probe:  # a free port whose predecessor is the app's
        probe.bind(("127.0.0.1", 0))
        app_port = probe.getsockname()[1] - 1
    here = Path.cwd()
    os.chdir(folder)
    try:
        main(["--no-serve", "--home", str(folder / "demo-home"), "--port", str(app_port)])
    finally:
        os.chdir(here)
    return folder, app_port
