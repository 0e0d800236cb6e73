"""Operations commands: ``db upgrade``, ``db check``, ``doctor``, ``backup`` and ``restore``."""

from pathlib import Path
from typing import Annotated

import typer

from medcurate.cli.shared import console, fail, print_json, settings_of
from medcurate.errors import MedcurateError

# Each command imports the library modules it uses (see ``medcurate.cli``).

db_app = typer.Typer(no_args_is_help=True, help="The database's schema: check it, upgrade it.")


def db_check(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Say whether the database is at the code's schema revision; exit 1 when it is not."""
    from medcurate.ops.schema import SchemaState, schema_status

    try:
        status = schema_status(settings_of(ctx).database)
    except MedcurateError as exc:
        fail(str(exc))
    if as_json:
        print_json(
            {
                "revision": status.revision,
                "head": status.head,
                "state": status.state.value,
                "pending": list(status.pending),
            }
        )
    else:
        console().print(status.message, highlight=False)
    if status.state is not SchemaState.CURRENT:
        raise typer.Exit(1)


def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database to the code's schema revision (back it up first: `medcurate backup`)."""
    from medcurate.ops.schema import upgrade

    try:
        before, after = upgrade(settings_of(ctx).database)
    except MedcurateError as exc:
        fail(str(exc))
    if before.revision == after.revision:
        console().print(f"already at revision {after.revision}; nothing to do", highlight=False)
        return
    console().print(f"upgraded from {before.revision or 'an empty database'} to {after.revision}")


def doctor(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the site: database, queue, model, output folder, configuration; exit 1 when one fails."""
    from medcurate.ops.health import doctor_report

    report = doctor_report(settings_of(ctx))
    if as_json:
        print_json(report.as_dict())
    else:
        for check in report.checks:
            mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
            console().print(f"{mark} {check.name}: {check.detail}", highlight=False)
            if not check.ok and check.fix:
                console().print(f"      to do: {check.fix}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz), or a directory to put it in.")],
) -> None:
    """Write one archive of the site: database, configuration, images, models, site manifest."""
    from medcurate.ops.backup import write_backup

    try:
        archive = write_backup(settings_of(ctx), out)
    except MedcurateError as exc:
        fail(str(exc))
    console().print(f"backup written to [bold]{archive.path}[/] ({len(archive.files)} files)")


def restore(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="An archive written by `medcurate backup`.", exists=True)],
    force: Annotated[
        bool, typer.Option("--force", help="Restore over a home or database that already holds a site.")
    ] = False,
) -> None:
    """Restore a site from a backup archive into an empty home (and database)."""
    from medcurate.ops.restore import restore_backup

    try:
        restored = restore_backup(settings_of(ctx), archive, force=force)
    except MedcurateError as exc:
        fail(str(exc))
    console().print(f"restored {len(restored.files)} files and the database into {restored.home}")


def register(app: typer.Typer) -> None:
    """Attach the operations commands to the root app."""
    db_app.command("check")(db_check)
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")
    app.command("doctor")(doctor)
    app.command("backup")(backup)
    app.command("restore")(restore)
