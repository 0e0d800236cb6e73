"""What every command group shares: the settings from ``--home``, the database, the console."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from medcurate.errors import MedcurateError, StorageError
from medcurate.settings import Settings, make_settings

if TYPE_CHECKING:
    from rich.console import Console

    from medcurate.store.db import Database


@cache
def console() -> Console:
    """Rich's console on stdout, made on first use: a command that prints JSON never loads Rich."""
    from rich.console import Console

    return Console()


@cache
def err_console() -> Console:
    """Rich's console on stderr, for errors."""
    from rich.console import Console

    return Console(stderr=True)


class StorageGuardedGroup(TyperGroup):
    """The root command group: a storage error of any command ends it with a message, never a traceback.

    One handler for every command: ``StorageError`` and SQLAlchemy's errors (a unique key taken by
    another writer, a locked or unreachable database) become ``error: ...`` and exit code 1.
    """

    def invoke(self, ctx: Any) -> Any:  # Typer's own (vendored) click.Context
        """Run the command, turning a storage error into a clear message and a non-zero exit."""
        try:
            return super().invoke(ctx)
        except StorageError as exc:
            fail(f"storage: {exc}")
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            fail(f"the database refused the operation: {_first_line(exc)}")


def _is_database_error(exc: BaseException) -> bool:
    """True for SQLAlchemy's errors, without importing SQLAlchemy when the command never did."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else "no reason given"


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback built from ``--home`` and the environment."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = make_settings()
    return root.obj


def plain(value: object) -> str:
    """``value`` as text that Rich prints as it is: ``[fe80::1]`` is a host, not a style tag."""
    from rich.markup import escape

    return escape(str(value))


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error for a person and exit non-zero."""
    err_console().print(f"[bold red]error:[/] {plain(message)}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, one document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def site_database(settings: Settings) -> Iterator[Database]:
    """The site's database for one command, disposed after it; a medcurate error ends the command.

    The error's message is printed as ``error: ...`` and the exit code is 1, as ``fail`` does.
    """
    database = run_guarded(settings)
    try:
        yield database
    except MedcurateError as exc:
        fail(str(exc))
    finally:
        database.dispose()


def run_guarded(settings: Settings) -> Database:
    """Open the database, turning medcurate errors into a clear message and exit code 1."""
    from medcurate.store.db import open_database

    try:
        return open_database(settings.database)
    except MedcurateError as exc:
        fail(str(exc))
