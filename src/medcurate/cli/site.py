"""CLI commands of this group (filled in by the engineer who owns it)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this group's commands to the root app."""
    del app
