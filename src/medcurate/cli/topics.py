"""``medcurate topics``: suggest, decide, train and evaluate topic suggestions."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medcurate.cli.shared import console, fail, plain, print_json, run_guarded, settings_of, site_database
from medcurate.errors import MedcurateError
from medcurate.suggest import DEFAULT_K, Suggestion

if TYPE_CHECKING:
    from medcurate.suggest.evaluate import EvaluationReport

topics_app = typer.Typer(
    no_args_is_help=True, help="Suggest topics, communities and offerings; learn from editors."
)


def _print_suggestions(suggestions: list[Suggestion], *, title: str) -> None:
    from rich.table import Table

    table = Table("kind", "#", "label", "score", "reason", title=title)
    for s in suggestions:
        table.add_row(s.kind, str(s.rank), plain(s.label), f"{s.score:.2f}", plain(s.reason))
    console().print(table)


def suggest_command(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A stored item's id, or a Markdown file.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many topics.")] = DEFAULT_K,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Suggest topics, communities and related offerings for an item (stored ones are saved)."""
    from medcurate.frontmatter import read_document
    from medcurate.suggest.service import suggest_for_document, suggest_for_item

    settings = settings_of(ctx)
    path = Path(target)
    if not target.isdigit() and not path.is_file():
        fail(f"{target!r} is neither an item id nor a file", code=2)
    with site_database(settings) as database:
        if target.isdigit():
            suggestions = suggest_for_item(database, item_id=int(target), settings=settings, k=k)
        else:
            item = read_document(path)
            suggestions = suggest_for_document(database, item=item, settings=settings, k=k)
    if as_json:
        print_json([s.as_json() for s in suggestions])
        return
    _print_suggestions(suggestions, title=f"Suggestions for {target}")


def decide_command(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(help="The item's id.")],
    label: Annotated[str, typer.Argument(help="The topic label, community key or offering label.")],
    action: Annotated[str, typer.Option("--action", help="accept, reject or add.")] = "accept",
    kind: Annotated[str, typer.Option("--kind", help="topic, community or offering.")] = "topic",
    actor: Annotated[str, typer.Option("--actor", help="Who decides.")] = "cli",
) -> None:
    """Record an editor's decision on a suggestion (the engine learns from it)."""
    from medcurate.errors import SuggestError
    from medcurate.suggest.service import record_decision

    settings = settings_of(ctx)
    database = run_guarded(settings)
    try:
        record_decision(
            database,
            item_id=item_id,
            kind=kind,
            label=label,
            action=action,
            actor=actor,
            config=settings.load_site_config(),
        )
    except SuggestError as exc:  # the decision itself is not valid: a usage error
        fail(str(exc), code=2)
    except MedcurateError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    console().print(f"{action} {kind} ‘{label}’ on item {item_id}")


def train_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Retrain the topic and community models from every item and decision; store a new version."""
    from medcurate.suggest.service import train

    settings = settings_of(ctx)
    with site_database(settings) as database:
        info = train(database, settings=settings)
    if as_json:
        print_json({"version": info.version, "path": str(info.path), "metrics": info.metrics})
        return
    metrics = info.metrics
    console().print(
        f"model {info.version}: {metrics['topic_items']} labelled items, {metrics['topic_labels']} topics, "
        f"{metrics['texts_embedded']} texts embedded, threshold {metrics['threshold']:.2f} "
        f"({'calibrated' if metrics['calibrated'] else 'cold-start weights'}), in {info.path}"
    )


def evaluate_command(
    ctx: typer.Context,
    test_dir: Annotated[Path, typer.Option("--test", help="Items to predict and score.")],
    train_dir: Annotated[
        Path | None, typer.Option("--train", help="Items to learn from (their editors' labels).")
    ] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            "--taxonomy",
            help="Without --train: the labels to suggest (one per line, or a site's TOML): the cold start.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="hit@k: a correct label in the top k.")] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Learn from one directory, suggest for another as editors get it; or, with --taxonomy, the cold start.

    With --train, the live suggester runs (the restricted path and TF-IDF beside it). With --taxonomy
    alone, the taxonomy's labels are suggested with no labelled item, against the zero-shot
    similarity of each item to the label names with the same model.
    """
    if (train_dir is None) == (taxonomy is None):
        fail("give --train DIR (learned) or --taxonomy FILE (cold start), not both", code=2)
    for directory in (train_dir, test_dir):
        if directory is not None and not directory.is_dir():
            fail(f"{directory} is not a directory", code=2)
    if taxonomy is not None and not taxonomy.is_file():
        fail(f"{taxonomy} is not a file", code=2)
    try:
        report = _evaluation(ctx, test_dir, train_dir=train_dir, taxonomy=taxonomy, k=k)
    except MedcurateError as exc:
        fail(str(exc))
    if as_json:
        print_json(report.as_json())
        return
    _print_evaluation(report, k=k, learned=train_dir is not None)


