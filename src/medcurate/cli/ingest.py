"""Ingestion commands: ``medcurate add URL...`` and ``medcurate ingest --file/--feed/--opml/...``."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medcurate.cli.shared import console, fail, plain, run_guarded, settings_of
from medcurate.errors import MedcurateError, plain_reason
from medcurate.models import EntryStatus

if TYPE_CHECKING:
    from medcurate.ingest.options import FetchOptions
    from medcurate.pipeline import BatchReport, IngestOptions
    from medcurate.pipeline import Progress as IngestProgress
    from medcurate.settings import Settings
    from medcurate.sources import SourceEntry

# The pipeline and its parsers load in the commands that run them (see ``medcurate.cli``).

CommunityOption = Annotated[str | None, typer.Option(help="Community key (default: the configured one).")]
NoRobotsOption = Annotated[bool, typer.Option("--no-robots", help="Do not consult robots.txt.")]
NoImagesOption = Annotated[bool, typer.Option("--no-images", help="Do not download featured images.")]
STATUS_STYLE = {
    EntryStatus.CREATED: "green",
    EntryStatus.EXISTING: "cyan",
    EntryStatus.DUPLICATE: "yellow",
    EntryStatus.FAILED: "red",
}


def _options(settings: Settings, community: str | None, no_robots: bool, no_images: bool) -> IngestOptions:
    """Ingest options from the command line; an unknown community is refused here."""
    from medcurate.pipeline import default_options

    if community:
        settings.load_site_config().community(community)
    options = default_options(settings, community=community, download_images=not no_images)
    if no_robots:
        options = replace(options, fetch=replace(options.fetch, respect_robots=False))
    return options


def print_report(report: BatchReport) -> None:
    """The batch's outcomes as a table, then the counts."""
    from rich.table import Table

    table = Table("status", "item", "url", "reason", title=f"Batch {report.batch_id}")
    for outcome in report.outcomes:
        style = STATUS_STYLE.get(outcome.status, "")
        item = outcome.item_id or outcome.duplicate_of
        table.add_row(
            f"[{style}]{outcome.status}[/]",
            str(item or ""),
            plain(outcome.url),
            plain(plain_reason(outcome.reason or "")),
        )
    console().print(table)
    counts = report.counts
    console().print(", ".join(f"{status} {counts.get(status, 0)}" for status in STATUS_STYLE))


def _with_progress(total: int, run: Callable[[Callable[[IngestProgress], None]], BatchReport]) -> BatchReport:
    """Run a batch under a Rich progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console(),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)

        def advance(update: IngestProgress) -> None:
            progress.update(
                task, completed=update.done, total=update.total, description=update.outcome.url[-60:]
            )

        return run(advance)


def _ingest(settings: Settings, entries: list[SourceEntry], options: IngestOptions) -> None:
    """Run the entries through the pipeline under a progress bar, print the summary, exit 1 on failures."""
    from medcurate.pipeline import ingest_entries

    database = run_guarded(settings)
    actor = getpass.getuser()
    try:
        report = _with_progress(
            len(entries),
            lambda advance: ingest_entries(
                database, entries, settings=settings, actor=actor, options=options, on_progress=advance
            ),
        )
    except MedcurateError as exc:  # the links not finished are marked failed with this reason
        fail(str(exc))
    finally:
        database.dispose()
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def add(
    ctx: typer.Context,
    urls: Annotated[list[str], typer.Argument(help="Links to curate.")],
    community: CommunityOption = None,
    no_robots: NoRobotsOption = False,
    no_images: NoImagesOption = False,
) -> None:
    """Turn links into drafts: fetch, extract, dedupe, suggest, store."""
    from medcurate.sources import SourceEntry, SourceKind

    settings = settings_of(ctx)
    try:
        options = _options(settings, community, no_robots, no_images)
    except MedcurateError as exc:
        fail(str(exc), code=2)
    entries = [SourceEntry(url=url, kind=SourceKind.URL_LIST, origin="command line") for url in urls]
    _ingest(settings, entries, options)


def _read_inputs(
    file: list[Path],
    feed: list[str],
    opml: list[Path],
    bookmarks: list[Path],
    html_dir: list[Path],
    *,
    fetch_options: FetchOptions,
    max_entries: int,
) -> tuple[list[SourceEntry], list[str]]:
    """Every entry of every input; feeds named by URL are fetched; problems are returned as text."""
    from medcurate.sources import SourceKind, entries_of, parse_source, read_source

    reports = []
    problems: list[str] = []
    for path in file:
        reports.append(read_source(path, max_entries=max_entries))
    for path in opml:
        reports.append(read_source(path, kind=SourceKind.OPML))
    for path in bookmarks:
        reports.append(read_source(path, kind=SourceKind.BOOKMARKS))
    for path in html_dir:
        if not path.is_dir():
            raise MedcurateError(f"{path} is not a directory of saved pages")
        reports.append(read_source(path))
    feed_locations = list(feed)
    for report in list(reports):
        if report.kind is SourceKind.OPML:
            reports.remove(report)
            feed_locations.extend(e.url for e in report.entries if e.url)
    for location in feed_locations:
        if location.startswith(("http://", "https://")):
            from medcurate.ingest.fetch import fetch_feed_bytes

            try:
                data = fetch_feed_bytes(location, fetch_options)
            except MedcurateError as exc:
                problems.append(f"{location}: {exc}")
                continue
            reports.append(
                parse_source(
                    data, origin=location, kind=SourceKind.FEED, base_url=location, max_entries=max_entries
                )
            )
        else:
            reports.append(read_source(Path(location), kind=SourceKind.FEED, max_entries=max_entries))
    problems.extend(f"{r.origin}: {p}" for r in reports for p in r.problems)
    return entries_of(reports), problems


def ingest(
    ctx: typer.Context,
    file: Annotated[
        list[Path], typer.Option("--file", help="A URL list, text, e-mail, feed... (sniffed).")
    ] = [],  # noqa: B006
    feed: Annotated[list[str], typer.Option("--feed", help="An RSS, Atom or JSON feed: URL or file.")] = [],  # noqa: B006
    opml: Annotated[list[Path], typer.Option("--opml", help="An OPML list of feeds.")] = [],  # noqa: B006
    bookmarks: Annotated[list[Path], typer.Option("--bookmarks", help="A Netscape bookmark export.")] = [],  # noqa: B006
    html_dir: Annotated[list[Path], typer.Option("--html-dir", help="A directory of saved pages.")] = [],  # noqa: B006
    community: CommunityOption = None,
    no_robots: NoRobotsOption = False,
    no_images: NoImagesOption = False,
) -> None:
    """Ingest every link of files, feeds, OPML lists, bookmark exports or saved pages."""
    if not any([file, feed, opml, bookmarks, html_dir]):
        fail("name at least one input: --file, --feed, --opml, --bookmarks or --html-dir", code=2)
    settings = settings_of(ctx)
    try:
        options = _options(settings, community, no_robots, no_images)
        entries, problems = _read_inputs(
            file,
            feed,
            opml,
            bookmarks,
            html_dir,
            fetch_options=options.fetch,
            max_entries=settings.feed_max_entries,
        )
    except MedcurateError as exc:
        fail(str(exc), code=2)
    for problem in problems:
        console().print(f"[yellow]warning:[/] {plain(problem)}", highlight=False)
    if not entries:
        fail("the inputs hold no links", code=1)
    _ingest(settings, entries, options)


def register(app: typer.Typer) -> None:
    """Attach the ingestion commands to the root app."""
    app.command("add")(add)
    app.command("ingest")(ingest)
