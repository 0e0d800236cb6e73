"""Benchmark of topic suggestions, for each encoder side by side: quality, throughput, latency, size.

Run ``python bench/suggest.py`` from the repository root (``--json`` for machine output,
``--encoders minilm`` for one encoder). Needs ``../shared/corpora/curated-posts-dev``: the posts are
split by date (older 70% learn, newer 30% test) into a temporary directory and evaluated with
``medcurate.suggest.evaluate`` (the same code as ``medcurate topics evaluate``) once per encoder, in
the same run: ``minilm`` (the bundled all-MiniLM-L6-v2) and ``static`` (the model2vec model distilled
from it; distilled into the per-user cache on first use, and the time that took is reported). The
figures are printed with the floors pinned in ``bench/eval_baseline.json`` (key ``suggest``).
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

from _suggest_cli import CORPUS, CORPUS_ABSENT, add_encoders_option, chosen_encoders
from medcurate.frontmatter import read_document
from medcurate.suggest.embedding import (
    EmbeddingCache,
    TextEncoder,
    encoder_space,
    item_text,
    item_vectors,
    model_install_bytes,
)
from medcurate.suggest.encoders import ENCODER_NAMES, encoder_for
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.evaluate import evaluate_dirs, examples_from_dir, split_by_date
from medcurate.suggest.static import StaticEncoder, model_bytes, read_stamp

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = REPO_ROOT / "bench" / "eval_baseline.json"
LATENCY_RUNS = 50
THROUGHPUT_ROUNDS = 3


def load_encoder(name: str) -> tuple[TextEncoder, dict[str, Any]]:
    """The encoder, loaded (the static one distilled when absent), and what loading it cost."""
    started = time.perf_counter()
    encoder = encoder_for(name)
    encoder.encode_texts(["warm up"])
    loaded: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 1)}
    if isinstance(encoder, StaticEncoder):
        stamp = read_stamp(encoder.directory)
        loaded["distill_s"] = stamp.seconds if stamp else None
        loaded["model_mb"] = round(model_bytes(encoder.directory) / 1e6, 1)
    else:
        loaded["model_mb"] = round(model_install_bytes() / 1e6, 1)
    return encoder, loaded


def throughput(encoder: TextEncoder, texts: list[str]) -> float:
    """Items embedded per second (fresh encoder calls over every text; best of a few rounds)."""
    encoder.encode_texts(texts[:4])
    rates: list[float] = []
    for _ in range(THROUGHPUT_ROUNDS):
        started = time.perf_counter()
        encoder.encode_texts(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
        if rates[-1] < 200:  # MiniLM: one round takes seconds already
            break
    return max(rates)


def latency(encoder: TextEncoder, train_dir: Path, test_dir: Path) -> dict[str, float]:
    """Milliseconds to suggest for one new item once warm (embedding included), median and p95."""
    model = fit(examples_from_dir(train_dir), labels=(), embed=encoder.encode_texts)
    samples: list[float] = []
    test = examples_from_dir(test_dir)
    for example in (test * 2)[:LATENCY_RUNS]:
        started = time.perf_counter()
        # A fresh encoder call each time: nothing comes from the text cache.
        vector = item_vectors(encoder.encode_texts, [example.title], [example.text])[0]
        predict(model, vector=vector, title=example.title, text=example.text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[int(len(samples) * 0.95) - 1]}


def measure(name: str, train_dir: Path, test_dir: Path, texts: list[str]) -> dict[str, Any]:
    """Every figure of one encoder."""
    encoder, loaded = load_encoder(name)
    report = evaluate_dirs(train_dir, test_dir, embed=EmbeddingCache.open(encoder).embed, k=3)
    return {
        "encoder": name,
        "space": encoder_space(encoder),
        **report.as_json(),
        "embedding_items_per_s": round(throughput(encoder, texts), 1),
        **{k: round(v, 2) for k, v in latency(encoder, train_dir, test_dir).items()},
        **loaded,
    }


def print_table(results: list[dict[str, Any]], floors: dict[str, Any]) -> None:
    """The figures as Markdown tables."""
    print("| method | P@1 | hit@3 | micro-F1 | ceiling | n_test |")
    print("|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| medcurate, {row['encoder']} | {row['p_at_1']:.3f} | {row['hit_at_3']:.3f} "
            f"| {row['micro_f1']:.3f} | {row['ceiling']:.3f} | {row['n_test']} |"
        )
    base = results[0]["baseline"]
    print(
        f"| TF-IDF + logistic regression | {base['p_at_1']:.3f} | {base['hit_at_3']:.3f} "
        f"| {base['micro_f1']:.3f} | {base['ceiling']:.3f} | {base['n_test']} |"
    )
    print("\n| encoder | items/s | warm suggestion median ms | p95 ms | model MB | distil s | evaluation s |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row['encoder']} | {row['embedding_items_per_s']} | {row['median_ms']} | {row['p95_ms']} "
            f"| {row['model_mb']} | {row.get('distill_s', '-')} | {row['seconds']} |"
        )
    print(f"\nfloors: {floors.get('p_at_1_floor')} (P@1), {floors.get('hit_at_3_floor')} (hit@3), MiniLM")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_encoders_option(parser, default=",".join(ENCODER_NAMES))
    args = parser.parse_args()
    names = chosen_encoders(parser, args.encoders)
    if not CORPUS.exists():
        print(CORPUS_ABSENT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, test_dir = split_by_date(CORPUS, Path(tmp))
        texts = [item_text(read_document(p)) for p in sorted(CORPUS.glob("*.md"))]
        results = [measure(name, train_dir, test_dir, texts) for name in names]
    floors = json.loads(BASELINE.read_text(encoding="utf-8")).get("suggest", {})
    if args.json:
        print(json.dumps({"figures": results, "floors": floors}, indent=2))
        return 0
    print_table(results, floors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
