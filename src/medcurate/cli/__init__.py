"""The ``medcurate`` command: a thin Typer shell over the library.

Each command group lives in its own module with a ``register(app)`` function; this module only
assembles them, so that every group can be read (and tested) on its own.

Every command is registered at start-up, so a command module imports at its top only what its
command signatures need; each command imports the library modules it runs inside its body. Loading
them all (the ingestion pipeline, the extractor, Argon2) cost every command 0.6 s before it began,
``site build`` included. Typer reads every command's signature at each start, and annotations
kept as strings (``from __future__ import annotations``) are compiled and evaluated there, 8 ms per
run: command modules write them as objects, except where a helper names a type imported only for
type checking (``extract``, ``ingest``).

medcurate uses no pydantic plugin, and pydantic looks for them on the first validation by reading
the entry points of every installed distribution (13 ms per command); the command turns that off
unless ``PYDANTIC_DISABLE_PLUGINS`` is already set (empty: look for them).
"""

from __future__ import annotations

import importlib
import os

import typer

from medcurate.cli.shared import StorageGuardedGroup

app = typer.Typer(
    cls=StorageGuardedGroup,
    no_args_is_help=True,
    help="medcurate: turn links into curated, classified, published healthcare content.",
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "core",
    "extract",
    "ingest",
    "batches",
    "topics",
    "site",
    "users",
    "serve",
    "worker",
    "ops",
)


def _register_all() -> None:
    """Attach every command group to the root app."""
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"medcurate.cli.{name}")
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from medcurate.ops.logs import setup_logging

    setup_logging()  # one set-up for every command: text on a terminal, MEDCURATE_LOG_FORMAT=json
    app()
