"""``medcurate site build`` and ``medcurate site serve``: the static site from the store, and its preview."""

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medcurate.cli.shared import console, fail, plain, print_json, settings_of, site_database
from medcurate.errors import MedcurateError

if TYPE_CHECKING:
    from medcurate.publish.site import BuildReport

site_app = typer.Typer(no_args_is_help=True, help="Build and preview medcurate's own static site.")


def build_command(
    ctx: typer.Context,
    out_dir: Annotated[
        Path | None,
        typer.Argument(help="Output directory (default: publishing.site_dir in the data directory)."),
    ] = None,
    include_approved: Annotated[
        bool, typer.Option("--include-approved", help="Publish approved items too, not only published ones.")
    ] = False,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Override publishing.base_url.")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore the last build's state and build every page.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build's report as JSON.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes that render a large full build (default: $MEDCURATE_SITE_WORKERS, else CPUs).",
        ),
    ] = None,
) -> None:
    """Build the static site from the store's published items; only changed pages are written."""
    report, target = _publish(ctx, out_dir, include_approved, base_url, full, workers)
    if as_json:
        print_json({"out_dir": str(target), **asdict(report)})
    else:
        for warning in report.warnings:
            console().print(f"[yellow]warning:[/] {plain(warning)}", highlight=False)
        console().print(
            f"Site in {target}: {report.items} items, {report.written} files written, "
            f"{report.unchanged} unchanged, {report.removed} removed ({report.seconds:.2f} s)"
        )


def _publish(
    ctx: typer.Context,
    out_dir: Path | None,
    include_approved: bool,
    base_url: str | None,
    full: bool,
    workers: int | None,
) -> "tuple[BuildReport, Path]":
    """Build the site as the options say; the report and the directory built."""
    from medcurate.publish.service import publish_site, site_dir

    settings = settings_of(ctx)
    try:
        config = settings.load_site_config()  # a broken configuration fails before the database opens
        target = out_dir or site_dir(settings, config)
        report = publish_site(
            None,
            settings,
            out_dir=target,
            include_approved=include_approved,
            base_url=base_url,
            full=full,
            config=config,
            workers=workers,
        )
    except MedcurateError as exc:
        fail(str(exc))
    import getpass

    from medcurate.history import audit_site_build

    with site_database(settings) as database:
        audit_site_build(
            database,
            actor=getpass.getuser(),
            out_dir=target,
            detail={"items": report.items, "written": report.written, "by": "medcurate site build"},
        )
    return report, target


def serve_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="The built site (default: publishing.site_dir).")
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 8000,
) -> None:
    """Preview a built site on http://127.0.0.1:PORT/ until Ctrl-C."""
    from medcurate.publish.service import site_dir
    from medcurate.publish.site.serve import DEFAULT_HOST, make_server

    settings = settings_of(ctx)
    try:
        root = directory or site_dir(settings)
    except MedcurateError as exc:
        fail(str(exc))
    if not (root / "index.html").is_file():
        fail(f"no built site in {root}: run `medcurate site build {root}` first", code=2)
    try:
        server = make_server(root, host=DEFAULT_HOST, port=port)
    except OSError as exc:
        fail(f"cannot listen on {DEFAULT_HOST}:{port}: {exc.strerror or exc}")
    host, bound = server.server_address[:2]
    console().print(f"Serving {root} at http://{host!s}:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console().print("stopped")
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Attach ``site build`` and ``site serve`` to the root app."""
    site_app.command("build")(build_command)
    site_app.command("serve")(serve_command)
    app.add_typer(site_app, name="site")
