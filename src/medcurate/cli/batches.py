"""``medcurate batches list|resume|cancel``: ingestion batches, and those whose process died."""

from typing import Annotated

import typer

from medcurate.cli.shared import console, plain, print_json, run_guarded, settings_of, site_database

batches_app = typer.Typer(
    no_args_is_help=True, help="Ingestion batches: list them, resume or cancel stalled ones."
)
StalledAfter = Annotated[
    int,
    typer.Option(min=1, help="Minutes without progress after which a running batch counts as stalled."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Act on a batch that still looks alive.")]
DEFAULT_STALLED_MINUTES = 10


def list_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    stalled_after: StalledAfter = DEFAULT_STALLED_MINUTES,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest batches; a running batch without progress for a while shows as stalled."""
    from datetime import timedelta

    from medcurate.batches import list_batch_status

    database = run_guarded(settings_of(ctx))
    try:
        rows = list_batch_status(database, limit=limit, stall_after=timedelta(minutes=stalled_after))
    finally:
        database.dispose()
    if as_json:
        print_json([{**vars(row)} for row in rows])
        return
    from rich.table import Table

    table = Table("id", "state", "started", "done", "description", title=f"{len(rows)} batches")
    for row in rows:
        state = f"[red]{row.state}[/]" if row.state == "stalled" else row.state
        table.add_row(
            str(row.id),
            state,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.done}/{row.total}",
            plain(row.description or row.key),
        )
    console().print(table)


def resume_command(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="The batch's id (`medcurate batches list`).")],
    stalled_after: StalledAfter = DEFAULT_STALLED_MINUTES,
    force: ForceOption = False,
) -> None:
    """Run the links a stalled or cancelled batch did not finish."""
    import getpass
    from datetime import timedelta

    from medcurate.batches import resume_batch
    from medcurate.cli.ingest import print_report

    settings = settings_of(ctx)
    with site_database(settings) as database:
        report = resume_batch(
            database,
            batch_id=batch_id,
            settings=settings,
            actor=getpass.getuser(),
            stall_after=timedelta(minutes=stalled_after),
            force=force,
        )
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def cancel_command(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="The batch's id (`medcurate batches list`).")],
    stalled_after: StalledAfter = DEFAULT_STALLED_MINUTES,
    force: ForceOption = False,
) -> None:
    """Mark a stalled batch cancelled; the items it stored stay."""
    import getpass
    from datetime import timedelta

    from medcurate.batches import cancel_batch

    with site_database(settings_of(ctx)) as database:
        status = cancel_batch(
            database,
            batch_id=batch_id,
            actor=getpass.getuser(),
            stall_after=timedelta(minutes=stalled_after),
            force=force,
        )
    console().print(f"batch {status.id} is {status.state} ({status.done}/{status.total} links done)")


def register(app: typer.Typer) -> None:
    """Attach the ``batches`` group to the root app."""
    batches_app.command("list")(list_command)
    batches_app.command("resume")(resume_command)
    batches_app.command("cancel")(cancel_command)
    app.add_typer(batches_app, name="batches")
