"""The ``medcurate`` command: a thin Typer shell over the library."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="medcurate: curated healthcare content from links.")


def main() -> None:
    """Console-script entry point."""
    app()
