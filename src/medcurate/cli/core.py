"""Core commands: ``init``, ``config show``, ``import``, ``export`` and ``items list|show``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from medcurate import __version__
from medcurate.cli.shared import console, fail, plain, print_json, run_guarded, settings_of, site_database
from medcurate.errors import MedcurateError
from medcurate.settings import make_settings

# Each command imports the library modules it uses (see ``medcurate.cli``).

items_app = typer.Typer(no_args_is_help=True, help="List and show stored items.")
config_app = typer.Typer(no_args_is_help=True, help="Show the site configuration.")


def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="MEDCURATE_HOME", help="The site's data directory."),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """medcurate: turn links into curated, classified, published healthcare content."""
    if version:
        console().print(f"medcurate {__version__}")
        raise typer.Exit()
    try:
        ctx.obj = make_settings(home)
    except MedcurateError as exc:
        fail(str(exc), code=2)


def init(ctx: typer.Context) -> None:
    """Create the data directory, its database and a configuration file to edit."""
    from medcurate.config import default_config_text

    settings = settings_of(ctx)
    settings.home.mkdir(parents=True, exist_ok=True)
    config_path = settings.config_path
    if not config_path.exists():
        config_path.write_text(default_config_text(), encoding="utf-8")
    run_guarded(settings).dispose()
    console().print(f"Initialised [bold]{settings.home}[/] (database, configuration at {config_path}).")


def show_config(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the configuration in force (the bundled default until ``init`` writes one)."""
    from rich.table import Table

    settings = settings_of(ctx)
    try:
        config = settings.load_site_config()
    except MedcurateError as exc:
        fail(str(exc))
    if as_json:
        print_json(config.model_dump(by_alias=True, mode="json"))
        return
    console().print(
        f"[bold]Configuration[/] {settings.config_path if settings.config_path.exists() else '(bundled)'}"
    )
    table = Table("community", "basePath", "mastHead", "variant")
    for community in config.communities:
        table.add_row(
            plain(community.key),
            plain(community.base_path),
            plain(community.mast_head),
            community.variant.value,
        )
    console().print(table)
    counts = (len(config.topics), len(config.taxonomies), len(config.offerings))
    console().print("{} topics in {} taxonomies; {} offerings".format(*counts))


