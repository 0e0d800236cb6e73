"""Benchmark of suggestions as editors get them: the replay with and without learning, and evaluate.

Run ``python bench/replay.py`` from the repository root (``--json`` for machine output,
``--encoders static`` for one encoder). Needs ``../shared/corpora/curated-posts-dev``: the posts are
split by date (older 70% history, newer 30% stream) into a temporary directory; for each encoder,
in the same run, ``medcurate.suggest.replay.replay`` (``medcurate topics replay``) walks the stream
with and without learning; the replay without learning is what ``medcurate topics evaluate``
reports as its live figure (``evaluate_live`` runs the same walk), so it is not walked twice: the
restricted evaluation and the TF-IDF baseline are measured beside it (``evaluate``). The floors
pinned in ``bench/eval_baseline.json`` (keys ``replay`` and ``suggest``) and the corpus's SHA-256
are printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _suggest_cli import CORPUS, CORPUS_ABSENT, add_encoders_option, chosen_encoders
from medcurate.settings import Settings
from medcurate.suggest.encoders import embedding_cache
from medcurate.suggest.evaluate import corpus_sha256, evaluate, examples_from_dir, split_by_date
from medcurate.suggest.replay import replay

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "bench" / "eval_baseline.json"


def measure(name: str, history: Path, stream: Path, home: Path) -> dict[str, Any]:
    """The replay (both ways) and the live evaluation of one encoder."""
    settings = Settings(home=home, embedding=name)  # type: ignore[arg-type]
    started, cpu = time.perf_counter(), time.process_time()
    report = replay(history, stream, settings=settings)
    restricted = evaluate(
        examples_from_dir(history), examples_from_dir(stream), embed=embedding_cache(settings).embed
    ).as_json()
    live = {**restricted, "p_at_1": report.no_learning.p_at_1, "hit_at_3": report.no_learning.hit_at_3}
    live["micro_f1"] = report.no_learning.micro_f1
    return {
        "encoder": name,
        **report.as_json(),
        "evaluate": {
            **live,
            "restricted": {k: restricted[k] for k in ("p_at_1", "hit_at_3", "micro_f1", "n_test")},
        },
        "total_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def print_table(results: list[dict[str, Any]], floors: dict[str, Any]) -> None:
    """The figures as a Markdown table."""
    print("| encoder | run | P@1 | hit@3 | micro-F1 | top-1 never used | n |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        enc = row["encoder"]
        print(
            f"| {enc} | replay, learning | {row['online_p_at_1']:.3f} | {row['online_hit_at_3']:.3f} "
            f"| {row['online_micro_f1']:.3f} | {row['never_used_top1']:.3f} | {row['n']} |"
        )
        print(
            f"| {enc} | replay, no learning | {row['no_learn_p_at_1']:.3f} | {row['no_learn_hit_at_3']:.3f} "
            f"| {row['no_learn_micro_f1']:.3f} | {row['no_learn_never_used_top1']:.3f} | {row['n']} |"
        )
        ev = row["evaluate"]
        for label, scores in (("evaluate (live)", ev), ("evaluate, restricted", ev["restricted"])):
            print(
                f"| {enc} | {label} | {scores['p_at_1']:.3f} | {scores['hit_at_3']:.3f} "
                f"| {scores['micro_f1']:.3f} | | {scores['n_test']} |"
            )
        base = ev["baseline"]
        print(
            f"| {enc} | TF-IDF + logistic regression | {base['p_at_1']:.3f} | {base['hit_at_3']:.3f} "
            f"| {base['micro_f1']:.3f} | | {base['n_test']} |"
        )
    print()
    for row in results:
        print(
            f"{row['encoder']}: replay {row['seconds']} s; with the evaluation {row['total_s']} s, "
            f"{row['cpu_s']} s CPU"
        )
    print(f"floors (MiniLM): {json.dumps(floors)}")
    print(f"corpus {CORPUS.name}: sha256 {corpus_sha256(CORPUS)}")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_encoders_option(parser, default="static,minilm")
    args = parser.parse_args()
    names = chosen_encoders(parser, args.encoders)
    if not CORPUS.exists():
        print(CORPUS_ABSENT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        history, stream = split_by_date(CORPUS, Path(tmp) / "split")
        results = [measure(name, history, stream, Path(tmp) / name) for name in names]
    floors = json.loads(BASELINE.read_text(encoding="utf-8")).get("replay", {})
    if args.json:
        figures = {"figures": results, "floors": floors, "corpus_sha256": corpus_sha256(CORPUS)}
        print(json.dumps(figures, indent=2))
        return 0
    print_table(results, floors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
