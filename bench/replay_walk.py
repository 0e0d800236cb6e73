"""The replay walked in process: a fast way to try a change to the learner before ``bench/replay.py``.

Run ``python bench/replay_walk.py`` from the repository root (``--encoders static`` for one encoder,
``--json`` for machine output, ``--shares 0.4,0.5,0.6,0.7`` to walk several date splits,
``--detail FILE`` to write each post's gold labels and top 3 with and without learning,
``--explain`` to print, for each post whose top suggestion learning changed, how much each feature
of the two labels moved: what made it flip, ``--withhold odd|even`` to take seven labels out of the
history, so that the editors start using them in the stream: how fast learning picks up a label new
to the site). Needs ``../shared/corpora/curated-posts-dev``, split
by date as ``bench/replay.py`` splits it (older 70% history, newer 30% stream, by default).

No database and no import: the history is fitted with ``engine.fit`` (the site's default topics as
candidates, prototypes from the domain centre, as ``service.train`` does), each stream post is ranked
by ``EmbeddingSuggester.rank_topics`` (MeSH candidates and ``online.site_first`` included) and, with
learning, its true labels are applied with ``online.apply_decisions`` as an editor's decided item
before the next post, as ``service.suggest_for_item`` applies recorded decisions. The command's
figures differ by the stored-item text (the replay's imported posts) and decision times; on the final
code of issue 21 the two agreed exactly for ``static``. Static walks in 20-50 s, MiniLM in 30-90 s
once its embeddings are cached in the work directory (``--home``); the first MiniLM run embeds the
corpus (3-5 minutes on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _suggest_cli import CORPUS, CORPUS_ABSENT, add_encoders_option, chosen_encoders
from medcurate.models import CuratedItem, normalize_label
from medcurate.rules import with_topics
from medcurate.settings import Settings
from medcurate.suggest.embedding import Embed, item_text, item_vectors
from medcurate.suggest.encoders import embedding_cache
from medcurate.suggest.engine import contributions, fit
from medcurate.suggest.evaluate import examples_from_dir, split_by_date
from medcurate.suggest.labelmodel import FEATURES, Example, LabelModel
from medcurate.suggest.mesh import default_index
from medcurate.suggest.online import apply_decisions
from medcurate.suggest.replay import stream_in_date_order
from medcurate.suggest.service import topic_labels
from medcurate.suggest.suggester import EmbeddingSuggester
from medcurate.suggest.terms import domain_centre

# How many labels ``--withhold`` takes out of the history.
WITHHELD_LABELS = 7


def explain_flip(
    trained: LabelModel,
    learned: LabelModel,
    labels: tuple[str, str],
    *,
    vector: Any,
    title: str,
    text: str,
    key: str,
) -> list[str]:
    """For the top label without and with learning: its logit in each model and the features that moved it.

    Shown per feature as the change of its blend-weighted value (weights of the trained model's
    blend, which learning does not change), when at least 0.05.
    """
    before = contributions(trained, vector=vector, title=title, text=text, key=key)
    after = contributions(learned, vector=vector, title=title, text=text, key=key)
    lines = []
    for label in labels:
        if label not in before:
            lines.append(f"    {label}: a label learned from the decisions (not a candidate before)")
            continue
        old, new = before[label], after[label]
        moved = " ".join(
            f"{f}={b - a:+.2f}" for f, a, b in zip(FEATURES, old, new, strict=True) if abs(b - a) >= 0.05
        )
        logits = f"{sum(old) + trained.blend_intercept:.2f} -> {sum(new) + learned.blend_intercept:.2f}"
        lines.append(f"    {label}: logit {logits}; moved by {moved or 'nothing'}")
    return lines


@dataclass(frozen=True)
class StreamPost:
    """A stream post without its labels, and as the decided item its labels make it."""

    name: str
    bare: CuratedItem
    decided: Example


def stream_posts(stream: Path, *, start: float) -> list[StreamPost]:
    """The stream's posts, oldest first, each decided at ``start`` plus its place in the stream."""
    posts = []
    for number, (path, item) in enumerate(stream_in_date_order(stream), start=1):
        bare = with_topics(item, [])
        decided = Example(
            key=f"stream:{path.name}",
            title=bare.title,
            text=item_text(bare),
            positives=tuple(item.topics),
            at=start + number,
            decided=True,
        )
        posts.append(StreamPost(name=path.name, bare=bare, decided=decided))
    return posts


