"""What every command group shares: the settings from ``--home``, the database, the console."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from medcurate.errors import MedcurateError
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


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback built from ``--home`` and the environment."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = make_settings()
    return root.obj


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error for a person and exit non-zero."""
    err_console().print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, one document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def run_guarded(settings: Settings) -> Database:
    """Open the database, turning medcurate errors into a clear message and exit code 1."""
    from medcurate.store.db import open_database

    try:
        return open_database(settings.database)
    except MedcurateError as exc:
        fail(str(exc))
