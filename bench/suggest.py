"""Benchmark of topic suggestions: quality on the curated posts, embedding throughput, warm latency.

Run ``python bench/suggest.py`` from the repository root (``--json`` for machine output). Needs
``../shared/corpora/curated-posts-dev``: the posts are split by date (older 70% learn, newer 30%
test) into a temporary directory, evaluated with ``medcurate.suggest.evaluate`` (the same code as
``medcurate topics evaluate``), and the figures are printed with the floors pinned in
``bench/eval_baseline.json`` (key ``suggest``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from medcurate.frontmatter import read_document
from medcurate.suggest.embedding import EmbeddingCache, default_encoder, item_text, model_install_bytes
from medcurate.suggest.engine import fit, item_vectors, predict
from medcurate.suggest.evaluate import evaluate_dirs, examples_from_dir, split_by_date

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "curated-posts-dev"
BASELINE = REPO_ROOT / "bench" / "eval_baseline.json"
LATENCY_RUNS = 50


def throughput(texts: list[str]) -> float:
    """Items embedded per second (a fresh encoder call over every text, model already loaded)."""
    encoder = default_encoder()
    encoder.encode_texts(texts[:4])
    started = time.perf_counter()
    encoder.encode_texts(texts)
    return len(texts) / (time.perf_counter() - started)


def latency(train_dir: Path, test_dir: Path) -> dict[str, float]:
    """Milliseconds to suggest for one new item once warm (embedding included), median and p95."""
    model = fit(examples_from_dir(train_dir), labels=(), embed=default_encoder().encode_texts)
    samples: list[float] = []
    test = examples_from_dir(test_dir)
    for example in (test * 2)[:LATENCY_RUNS]:
        started = time.perf_counter()
        # A fresh encoder call each time: nothing comes from the text cache.
        vector = item_vectors(default_encoder().encode_texts, [example.title], [example.text])[0]
        predict(model, vector=vector, title=example.title, text=example.text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[int(len(samples) * 0.95) - 1]}


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"{CORPUS} is absent: the shared corpora sit beside the repo only on the team's machines")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, test_dir = split_by_date(CORPUS, Path(tmp))
        cache = EmbeddingCache.open(default_encoder())
        report = evaluate_dirs(train_dir, test_dir, embed=cache.embed, k=3)
        texts = [item_text(read_document(p)) for p in sorted(CORPUS.glob("*.md"))]
        figures: dict[str, Any] = {
            **report.as_json(),
            "embedding_items_per_s": round(throughput(texts), 1),
            **{k: round(v, 1) for k, v in latency(train_dir, test_dir).items()},
            "model_install_mb": round(model_install_bytes() / 1e6, 1),
        }
    floors = json.loads(BASELINE.read_text(encoding="utf-8")).get("suggest", {})
    if args.json:
        print(json.dumps({"figures": figures, "floors": floors}, indent=2))
        return 0
    base = figures["baseline"]
    print("| method | P@1 | hit@3 | micro-F1 | ceiling | n_test |")
    print("|---|---|---|---|---|---|")
    print(
        f"| medcurate | {figures['p_at_1']:.3f} | {figures['hit_at_3']:.3f} | {figures['micro_f1']:.3f} "
        f"| {figures['ceiling']:.3f} | {figures['n_test']} |"
    )
    print(
        f"| TF-IDF + logistic regression | {base['p_at_1']:.3f} | {base['hit_at_3']:.3f} "
        f"| {base['micro_f1']:.3f} | {base['ceiling']:.3f} | {base['n_test']} |"
    )
    print(
        f"\nembedding: {figures['embedding_items_per_s']} items/s; warm suggestion: "
        f"{figures['median_ms']} ms median, {figures['p95_ms']} ms p95; model on disk: "
        f"{figures['model_install_mb']} MB; evaluation {figures['seconds']} s"
    )
    print(f"floors: {floors.get('p_at_1_floor')} (P@1), {floors.get('hit_at_3_floor')} (hit@3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
