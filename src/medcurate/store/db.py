"""Engines, sessions and migrations: SQLite (WAL) by default, PostgreSQL by URL.

Nothing here runs at import time: ``open_database`` creates the engine, brings the schema to the
newest Alembic revision and hands back a session factory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from medcurate.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
# WAL lets the web app read while a batch writes; foreign keys are off in SQLite unless asked. The
# default 2 MB page cache is far smaller than a site's database; memory-mapped reads are several
# times faster for search and listing, and cost nothing until pages are touched.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}",
)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:  # WAL, foreign keys, busy timeout, memory-mapped reads
        cursor.execute(pragma)
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their directory is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if parsed.drivername in {"postgresql", "postgres"}:
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the migrations shipped in the package."""
    from alembic.config import Config  # imported here: Alembic is slow to import and only migrations need it

    config = Config()
    config.set_main_option("script_location", str(resources.files("medcurate").joinpath("migrations")))
    config.attributes["engine"] = engine
    return config


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None when it has none (new, or never migrated)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None  # no version table yet: Alembic creates it


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (nothing to do when it is there already)."""
    try:
        from alembic import command

        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"could not migrate the database at {engine.url!r}: {exc}") from exc


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it fails."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, *, run_migrations: bool = True) -> Database:
    """Open (and migrate) the database at ``url``."""
    engine = create_db_engine(url)
    if run_migrations:
        migrate(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