def walk(
    model: LabelModel, stream: Path, *, embed: Embed, learn: bool, start: float, explain: bool = False
) -> list[dict[str, Any]]:
    """Each stream post's gold labels and top 3, oldest first; with ``learn``, decisions applied.

    ``explain``: print why learning changed a post's top suggestion (``explain_flip``).
    """
    trained = EmbeddingSuggester(
        topics=model, communities=model, offerings=[], embed=embed, mesh=default_index()
    )
    suggester = EmbeddingSuggester(
        topics=model, communities=model, offerings=[], embed=embed, mesh=default_index()
    )
    rows: list[dict[str, Any]] = []
    for number, post in enumerate(stream_posts(stream, start=start), start=1):
        bare, decided = post.bare, post.decided
        body, key = decided.text, decided.key
        vector = item_vectors(embed, [bare.title], [body])[0]
        ranking = suggester.rank_topics(bare, vector=vector, text=body, key=key)
        gold = sorted({normalize_label(label) for label in decided.positives})
        if learn and explain and ranking:
            first = normalize_label(trained.rank_topics(bare, vector=vector, text=body, key=key)[0].label)
            if first != (now := normalize_label(ranking[0].label)):
                print(f"#{number} gold {gold}: {first} -> {now} ({bare.title[:60]})")
                print(
                    "\n".join(
                        explain_flip(
                            model,
                            suggester.topics,
                            (first, now),
                            vector=vector,
                            title=bare.title,
                            text=body,
                            key=key,
                        )
                    )
                )
        rows.append(
            {"post": post.name, "gold": gold, "top3": [normalize_label(s.label) for s in ranking[:3]]}
        )
        if learn and decided.positives:
            suggester.topics = apply_decisions(suggester.topics, [decided], embed=embed)
    return rows


def scores(rows: list[dict[str, Any]], withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """P@1 and hit@3 over the posts with labels; with ``withheld`` labels, also over their posts.

    A withheld label's posts count from its second in the stream (after its first decision): the
    share whose top suggestion is one of them, and the share with one of them in the top 3.
    """
    labelled = [row for row in rows if row["gold"]]
    top1 = sum(bool(row["top3"][:1] and row["top3"][0] in row["gold"]) for row in labelled)
    hit3 = sum(bool(set(row["top3"]) & set(row["gold"])) for row in labelled)
    n = max(len(labelled), 1)
    figures: dict[str, Any] = {
        "p_at_1": round(top1 / n, 3),
        "hit_at_3": round(hit3 / n, 3),
        "n": len(labelled),
    }
    if withheld:
        figures["withheld"] = _withheld_scores(labelled, withheld)
    return figures


def _withheld_scores(labelled: list[dict[str, Any]], withheld: frozenset[str]) -> dict[str, Any]:
    seen: set[str] = set()
    top1 = hit3 = n = 0
    for row in labelled:
        carried = set(row["gold"]) & withheld
        if known := carried & seen:
            n += 1
            top1 += bool(row["top3"][:1] and row["top3"][0] in known)
            hit3 += bool(set(row["top3"]) & known)
        seen |= carried
    return {"p_at_1": round(top1 / max(n, 1), 3), "hit_at_3": round(hit3 / max(n, 1), 3), "n": n}


def withheld_labels(examples: list[Example], parity: str, *, count: int = WITHHELD_LABELS) -> frozenset[str]:
    """``count`` labels of the history, every other one by frequency from the third (odd) or fourth (even).

    Not the two most frequent (a site's broadest labels are rarely new to it), and not chosen by
    hand: the two parities together cover the labels between.
    """
    frequency = Counter(normalize_label(label) for e in examples for label in e.positives)
    ranked = [label for label, _ in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))]
    return frozenset(ranked[2 if parity == "odd" else 3 :: 2][:count])


