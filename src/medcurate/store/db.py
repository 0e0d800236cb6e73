"""Engines, sessions and migrations: SQLite (WAL) by default, PostgreSQL by URL.

Nothing here runs at import time: ``open_database`` creates the engine, brings the schema to the
newest Alembic revision and hands back a session factory.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from medcurate.errors import Conflict, StorageError

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
_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:  # WAL, foreign keys, busy timeout, memory-mapped reads
        cursor.execute(pragma)
    cursor.close()


def create_db_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their directory is created.

    Args:
        url: the database's SQLAlchemy URL.
        pool_size: connections kept open (SQLAlchemy's default: 5), and as many again opened while
            every kept one is in use. A server sizes it to its request threads, so a request waits
            for a thread (in order, without a time limit) and never for a connection, which fails
            after ``pool_timeout`` (30 s) under a queue of requests.
    """
    parsed = make_url(url)
    sizing = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
    if parsed.get_backend_name() == "sqlite":
        in_memory = not parsed.database or parsed.database == ":memory:"
        if not in_memory:
            Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, **({} if in_memory else sizing)
        )
        # Once per new connection, not per checkout: the pragmas hold for the connection's life.
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if parsed.drivername in {"postgresql", "postgres"}:
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **sizing)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped in the package (and at ``engine``)."""
    from alembic.config import Config  # imported here: Alembic is slow to import and only migrations need it

    config = Config()
    config.set_main_option("script_location", str(resources.files("medcurate").joinpath("migrations")))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None when it has none (new, or never migrated)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None  # no version table yet: Alembic creates it


# Any fixed number: the PostgreSQL advisory lock that one migrating process holds at a time.
MIGRATION_LOCK_KEY = 0x6D656463


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One process migrates at a time: several commands or workers may open a new site at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def declared_revision(source: str) -> tuple[str | None, tuple[str, ...]]:
    """A migration script's ``revision`` and the revisions it revises (``down_revision``), as written."""
    declared: dict[str, object] = {}
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            target, value = statement.target.id, statement.value
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = getattr(statement.targets[0], "id", ""), statement.value
        else:
            continue
        if target in {"revision", "down_revision"} and value is not None:
            try:
                declared[target] = ast.literal_eval(value)
            except ValueError:  # not written as a literal: the caller asks Alembic
                return None, ()
    revision, down = declared.get("revision"), declared.get("down_revision")
    revises = (down,) if isinstance(down, str) else tuple(down) if isinstance(down, (tuple, list)) else ()
    return (revision if isinstance(revision, str) else None), tuple(str(r) for r in revises)


@functools.cache
def migrations_head() -> str:
    """The newest revision of the migrations shipped in the package (read from them, never kept by hand).

    Read from the scripts' own ``revision`` and ``down_revision`` assignments, without running them:
    every command opens the database and asks this, and Alembic's ``ScriptDirectory`` would import
    its DDL layer for every dialect, Mako and Pygments to answer it: 0.2 s of each process (a site
    build that changes nothing, 1.28-1.40 s -> 1.02-1.17 s; docs/benchmarks.md, "Issue 16: the
    listings read by the workers"). Alembic itself is loaded only when there is a migration to run.
    Anything but one head (a branch, a script the reading cannot follow) is left to Alembic, which
    says what is wrong. Hand-written because Alembic has no way to read the graph without importing
    the scripts; a test holds the result to Alembic's own.
    """
    versions = resources.files("medcurate").joinpath("migrations", "versions")
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in versions.iterdir():
        if not script.name.endswith(".py") or script.name.startswith("__"):
            continue
        revision, revises = declared_revision(script.read_text(encoding="utf-8"))
        if revision is None:
            return _alembic_head()
        revisions.add(revision)
        revised.update(revises)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 and revised <= revisions else _alembic_head()


def _alembic_head() -> str:
    """The head as Alembic reads it (it raises, saying why, when the scripts have no single head)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL; None for any other URL, in-memory or with options."""
    if not url.startswith(_SQLITE_PREFIX) or "?" in url:
        return None
    path = unquote(url[len(_SQLITE_PREFIX) :])
    return path if path and path != ":memory:" else None


def postgres_conninfo(url: str) -> str | None:
    """The libpq URI of a ``postgresql://`` (or ``postgresql+psycopg://``) URL; None for others."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic is loaded only when there is work to do)."""
    try:
        if schema_revision(engine) == migrations_head():
            return
        with _migration_lock(engine):
            if schema_revision(engine) == migrations_head():
                return  # another process migrated it while this one waited
            from alembic import command

            command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"could not migrate the database at {engine.url!r}: {exc}") from exc


def storage_error(error: DBAPIError) -> StorageError:
    """The medcurate error a driver error becomes: ``Conflict`` for a violated constraint."""
    detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    if isinstance(error, IntegrityError):
        return Conflict(f"a constraint refused the row (another writer stored it first?): {detail}")
    return StorageError(f"the database refused the operation: {detail}")


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it fails.

        The driver's errors leave as medcurate's: a unique or foreign-key violation as ``Conflict``
        (a concurrent writer stored the same thing first), any other as ``StorageError``.
        """
        session = self.sessions()
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            raise storage_error(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, *, run_migrations: bool = True, pool_size: int | None = None) -> Database:
    """Open (and migrate) the database at ``url``; ``pool_size`` as ``create_db_engine``'s."""
    engine = create_db_engine(url, pool_size=pool_size)
    if run_migrations:
        migrate(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
