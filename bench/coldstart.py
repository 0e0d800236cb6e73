"""Benchmark of the cold start: topic suggestions from the taxonomy alone, against zero-shot on label names.

Run ``python bench/coldstart.py`` from the repository root (``--json`` for machine output). Needs
``../shared/corpora/curated-posts-dev``: its labels (normalised, one per line) are the taxonomy, no
post is used for learning, and every labelled post is predicted. The same code as
``medcurate topics evaluate --taxonomy FILE --test DIR``. Ablations (``--ablations``) rerun it with
parts switched off: the label enrichment from the bundled concepts, the domain centre, both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from medcurate.models import normalize_label
from medcurate.suggest import coldstart
from medcurate.suggest.embedding import EMBEDDING_DIM, EmbeddingCache, default_encoder
from medcurate.suggest.evaluate import examples_from_dir
from medcurate.suggest.labels import LabelInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "curated-posts-dev"
BASELINE = REPO_ROOT / "bench" / "eval_baseline.json"


@contextmanager
def _without(*, enrichment: bool, centre: bool) -> Iterator[None]:
    """The cold start with the enrichment and/or the domain centre switched off."""
    saved = coldstart.enrich_labels, coldstart.domain_centre
    if not enrichment:
        coldstart.enrich_labels = list  # type: ignore[assignment]
    if not centre:
        coldstart.domain_centre = lambda embed: np.zeros(EMBEDDING_DIM, dtype=np.float32)  # type: ignore[assignment]
    try:
        yield
    finally:
        coldstart.enrich_labels, coldstart.domain_centre = saved


def run(*, ablations: bool) -> dict[str, Any]:
    """Evaluate the cold start (and its ablations) on the dev corpus with its own labels."""
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} is absent: the shared corpora sit beside the repo only on the team's machines")
    test = examples_from_dir(CORPUS)
    labels = [
        LabelInfo(label=label) for label in sorted({normalize_label(x) for e in test for x in e.positives})
    ]
    cache = EmbeddingCache.open(default_encoder())
    report = coldstart.evaluate_cold(labels, test, embed=cache.embed).as_json()
    result: dict[str, Any] = {"labels": len(labels), "cold_start": report}
    if ablations:
        for name, enrichment, centre in (
            ("no_enrichment", False, True),
            ("no_centre", True, False),
            ("neither", False, False),
        ):
            with _without(enrichment=enrichment, centre=centre):
                result[name] = coldstart.evaluate_cold(labels, test, embed=cache.embed).as_json()
    result["floors"] = json.loads(BASELINE.read_text(encoding="utf-8"))["coldstart"]
    return result


def main() -> None:
    """Print the figures as a Markdown table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ablations", action="store_true")
    args = parser.parse_args()
    result = run(ablations=args.ablations)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{result['labels']} labels, {result['cold_start']['n_test']} labelled posts, no labelled item\n")
    print("| method | P@1 | hit@3 | micro-F1 | n_test |\n|---|---|---|---|---|")
    rows = [("medcurate cold start", result["cold_start"])]
    rows += [
        (f"cold start, {name}", result[name])
        for name in ("no_enrichment", "no_centre", "neither")
        if name in result
    ]
    rows.append(("zero-shot on label names (same run)", result["cold_start"]["baseline"]))
    for name, scores in rows:
        figures = " | ".join(f"{scores[key]:.3f}" for key in ("p_at_1", "hit_at_3", "micro_f1"))
        print(f"| {name} | {figures} | {scores['n_test']} |")
    floors = result["floors"]
    print(f"\nfloors: {floors['p_at_1_floor']} (P@1), {floors['hit_at_3_floor']} (hit@3)")


if __name__ == "__main__":
    main()
