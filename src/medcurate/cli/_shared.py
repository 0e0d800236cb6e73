"""What every command group shares: the settings from ``--home``, the database, the console."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from medcurate.errors import MedcurateError
from medcurate.settings import Settings, make_settings

if TYPE_CHECKING:
    from medcurate.store.db import Database

console = Console()
err_console = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback built from ``--home`` and the environment."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = make_settings()
    return root.obj


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error for a person and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
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
