"""Suggestions as editors get them: a stream of posts replayed through the live path, in date order.

1. A fresh site (SQLite and a models directory in a work directory) imports the history with its
   labels and trains (``service.train``), exactly as ``medcurate import`` and ``topics train`` do.
2. The stream is walked oldest first: each post is imported without its labels, ranked by
   ``service.suggest_for_item`` (the same candidates, code and stored-item text as the app), and
   its top suggestions are scored against the post's own labels.
3. With learning, the editor then accepts each true label that was suggested and adds the others,
   through ``service.record_decision`` (as the app and the CLI do), before the next post.

``evaluate_live`` is ``medcurate topics evaluate``: the replay without learning, next to the
restricted evaluation (candidates limited to the training labels) and the TF-IDF baseline.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medcurate.errors import SuggestError
from medcurate.frontmatter import iter_documents, read_document, write_document
from medcurate.importer import identity_of, import_paths
from medcurate.models import CuratedItem, normalize_label
from medcurate.rules import with_topics
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import find_item
from medcurate.suggest.encoders import embedding_cache
from medcurate.suggest.evaluate import (
    DEFAULT_K,
    EvaluationReport,
    Scores,
    evaluate,
    example_from_file,
    examples_from_dir,
)
from medcurate.suggest.labelmodel import ScoredLabel
from medcurate.suggest.service import latest_model, record_decision, suggest_for_item, train

REPLAY_ACTOR = "replay"
_UNDATED = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class OnlineScores:
    """One replay's figures: P@1, hit@k and micro-F1 as suggested, and how often the top was new."""

    p_at_1: float
    hit_at_3: float
    micro_f1: float
    n: int
    never_used_top1: float
    learn: bool


@dataclass(frozen=True, kw_only=True)
class ReplayReport:
    """The replay with learning (unless ``--no-learn``) and without, measured in the same run."""

    learning: OnlineScores | None
    no_learning: OnlineScores
    n_history: int
    k: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        """The shape ``medcurate topics replay --json`` prints."""
        online = self.learning or self.no_learning
        return {
            "online_p_at_1": online.p_at_1,
            "online_hit_at_3": online.hit_at_3,
            "online_micro_f1": online.micro_f1,
            "no_learn_p_at_1": self.no_learning.p_at_1,
            "no_learn_hit_at_3": self.no_learning.hit_at_3,
            "no_learn_micro_f1": self.no_learning.micro_f1,
            "n": online.n,
            "never_used_top1": online.never_used_top1,
            "no_learn_never_used_top1": self.no_learning.never_used_top1,
            "learn": self.learning is not None,
            "n_history": self.n_history,
            "k": self.k,
            "seconds": round(self.seconds, 2),
        }


def stream_in_date_order(directory: Path) -> list[tuple[Path, CuratedItem]]:
    """The documents below ``directory``, oldest first (undated first, then by file name)."""
    if not directory.is_dir():
        raise SuggestError(f"{directory} is not a directory of Markdown files")
    documents = [(path, read_document(path)) for path in iter_documents([directory])]
    if not documents:
        raise SuggestError(f"no Markdown documents below {directory}")
    return sorted(documents, key=lambda pair: (pair[1].published or _UNDATED, pair[0].name))


def _import_unlabelled(
    database: Database, item: CuratedItem, *, name: str, workdir: Path, settings: Settings
) -> int:
    """Import ``item`` without its topics, as a post arrives; its id."""
    path = workdir / "incoming" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_document(with_topics(item, []), path)
    report = import_paths(database, [path], config=settings.load_site_config(), actor=REPLAY_ACTOR)
    if report.failures:
        raise SuggestError(f"{name}: {report.failures[0].reason}")
    md_name, url_key = identity_of(item)
    with database.session() as session:
        record = find_item(session, md_name=md_name, url_key=url_key)
        if record is None:
            raise SuggestError(f"{name} was not imported")
        return record.id


def _teach(
    database: Database, *, item_id: int, gold: Sequence[str], suggested: set[str], settings: Settings
) -> None:
    """The editor's decisions: accept every true label that was suggested, add the others."""
    config = settings.load_site_config()
    for label in gold:
        action = "accept" if normalize_label(label) in suggested else "add"
        record_decision(
            database,
            item_id=item_id,
            kind="topic",
            label=label,
            action=action,
            actor=REPLAY_ACTOR,
            config=config,
        )


