"""``medcurate worker``: serve the ingestion queue (``MEDCURATE_QUEUE_URL``) from this machine."""

from typing import Annotated

import typer

from medcurate.cli.shared import console, fail, settings_of
from medcurate.errors import MedcurateError


def worker(
    ctx: typer.Context,
    burst: Annotated[bool, typer.Option("--burst", help="Stop when the queue is empty.")] = False,
) -> None:
    """Run queued ingestion jobs; start as many as you like, on as many machines as share the database."""
    from medcurate.ops.logs import setup_logging
    from medcurate.ops.multiproc import prepare

    setup_logging(default_level="INFO")  # a service: its log is its output
    settings = settings_of(ctx)
    prepare(settings.home)  # before anything imports prometheus-client: job counts reach /metrics
    try:
        from medcurate.ops.schema import require_current

        require_current(settings.database)
    except MedcurateError as exc:
        fail(str(exc), code=2)
    from medcurate.jobs import run_worker

    if settings.queue_url:
        console().print(f"worker on queue {settings.queue_name!r} at {settings.queue_url}")
    try:
        run_worker(settings, burst=burst)
    except MedcurateError as exc:
        fail(str(exc), code=2)


def register(app: typer.Typer) -> None:
    """Attach ``worker`` to the root app."""
    app.command("worker")(worker)
