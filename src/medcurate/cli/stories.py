"""``medcurate stories rebuild|list|evaluate|split|merge``: one news story however many outlets carry it."""

from pathlib import Path
from typing import Annotated

import typer

from medcurate.cli.shared import console, plain, print_json, run_guarded, settings_of, site_database

stories_app = typer.Typer(
    no_args_is_help=True, help="Stories: items of several outlets about one event, shown and published once."
)


def rebuild_command(
    ctx: typer.Context,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Recompute every item's features, not only the missing ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the stories of all stored items (after an import, or a change of the matcher)."""
    from medcurate.stories.service import rebuild

    database = run_guarded(settings_of(ctx))
    try:
        report = rebuild(database, refresh=refresh)
    finally:
        database.dispose()
    if as_json:
        print_json(vars(report))
        return
    console().print(
        f"{report.stories} stories among {report.items} items "
        f"({report.featurised} items featurised; threshold {report.threshold:.2f})"
    )


def list_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every story of two or more items, newest first."""
    from medcurate.stories.service import all_stories

    database = run_guarded(settings_of(ctx))
    try:
        views = all_stories(database)
    finally:
        database.dispose()
    if as_json:
        print_json(
            [
                {
                    "id": view.id,
                    "items": [{"id": i.id, "url": i.url, "title": i.title} for i in view.items],
                }
                for view in views
            ]
        )
        return
    for view in views:
        console().print(f"[bold]story {view.id}[/] ({view.outlets} outlets)")
        for item in view.items:
            mark = "*" if item.id == view.primary_item_id else " "
            console().print(f" {mark} {item.id:>6}  {plain(item.brand):<28} {plain(item.title)}")


def evaluate_command(
    ctx: typer.Context,
    labels: Annotated[
        Path, typer.Option("--labels", exists=True, dir_okay=False, help="Clusters of URLs (JSON).")
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pairwise precision, recall and F1 of the stored stories against a labels file."""
    from medcurate.stories.service import evaluate_stories

    with site_database(settings_of(ctx)) as database:
        scores, missing = evaluate_stories(database, labels)
    result = {**scores.to_json(), "labelled_urls_not_stored": missing}
    if as_json:
        print_json(result)
        return
    console().print(
        f"precision {scores.precision:.3f}  recall {scores.recall:.3f}  F1 {scores.f1:.3f} "
        f"({scores.correct_pairs} of {scores.predicted_pairs} predicted pairs right, "
        f"{scores.labelled_pairs} labelled; {len(missing)} labelled URLs not stored)"
    )


def split_command(
    ctx: typer.Context,
    story_id: Annotated[int, typer.Argument(help="The story (`medcurate stories list`).")],
    item_ids: Annotated[list[int], typer.Argument(help="The items to take out of it.")],
) -> None:
    """Take items out of a wrong story; matching learns that they are not one story."""
    import getpass

    from medcurate.stories.service import split

    with site_database(settings_of(ctx)) as database:
        new_id = split(database, story_id=story_id, item_ids=item_ids, actor=getpass.getuser())
    console().print(f"split from story {story_id}" + (f" into story {new_id}" if new_id else ""))


def merge_command(
    ctx: typer.Context,
    story_id: Annotated[int, typer.Argument(help="The story that stays.")],
    other_story_id: Annotated[int, typer.Argument(help="The story merged into it.")],
) -> None:
    """Make two stories one; matching learns that their items are one story."""
    import getpass

    from medcurate.stories.service import merge

    with site_database(settings_of(ctx)) as database:
        kept = merge(database, story_id=story_id, other_story_id=other_story_id, actor=getpass.getuser())
    console().print(f"story {other_story_id} merged into story {kept}")


def register(app: typer.Typer) -> None:
    """Attach the ``stories`` group to the root app."""
    stories_app.command("rebuild")(rebuild_command)
    stories_app.command("list")(list_command)
    stories_app.command("evaluate")(evaluate_command)
    stories_app.command("split")(split_command)
    stories_app.command("merge")(merge_command)
    app.add_typer(stories_app, name="stories")
