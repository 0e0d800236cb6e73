"""``medcurate serve``: the editors' web app and HTTP API, with Uvicorn."""

from typing import Annotated

import typer

from medcurate.cli.shared import console, fail, settings_of
from medcurate.errors import MedcurateError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            envvar="MEDCURATE_SECURE_COOKIES",
            help="Mark cookies Secure (HTTPS only). Default: on, except on a loopback host.",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="Uvicorn's log level: debug, info, warning, error.")
    ] = "info",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes; jobs and sessions live in the database.")
    ] = 1,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            envvar="MEDCURATE_TRUSTED_PROXIES",
            help="Address or network of a reverse proxy whose X-Forwarded-Proto/-For are believed "
            "(repeat, or comma-separate, for more); Uvicorn's proxy headers are on for them only.",
        ),
    ] = None,
) -> None:
    """Serve the web app (pages and the JSON API under /api) until interrupted."""
    from medcurate.ops.logs import setup_logging
    from medcurate.ops.multiproc import prepare

    setup_logging(default_level="INFO")  # a service: its log is its output
    settings = settings_of(ctx)
    prepare(settings.home)  # before anything imports prometheus-client: metrics shared by processes
    try:
        from medcurate.ops.schema import require_current

        require_current(settings.database)
    except MedcurateError as exc:
        fail(str(exc))
    from medcurate.web import WebOptions, run

    console().print(f"medcurate at [bold]http://{host}:{port}/[/]  (API docs: /api/docs)", markup=True)
    # The environment variable holds a comma-separated list, the option may be repeated: both work.
    proxies = tuple(
        part.strip() for entry in trusted_proxy or () for part in entry.split(",") if part.strip()
    )
    options = WebOptions(trusted_proxies=proxies)
    try:
        run(
            settings,
            host=host,
            port=port,
            options=options,
            secure_cookies=secure_cookies,
            log_level=log_level,
            workers=workers,
        )
    except MedcurateError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the root app."""
    app.command("serve")(serve)