def import_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Markdown files or directories of them.")],
) -> None:
    """Import curated Markdown files (2019 bookmark, 2020 community, 2022 news variants); idempotent."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from medcurate.frontmatter import iter_documents
    from medcurate.importer import import_paths

    settings = settings_of(ctx)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", code=2)
    try:
        config = settings.load_site_config()
    except MedcurateError as exc:
        fail(str(exc))
    database = run_guarded(settings)
    total = sum(1 for _ in iter_documents(paths))
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=console(), transient=True
    ) as progress:
        task = progress.add_task("import", total=total)
        report = import_paths(database, paths, config=config, on_file=lambda _p: progress.advance(task))
    database.dispose()
    console().print(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"errors {len(report.failures)}"
    )
    if report.failures:
        table = Table("file", "reason", title="Files not imported")
        for failure in report.failures:
            table.add_row(plain(failure.path), plain(failure.reason))
        console().print(table)
        raise typer.Exit(1)


def export_command(
    ctx: typer.Context,
    out_dir: Annotated[Path | None, typer.Argument(help="Where to write (with --format seed).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="seed: one .md per item.")] = "seed",
    hugo: Annotated[
        Path | None,
        typer.Option("--hugo", help="Write a Hugo content tree (and images) into this directory."),
    ] = None,
    with_layout: Annotated[
        bool, typer.Option("--with-layout", help="With --hugo: add a minimal Hugo site around the content.")
    ] = False,
    state: Annotated[
        list[str] | None, typer.Option("--state", help="Only items in this state (repeatable).")
    ] = None,
) -> None:
    """Export items as seed-format Markdown laid out by basePath, or as a Hugo site with --hugo."""
    from medcurate.models import ItemState
    from medcurate.publish.seed import export_seed
    from medcurate.store.repository import all_items, item_from_record

    settings = settings_of(ctx)
    try:
        states = [ItemState(s) for s in state] if state else None
    except ValueError:
        fail(f"unknown state in {state}; one of: {', '.join(s.value for s in ItemState)}", code=2)
    database = run_guarded(settings)
    with database.session() as session:
        items = [item_from_record(r) for r in all_items(session, states=states)]
    database.dispose()
    try:
        if hugo is not None:
            from medcurate.publish.hugo import export_hugo

            hugo_report = export_hugo(
                items,
                hugo,
                config=settings.load_site_config(),
                images_dir=settings.images_dir,
                with_layout=with_layout,
            )
            console().print(
                f"Hugo tree in {hugo}: {hugo_report.written} written, {hugo_report.unchanged} unchanged"
            )
            return
        if output_format != "seed":
            fail(f"unknown format {output_format!r}; use --format seed or --hugo DIR", code=2)
        if out_dir is None:
            fail("name the output directory: medcurate export --format seed OUT_DIR", code=2)
        report = export_seed(items, out_dir)
    except MedcurateError as exc:
        fail(str(exc))
    console().print(f"{report.written} written, {report.unchanged} unchanged, in {out_dir}")


def list_command(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="draft, approved, published, rejected, failed")] = None,
    community: Annotated[str | None, typer.Option()] = None,
    topic: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Words in title or text.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored items, newest first."""
    from rich.table import Table

    from medcurate.store.repository import ItemQuery, list_items

    database = run_guarded(settings_of(ctx))
    query = ItemQuery(state=state, community=community, topic=topic, text=search, limit=limit)
    with database.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "state": r.state,
                "date": r.published_at.date().isoformat() if r.published_at else None,
                "brand": r.brand,
                "source": r.source_name or r.brand,
                "title": r.title,
                "community": r.community,
                "topics": [t.label for t in r.topics],
            }
            for r in list_items(session, query=query)
        ]
    database.dispose()
    if as_json:
        print_json(rows)
        return
    table = Table("id", "state", "date", "source", "title", title=f"{len(rows)} items")
    for row in rows:
        table.add_row(
            str(row["id"]), row["state"], row["date"] or "", plain(row["source"] or ""), plain(row["title"])
        )
    console().print(table)


def show_command(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(help="The item's id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the seed-format file.")] = False,
) -> None:
    """Show one item."""
    from medcurate.frontmatter import render_document
    from medcurate.store.repository import get_item, item_from_record

    with site_database(settings_of(ctx)) as database, database.session() as session:
        record = get_item(session, item_id=item_id)
        item = item_from_record(record)
        state, community, provenance = record.state, record.community, record.provenance
    if markdown:
        console().out(render_document(item), end="", highlight=False)
        return
    if as_json:
        print_json(
            {
                "id": item_id,
                "state": state,
                "community": community,
                "variant": item.variant.value,
                "front_matter": dict(item.front_matter),
                "body": item.body,
                "provenance": provenance,
            }
        )
        return
    console().print(f"[bold]{plain(item.title)}[/]  (#{item_id}, {state})")
    console().print(f"{plain(item.url or '')}  [dim]{plain(item.source_name or '')}[/]")
    console().print(f"topics: {plain(', '.join(item.topics) or '-')}")
    console().print(f"community: {plain(community or '-')}   variant: {item.variant.value}")
    console().print(plain(item.fields.description or ""), highlight=False)


def register(app: typer.Typer) -> None:
    """Attach the core commands to the root app."""
    app.callback()(_root)
    app.command("init")(init)
    app.command("import")(import_command)
    app.command("export")(export_command)
    items_app.command("list")(list_command)
    items_app.command("show")(show_command)
    config_app.command("show")(show_config)
    app.add_typer(items_app, name="items")
    app.add_typer(config_app, name="config")
