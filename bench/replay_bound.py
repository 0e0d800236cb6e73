"""How much a split's stream can teach at most: each stream post ranked knowing every other one's labels.

Run ``python bench/replay_bound.py`` from the repository root (``--shares 0.5,0.7`` for several date
splits, ``--encoders static`` for one encoder, ``--folds 13`` for the number of stream folds, ``--json``
for machine output). Needs ``../shared/corpora/curated-posts-dev``, split by date as
``bench/replay.py`` splits it.

The replay measures learning from the decisions taken so far. This measures what the stream holds to
learn at all: the stream is cut into folds, and each fold's posts are ranked by a model that knows the
labels of all the other stream posts, the later ones included. Two such models, both given the same
history and the same other posts:

- ``decisions``: the trained model with the other posts applied as decided items
  (``online.apply_decisions``, as the live path applies editors' decisions);
- ``refit``: ``engine.fit`` on the history and the other posts, decided items (as ``topics train``
  fits them: behind the kNN gate, ``LabelModel.admitted``).

A gain that neither reaches is not in the stream for this learner: it is no target for learning from
decisions. The model trained on the history alone (no learning) is measured in the same run, by the
same code. Each stream post is ranked as ``bench/replay_walk.py`` ranks it (``rank_topics``: MeSH
candidates and site-first ranking included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _suggest_cli import CORPUS, CORPUS_ABSENT, add_encoders_option, chosen_encoders
from medcurate.models import normalize_label
from medcurate.settings import Settings
from medcurate.suggest.embedding import Embed, item_vectors
from medcurate.suggest.encoders import embedding_cache
from medcurate.suggest.engine import fit
from medcurate.suggest.evaluate import examples_from_dir
from medcurate.suggest.labelmodel import Example, LabelModel
from medcurate.suggest.mesh import default_index
from medcurate.suggest.online import apply_decisions
from medcurate.suggest.service import topic_labels
from medcurate.suggest.suggester import EmbeddingSuggester
from medcurate.suggest.terms import domain_centre
from replay_walk import StreamPost, each_split, history_shares, scores, stream_posts

DEFAULT_FOLDS = 13


def ranked_rows(model: LabelModel, posts: Sequence[StreamPost], *, embed: Embed) -> list[dict[str, Any]]:
    """Each post's gold labels and the top 3 ``model`` suggests for it (without its labels)."""
    suggester = EmbeddingSuggester(
        topics=model, communities=model, offerings=[], embed=embed, mesh=default_index()
    )
    rows = []
    for post in posts:
        decided = post.decided
        vector = item_vectors(embed, [decided.title], [decided.text])[0]
        ranking = suggester.rank_topics(post.bare, vector=vector, text=decided.text, key=decided.key)
        rows.append(
            {
                "gold": sorted({normalize_label(label) for label in decided.positives}),
                "top3": [normalize_label(s.label) for s in ranking[:3]],
            }
        )
    return rows


def folded(
    posts: Sequence[StreamPost],
    folds: int,
    model_without: Callable[[list[Example]], LabelModel],
    *,
    embed: Embed,
) -> list[dict[str, Any]]:
    """Every post ranked by ``model_without(the other folds' posts)``, posts in stream order."""
    rows: list[dict[str, Any] | None] = [None] * len(posts)
    for fold in range(folds):
        held = [i for i in range(len(posts)) if i % folds == fold]
        others = [post.decided for i, post in enumerate(posts) if i % folds != fold]
        model = model_without(others)
        for i, row in zip(held, ranked_rows(model, [posts[i] for i in held], embed=embed), strict=True):
            rows[i] = row
    return [row for row in rows if row is not None]


def measure(name: str, history: Path, stream: Path, home: Path, *, folds: int) -> dict[str, Any]:
    """No learning, and the two bounds, for one encoder on one split."""
    cache = embedding_cache(Settings(home=home / name, embedding=name))  # type: ignore[arg-type]
    examples = examples_from_dir(history)
    labels = topic_labels(Settings(home=home / name).load_site_config())
    centre = domain_centre(cache.embed)
    trained = fit(examples, labels=labels, embed=cache.embed, centre=centre)
    posts = stream_posts(stream, start=max(e.at for e in examples))
    result = {
        "encoder": name,
        "no_learning": scores(ranked_rows(trained, posts, embed=cache.embed)),
        "decisions": scores(
            folded(
                posts,
                folds,
                lambda others: apply_decisions(trained, others, embed=cache.embed),
                embed=cache.embed,
            )
        ),
        "refit": scores(
            folded(
                posts,
                folds,
                lambda others: fit([*examples, *others], labels=labels, embed=cache.embed, centre=centre),
                embed=cache.embed,
            )
        ),
    }
    cache.save()
    return result


def main() -> int:
    """Measure the bounds on each split with each encoder and print them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--shares", type=history_shares, default=(0.7,), help="history shares, comma-separated"
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="stream folds (at least 2)")
    parser.add_argument("--home", type=Path, help="keep the embedding caches here between runs")
    add_encoders_option(parser, "static,minilm")
    args = parser.parse_args()
    names = chosen_encoders(parser, args.encoders)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if not CORPUS.exists():
        print(CORPUS_ABSENT)
        return 0
    results = each_split(
        args.shares,
        names,
        args.home,
        lambda name, history, stream, home: measure(name, history, stream, home, folds=args.folds),
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| history share | encoder | model | P@1 | hit@3 | n |")
    print("|---|---|---|---|---|---|")
    for row in results:
        for model in ("no_learning", "decisions", "refit"):
            s = row[model]
            print(
                f"| {row['history_share']} | {row['encoder']} | {model.replace('_', ' ')} "
                f"| {s['p_at_1']:.3f} | {s['hit_at_3']:.3f} | {s['n']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