def _evaluation(
    ctx: typer.Context, test_dir: Path, *, train_dir: Path | None, taxonomy: Path | None, k: int
) -> "EvaluationReport":
    """The live suggester's evaluation (with ``train_dir``), else the cold start's over ``taxonomy``."""
    if train_dir is not None:
        from medcurate.suggest.replay import evaluate_live

        return evaluate_live(train_dir, test_dir, settings=settings_of(ctx), k=k)
    from medcurate.suggest.coldstart import evaluate_cold_dir
    from medcurate.suggest.embedding import EmbeddingCache, default_encoder

    assert taxonomy is not None
    cache = EmbeddingCache.open(default_encoder())
    return evaluate_cold_dir(taxonomy, test_dir, embed=cache.embed, k=k)


def _print_evaluation(report: "EvaluationReport", *, k: int, learned: bool) -> None:
    """The methods side by side, then the sizes, the threshold and the time."""
    from rich.table import Table

    table = Table("method", "P@1", f"hit@{k}", "micro-F1", "ceiling", "n_test", title="Topic suggestions")
    if learned:
        rows = [("medcurate (live)", report.engine), ("tf-idf + logreg", report.baseline)]
    else:
        rows = [("medcurate (cold start)", report.engine), ("zero-shot (label names)", report.baseline)]
    if report.restricted is not None:
        rows.insert(1, ("restricted to training labels", report.restricted))
    for name, scores in rows:
        table.add_row(
            name,
            f"{scores.p_at_1:.3f}",
            f"{scores.hit_at_3:.3f}",
            f"{scores.micro_f1:.3f}",
            f"{scores.ceiling:.3f}",
            str(scores.n_test),
        )
    console().print(table)
    console().print(
        f"{report.n_train} training items; "
        f"{report.engine.n_unlabelled} test items without labels not scored; "
        f"threshold {report.threshold:.2f}; {report.seconds:.1f} s"
    )


def replay_command(
    ctx: typer.Context,
    history_dir: Annotated[
        Path, typer.Option("--history", help="Posts to import with their labels and train on.")
    ],
    stream_dir: Annotated[Path, typer.Option("--stream", help="Posts to replay, oldest first.")],
    learn: Annotated[
        bool,
        typer.Option("--learn/--no-learn", help="Also replay with the true labels recorded after each post."),
    ] = True,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="hit@k: a correct label in the top k.")] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay posts in date order through the live suggester, as editors would get them (a temporary site)."""
    from medcurate.suggest.replay import replay

    for directory in (history_dir, stream_dir):
        if not directory.is_dir():
            fail(f"{directory} is not a directory", code=2)
    try:
        report = replay(history_dir, stream_dir, settings=settings_of(ctx), learn=learn, k=k)
    except MedcurateError as exc:
        fail(str(exc))
    figures = report.as_json()
    if as_json:
        print_json(figures)
        return
    from rich.table import Table

    table = Table("replay", "P@1", f"hit@{k}", "micro-F1", "top-1 never used", "n", title="Live suggestions")
    runs = [("with learning", report.learning), ("without learning", report.no_learning)]
    for name, scores in runs:
        if scores is not None:
            table.add_row(
                name,
                f"{scores.p_at_1:.3f}",
                f"{scores.hit_at_3:.3f}",
                f"{scores.micro_f1:.3f}",
                f"{scores.never_used_top1:.3f}",
                str(scores.n),
            )
    console().print(table)
    console().print(f"{report.n_history} history posts; {report.seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Attach the ``topics`` commands to the root app."""
    topics_app.command("suggest")(suggest_command)
    topics_app.command("decide")(decide_command)
    topics_app.command("train")(train_command)
    topics_app.command("evaluate")(evaluate_command)
    topics_app.command("replay")(replay_command)
    app.add_typer(topics_app, name="topics")