def measure(
    name: str, history: Path, stream: Path, home: Path, *, explain: bool = False, withhold: str = ""
) -> dict[str, Any]:
    """Both walks of one encoder; ``withhold`` (odd, even): ``withheld_labels`` out of the history."""
    cache = embedding_cache(Settings(home=home / name, embedding=name))  # type: ignore[arg-type]
    examples = examples_from_dir(history)
    withheld = withheld_labels(examples, withhold) if withhold else frozenset()
    examples = [
        replace(e, positives=tuple(x for x in e.positives if normalize_label(x) not in withheld))
        for e in examples
    ]
    model = fit(
        examples,
        labels=topic_labels(Settings(home=home / name).load_site_config()),
        embed=cache.embed,
        centre=domain_centre(cache.embed),
    )
    start = max(e.at for e in examples)
    if explain:
        print(f"== {name}: posts whose top suggestion learning changed")
    runs = {
        learn: walk(model, stream, embed=cache.embed, learn=learn, start=start, explain=explain)
        for learn in (False, True)
    }
    cache.save()
    return {
        "encoder": name,
        **({"withheld_labels": sorted(withheld)} if withheld else {}),
        "no_learning": scores(runs[False], withheld),
        "learning": scores(runs[True], withheld),
        "detail": {"no_learning": runs[False], "learning": runs[True]},
    }


def each_split(
    shares: Sequence[float],
    names: Sequence[str],
    home: Path | None,
    measure_one: Callable[[str, Path, Path, Path], dict[str, Any]],
) -> list[dict[str, Any]]:
    """``measure_one(encoder, history, stream, home)`` on each date split, with each encoder, in order.

    ``home``: where the embedding caches are kept between runs (none: a temporary directory per split).
    """
    results = []
    for share in shares:
        with tempfile.TemporaryDirectory() as tmp:
            history, stream = split_by_date(CORPUS, Path(tmp) / "split", train_share=share)
            for name in names:
                result = measure_one(name, history, stream, home or Path(tmp))
                results.append({"history_share": share, **result})
    return results


def history_shares(value: str) -> tuple[float, ...]:
    """The ``--shares`` option: comma-separated history shares, each between 0 and 1."""
    shares = tuple(float(part) for part in value.split(",") if part.strip())
    if not shares or not all(0.0 < share < 1.0 for share in shares):
        raise argparse.ArgumentTypeError(f"each share must be between 0 and 1, got {value!r}")
    return shares


def main() -> int:
    """Walk the stream with each encoder and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_encoders_option(parser, default="static,minilm")
    parser.add_argument("--home", type=Path, help="keep the embedding caches here between runs")
    parser.add_argument("--detail", type=Path, help="write each post's gold labels and top 3 here")
    parser.add_argument(
        "--explain", action="store_true", help="print what made learning flip a top suggestion"
    )
    parser.add_argument(
        "--shares",
        type=history_shares,
        default=(0.7,),
        help="the history's share of each split, comma-separated (default 0.7: the issue's split); "
        "several splits tell a mechanism's effect from the churn of one split's few stream posts",
    )
    parser.add_argument(
        "--withhold",
        choices=("odd", "even"),
        default="",
        help=f"take {WITHHELD_LABELS} labels out of the history (every other one by frequency from "
        "the third or the fourth): how fast learning picks up labels the editors start using",
    )
    args = parser.parse_args()
    names = chosen_encoders(parser, args.encoders)
    if not CORPUS.exists():
        print(CORPUS_ABSENT)
        return 0
    results = each_split(
        args.shares,
        names,
        args.home,
        lambda name, history, stream, home: measure(
            name, history, stream, home, explain=args.explain, withhold=args.withhold
        ),
    )
    if args.detail:
        details = {f"{r['encoder']}@{r['history_share']}": r["detail"] for r in results}
        args.detail.write_text(json.dumps(details, indent=1))
    figures = [{k: v for k, v in r.items() if k != "detail"} for r in results]
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    withheld = " withheld labels' posts: P@1 | hit@3 | n |" if args.withhold else ""
    print(f"| history share | encoder | walk | P@1 | hit@3 | n |{withheld}")
    print("|---|---|---|---|---|---|" + ("---|---|---|" if args.withhold else ""))
    for row in figures:
        for run in ("no_learning", "learning"):
            s = row[run]
            walked = run.replace("_", " ")
            held = s.get("withheld")
            print(
                f"| {row['history_share']} | {row['encoder']} | {walked} | {s['p_at_1']:.3f} "
                f"| {s['hit_at_3']:.3f} | {s['n']} |"
                + (f" {held['p_at_1']:.3f} | {held['hit_at_3']:.3f} | {held['n']} |" if held else "")
            )
        if "withheld_labels" in row:
            labels = ", ".join(row["withheld_labels"])
            print(f"<!-- {row['history_share']} {row['encoder']} withheld: {labels} -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
