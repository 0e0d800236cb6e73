"""Benchmark of suggestions as editors get them: the replay with and without learning, and evaluate.

Run ``python bench/replay.py`` from the repository root (``--json`` for machine output,
``--encoders static`` for one encoder). Needs ``../shared/corpora/curated-posts-dev``: the posts are
split by date (older 70% history, newer 30% stream) into a temporary directory; for each encoder,
in the same run, ``medcurate.suggest.replay.replay`` (``medcurate topics replay``) walks the stream
with and without learning, and ``evaluate_live`` (``medcurate topics evaluate``) reports the live
suggester next to the restricted evaluation and the TF-IDF baseline. The floors pinned in
``bench/eval_baseline.json`` (key ``replay``) are printed with the figures.
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

from medcurate.settings import Settings
from medcurate.suggest.embedding import ENCODER_NAMES
from medcurate.suggest.evaluate import split_by_date
from medcurate.suggest.replay import evaluate_live, replay

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "curated-posts-dev"
BASELINE = REPO_ROOT / "bench" / "eval_baseline.json"


def measure(name: str, history: Path, stream: Path, home: Path) -> dict[str, Any]:
    """The replay (both ways) and the live evaluation of one encoder."""
    settings = Settings(home=home, embedding=name)  # type: ignore[arg-type]
    started = time.perf_counter()
    report = replay(history, stream, settings=settings)
    evaluation = evaluate_live(history, stream, settings=settings)
    return {
        "encoder": name,
        **report.as_json(),
        "evaluate": evaluation.as_json(),
        "total_s": round(time.perf_counter() - started, 1),
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
        print(f"{row['encoder']}: replay {row['seconds']} s, everything {row['total_s']} s")
    print(f"floors (MiniLM): {json.dumps(floors)}")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--encoders", default="static,minilm", help="comma-separated, of: " + ", ".join(ENCODER_NAMES)
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.encoders.split(",") if n.strip()]
    if unknown := set(names) - set(ENCODER_NAMES):
        parser.error(f"unknown encoders: {', '.join(sorted(unknown))}")
    if not CORPUS.exists():
        print(f"{CORPUS} is absent: the shared corpora sit beside the repo only on the team's machines")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        history, stream = split_by_date(CORPUS, Path(tmp) / "split")
        results = [measure(name, history, stream, Path(tmp) / name) for name in names]
    floors = json.loads(BASELINE.read_text(encoding="utf-8")).get("replay", {})
    if args.json:
        print(json.dumps({"figures": results, "floors": floors}, indent=2))
        return 0
    print_table(results, floors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