def _walk(
    database: Database,
    stream: Sequence[tuple[Path, CuratedItem]],
    *,
    settings: Settings,
    workdir: Path,
    used: set[str],
    learn: bool,
    k: int,
) -> tuple[list[list[ScoredLabel]], int]:
    """Each post's topic ranking as suggested, and how many top-1 labels the site had never used."""
    rankings: list[list[ScoredLabel]] = []
    never_used = 0
    for path, item in stream:
        item_id = _import_unlabelled(database, item, name=path.name, workdir=workdir, settings=settings)
        suggestions = suggest_for_item(database, item_id=item_id, settings=settings, k=max(k, 5))
        ranking = [
            ScoredLabel(label=s.label, score=s.score, reason=s.reason)
            for s in suggestions
            if s.kind == "topic"
        ]
        rankings.append(ranking)
        never_used += bool(ranking) and normalize_label(ranking[0].label) not in used
        if learn and item.topics:
            suggested = {normalize_label(s.label) for s in ranking}
            _teach(database, item_id=item_id, gold=item.topics, suggested=suggested, settings=settings)
            used.update(normalize_label(label) for label in item.topics)
    return rankings, never_used


def _temporary_site(settings: Settings, *, workdir: Path, name: str) -> Settings:
    """Settings of a site in ``workdir`` with the encoder and configuration of ``settings``."""
    config = settings.config_path if settings.config_path.is_file() else None
    return replace(
        settings, home=workdir, config_file=config, database_url=f"sqlite:///{workdir / f'{name}.db'}"
    )


def replay_once(
    history_dir: Path, stream_dir: Path, *, settings: Settings, workdir: Path, learn: bool, k: int = DEFAULT_K
) -> tuple[OnlineScores, int]:
    """One replay on a fresh site in ``workdir`` (``settings`` gives the encoder and configuration)."""
    from medcurate.suggest.evaluate import score_rankings

    name = "learn" if learn else "no-learn"
    site = _temporary_site(settings, workdir=workdir, name=name)
    stream = stream_in_date_order(stream_dir)
    history = examples_from_dir(history_dir)
    database = open_database(site.database)
    try:
        import_paths(database, [history_dir], config=site.load_site_config(), actor=REPLAY_ACTOR)
        train(database, settings=site)
        row = latest_model(database)
        threshold = float(row.metrics.get("threshold", 0.5)) if row is not None else 0.5
        used = {normalize_label(label) for e in history for label in e.positives}
        train_labels = set(used)
        rankings, never_used = _walk(
            database, stream, settings=site, workdir=workdir / name, used=used, learn=learn, k=k
        )
    finally:
        database.dispose()
    examples = [example_from_file(path) for path, _ in stream]
    scores = score_rankings(rankings, examples, train_labels=train_labels, threshold=threshold, k=k)
    online = OnlineScores(
        p_at_1=scores.p_at_1,
        hit_at_3=scores.hit_at_3,
        micro_f1=scores.micro_f1,
        n=scores.n_test,
        never_used_top1=round(never_used / len(stream), 4),
        learn=learn,
    )
    return online, len(history)


def replay(
    history_dir: Path, stream_dir: Path, *, settings: Settings, learn: bool = True, k: int = DEFAULT_K
) -> ReplayReport:
    """Replay the stream without learning and, when ``learn``, with it, on fresh sites in one run.

    Args:
        history_dir: the posts to import with their labels and train on.
        stream_dir: the posts to replay, oldest first.
        settings: the encoder (``settings.embedding``) and site configuration; the site itself is a
            temporary one.
        learn: also replay with the editor's decisions recorded after each post.
        k: hit@k.

    Returns:
        Both replays' figures.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medcurate-replay-") as tmp:
        workdir = Path(tmp)
        no_learning, n_history = replay_once(
            history_dir, stream_dir, settings=settings, workdir=workdir, learn=False, k=k
        )
        learning = None
        if learn:
            learning, _ = replay_once(
                history_dir, stream_dir, settings=settings, workdir=workdir, learn=True, k=k
            )
    return ReplayReport(
        learning=learning,
        no_learning=no_learning,
        n_history=n_history,
        k=k,
        seconds=time.perf_counter() - started,
    )


def evaluate_live(
    train_dir: Path, test_dir: Path, *, settings: Settings, k: int = DEFAULT_K
) -> EvaluationReport:
    """``topics evaluate``: the live suggester (no learning), the restricted path and the baseline."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medcurate-evaluate-") as tmp:
        workdir = Path(tmp)
        live, _ = replay_once(train_dir, test_dir, settings=settings, workdir=workdir, learn=False, k=k)
        site = _temporary_site(settings, workdir=workdir, name="restricted")
        restricted = evaluate(
            examples_from_dir(train_dir), examples_from_dir(test_dir), embed=embedding_cache(site).embed, k=k
        )
    engine = Scores(
        **{
            **asdict(restricted.engine),
            "p_at_1": live.p_at_1,
            "hit_at_3": live.hit_at_3,
            "micro_f1": live.micro_f1,
        }
    )
    return replace(
        restricted, engine=engine, restricted=restricted.engine, seconds=time.perf_counter() - started
    )
