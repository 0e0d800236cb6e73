"""Fresh databases for the tests: a SQLite file, or a database of its own on the PostgreSQL server.

The fixtures in ``conftest.py`` yield from these; a test that needs a database outside a fixture
(a module-scoped one, say) calls them itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from medcurate.store.db import Database, open_database

POSTGRES_ADMIN_URL = os.environ.get(
    "MEDCURATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def fresh_sqlite(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in ``tmp_path``, disposed of afterwards."""
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    yield database
    database.dispose()


def fresh_postgres() -> Iterator[Database]:
    """A migrated database of its own on the PostgreSQL server, dropped afterwards (skipped off CI)."""
    name = f"medcurate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is part of CI: fail loudly there, skip on a laptop without it
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    database = open_database(url)
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
