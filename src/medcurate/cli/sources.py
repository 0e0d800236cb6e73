"""``medcurate sources add|list|pause|resume|remove`` and ``medcurate watch``: subscriptions, headless.

``watch`` is the scheduler of a site without the web app: it ticks in the foreground (or once, with
``--once``, for cron), refreshing due subscriptions and publishing scheduled items, as
``medcurate serve`` does in a background thread.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from medcurate.cli.shared import console, fail, plain, print_json, run_guarded, settings_of, site_database
from medcurate.errors import MedcurateError

if TYPE_CHECKING:
    from datetime import datetime

    from medcurate.store.subscriptions import SourceHealth

sources_app = typer.Typer(no_args_is_help=True, help="Followed feeds, OPML lists and sitemaps.")
SourceId = Annotated[int, typer.Argument(help="The source's id (`medcurate sources list`).")]


def add_command(
    ctx: typer.Context,
    location: Annotated[str, typer.Argument(help="The feed's, OPML list's or sitemap's URL.")],
    kind: Annotated[str, typer.Option(help="feed (RSS, Atom, JSON Feed), opml or sitemap.")] = "feed",
    title: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    every: Annotated[int, typer.Option(min=1, help="Minutes between refreshes.")] = 30,
    community: Annotated[str | None, typer.Option(help="Community of the drafts.")] = None,
    topic: Annotated[
        list[str] | None, typer.Option("--topic", help="A topic every draft gets (repeat).")
    ] = None,
) -> None:
    """Follow a source: refreshed at once by the scheduler, then every ``--every`` minutes."""
    from datetime import UTC, datetime

    from medcurate.scheduler.follow import follow_source

    settings = settings_of(ctx)
    database = run_guarded(settings)
    try:
        source = follow_source(
            database,
            location=location,
            actor=getpass.getuser(),
            now=datetime.now(UTC),
            config=settings.load_site_config(),
            kind=kind,
            title=title,
            refresh_minutes=every,
            community=community,
            topics=topic or [],
        )
    except MedcurateError as exc:
        fail(str(exc), code=2)
    finally:
        database.dispose()
    console().print(f"following source {source.id}: {plain(source.location)} every {every} min")


def list_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every source with its health: last success and error, next refresh, entries and drafts."""
    from datetime import UTC, datetime

    from medcurate.store.subscriptions import source_health

    database = run_guarded(settings_of(ctx))
    try:
        with database.session() as session:
            rows = [_row(h) for h in source_health(session, now=datetime.now(UTC))]
    finally:
        database.dispose()
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("id", "state", "source", "every", "next", "seen", "drafts 30d", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            "on" if row["enabled"] else f"[yellow]paused[/] {plain(row['paused_reason'] or '')}",
            plain(row["title"] or row["location"]),
            f"{row['refresh_minutes']} min",
            str(row["next_refresh_at"] or ""),
            str(row["entries_seen"]),
            str(row["drafts_30d"]),
            plain(row["last_error"] or ""),
        )
    console().print(table)


def _moment(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite hands the moments back without their zone: they are UTC)."""
    from datetime import UTC

    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _row(health: SourceHealth) -> dict[str, object]:
    """A source's line of ``sources list --json``."""
    source = health.source
    moment = _moment

    return {
        "id": source.id,
        "kind": source.kind,
        "location": source.location,
        "title": source.title,
        "enabled": source.enabled,
        "paused_reason": source.paused_reason,
        "refresh_minutes": source.refresh_minutes,
        "community": source.community,
        "topics": list(source.topics or []),
        "last_success_at": moment(source.last_success_at),
        "last_error": source.last_error,
        "next_refresh_at": moment(source.next_refresh_at),
        "entries_seen": source.entries_seen,
        "drafts_30d": health.drafts_30d,
        "published_30d": health.published_30d,
        "median_delay_seconds": health.median_delay.total_seconds() if health.median_delay else None,
    }


def pause_command(
    ctx: typer.Context,
    source_id: SourceId,
    reason: Annotated[str, typer.Option(help="Why, shown on /sources.")] = "",
) -> None:
    """Stop refreshing a source."""
    from medcurate.scheduler.follow import pause_source

    with site_database(settings_of(ctx)) as database:
        pause_source(database, source_id=source_id, actor=getpass.getuser(), reason=reason)
    console().print(f"source {source_id} paused")


def resume_command(ctx: typer.Context, source_id: SourceId) -> None:
    """Refresh a paused source again, at once."""
    from datetime import UTC, datetime

    from medcurate.scheduler.follow import resume_source

    with site_database(settings_of(ctx)) as database:
        resume_source(database, source_id=source_id, actor=getpass.getuser(), now=datetime.now(UTC))
    console().print(f"source {source_id} resumed")


def remove_command(ctx: typer.Context, source_id: SourceId) -> None:
    """Stop following a source and forget the entries it has seen."""
    from medcurate.scheduler.follow import unfollow_source

    with site_database(settings_of(ctx)) as database:
        unfollow_source(database, source_id=source_id, actor=getpass.getuser())
    console().print(f"source {source_id} removed")


def watch(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one tick and stop (for cron).")] = False,
    every: Annotated[int, typer.Option(min=1, help="Seconds between ticks.")] = 30,
) -> None:
    """Refresh due subscriptions and publish scheduled items, without the web app, until interrupted."""
    from datetime import timedelta

    from medcurate.ops.logs import setup_logging
    from medcurate.scheduler.ticker import Ticker

    setup_logging(default_level="INFO")  # a service: its log is its output
    settings = settings_of(ctx)
    database = run_guarded(settings)
    ticker = Ticker(database, settings, every=timedelta(seconds=every))
    try:
        if once:
            report = ticker.tick()
            refreshed, published = len(report.refreshes), len(report.published)
            console().print(f"{refreshed} sources refreshed, {published} items published")
        else:
            ticker.run()
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()


def register(app: typer.Typer) -> None:
    """Attach the ``sources`` group and ``watch`` to the root app."""
    sources_app.command("add")(add_command)
    sources_app.command("list")(list_command)
    sources_app.command("pause")(pause_command)
    sources_app.command("resume")(resume_command)
    sources_app.command("remove")(remove_command)
    app.add_typer(sources_app, name="sources")
    app.command("watch")(watch)
