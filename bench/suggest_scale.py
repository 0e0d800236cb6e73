"""The topic learner at newsroom scale: ``topics train`` and an editor's decision at 100,000 items.

Run ``python bench/suggest_scale.py`` from the repository root (``--items 2000,5000,100000``,
``--peer-up-to 5000``, ``--json``). For each size it fits the learner (``engine.fit``, as
``topics train`` does once the texts are embedded), applies one editor's decision to it
(``online.apply_decisions``) and times the next suggestion on the updated model (``engine.predict``,
its first on that model: what is derived from the store is computed then), a suggestion on that
model in use (site-first, as the suggester ranks) and a second decision on the same item (the editor
rejects a label of that suggestion), with the
default options and, as the peer in the same run, with no cap on the rows a label's classifier sees
or on the held-out items that fit the blend (the learner before the caps). The peer's training is
run up to ``--peer-up-to`` items only: it grows with the square of the store. Quality is measured on
the same synthetic site: P@1 on 300 newer items, for both fits where both run.

The site is synthetic and seeded: 200 labels of Zipf-like frequency, one to three per item, each item
written from its labels' words and common words. The encoder is a fixed random vector per word
(sum, normalised), so that the figures measure the learner and not MiniLM (embedding is cached
across trainings, ``embedding``; its throughput is in "Suggestions" of ``docs/benchmarks.md``).
Prints the load average before and after: the machine's two cores are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from medcurate.models import normalize_label
from medcurate.suggest.embedding import item_vectors
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.labelmodel import EngineOptions, Example, LabelModel
from medcurate.suggest.labels import LabelInfo
from medcurate.suggest.online import OnlineOptions, apply_decisions, site_first

DIMENSIONS = 384
VOCABULARY = 20_000
LABELS = 200
TEST_ITEMS = 300
# Labels draw their words from a shared pool, so that they overlap as a site's topics do.
DOMAIN_WORDS = 1500
UNCAPPED = EngineOptions(max_class_rows=10**9, max_stack_items=10**9)


class WordVectors:
    """A fixed random unit vector per word; a text is the normalised sum of its words' vectors."""

    def __init__(self, seed: int = 7) -> None:
        table = np.random.default_rng(seed).normal(size=(VOCABULARY, DIMENSIONS)).astype(np.float32)
        self.table = table / np.linalg.norm(table, axis=1, keepdims=True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [zlib.crc32(word.encode()) % VOCABULARY for word in text.split()]
            if words:
                out[row] = self.table[words].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def synthetic_site(n_items: int, *, seed: int = 11) -> tuple[list[Example], list[str]]:
    """``n_items`` labelled items, oldest first, and the site's label names."""
    rng = np.random.default_rng(seed)
    labels = [f"topic {number}" for number in range(LABELS)]
    frequency = 1.0 / np.arange(1, LABELS + 1) ** 0.8
    frequency /= frequency.sum()
    label_words = {label: rng.integers(0, DOMAIN_WORDS, size=30) for label in labels}
    examples = []
    for number in range(n_items):
        carried = rng.choice(labels, size=int(rng.integers(1, 4)), replace=False, p=frequency)
        words = [int(w) for label in carried for w in rng.choice(label_words[label], size=5)]
        words += [int(w) for w in rng.integers(0, VOCABULARY, size=40)]
        text = " ".join(f"w{w}" for w in words)
        examples.append(
            Example(
                key=f"item:{number}",
                title=" ".join(f"w{w}" for w in words[:8]),
                text=text,
                positives=tuple(carried),
                at=float(number),
            )
        )
    return examples, labels


def precision_at_1(model: LabelModel, tests: Sequence[Example], embed: WordVectors) -> float:
    """The share of ``tests`` whose top-ranked label is one of theirs."""
    vectors = item_vectors(embed, [e.title for e in tests], [e.text for e in tests])
    hits = 0
    for example, vector in zip(tests, vectors, strict=True):
        ranking = predict(model, vector=vector, title=example.title, text=example.text, key=example.key)
        gold = {normalize_label(label) for label in example.positives}
        hits += bool(ranking and normalize_label(ranking[0].label) in gold)
    return round(hits / len(tests), 3)


def _quick_store(history: Sequence[Example], infos: Sequence[LabelInfo], embed: WordVectors) -> LabelModel:
    """A model holding all of ``history``: fitted on a part, the rest added as decided items.

    What a decision costs does not depend on the blend, so the blend need not be fitted on all.
    """
    small = history[: min(len(history), 2000)]
    model = fit(small, labels=infos, embed=embed)
    return apply_decisions(
        model, history[len(small) :], embed=embed, options=OnlineOptions(refit_touched=False)
    )


def editor_rounds(
    model: LabelModel, decided: Sequence[Example], probe: Example, embed: WordVectors
) -> dict[str, Any]:
    """Median seconds of an editor's decision (each on the model the last one left), of the next
    suggestion (the first on the updated model), of a suggestion on that model in use (ranked as
    the suggester ranks, site-first), and of a second decision on the same item (a label it does not
    carry rejected, after that suggestion)."""
    vector = item_vectors(embed, [probe.title], [probe.text])[0]
    predict(model, vector=vector, title=probe.title, text=probe.text, key=probe.key)
    decisions, suggestions, in_use, second_decisions = [], [], [], []
    for example in decided:
        started = time.perf_counter()
        model = apply_decisions(model, [replace(example, decided=True)], embed=embed)
        decisions.append(time.perf_counter() - started)
        started = time.perf_counter()
        ranking = predict(model, vector=vector, title=probe.title, text=probe.text, key=probe.key)
        suggestions.append(time.perf_counter() - started)
        started = time.perf_counter()
        site_first(
            predict(model, vector=vector, title=probe.title, text=probe.text, key=probe.key),
            model,
            vector=vector,
        )
        in_use.append(time.perf_counter() - started)
        rejected = next(s.label for s in ranking if s.label not in example.positives)
        again = replace(example, decided=True, negatives=(rejected,), at=example.at + 0.5)
        started = time.perf_counter()
        model = apply_decisions(model, [again], embed=embed)
        second_decisions.append(time.perf_counter() - started)
    return {
        "decision_s": round(statistics.median(decisions), 2),
        "next_suggestion_s": round(statistics.median(suggestions), 2),
        "suggestion_in_use_s": round(statistics.median(in_use), 3),
        "second_decision_s": round(statistics.median(second_decisions), 2),
    }


def measure(
    n_items: int, options: EngineOptions, embed: WordVectors, *, train: bool, rounds: int
) -> dict[str, Any]:
    """Seconds to fit (when ``train``), to apply a decision and for the next suggestion, and P@1."""
    examples, labels = synthetic_site(n_items + TEST_ITEMS + rounds)
    history, tests = examples[:n_items], examples[n_items : n_items + TEST_ITEMS]
    infos = [LabelInfo(label=label) for label in labels]
    figures: dict[str, Any] = {}
    if train:
        started = time.perf_counter()
        model = fit(history, labels=infos, embed=embed, options=options)
        figures["fit_s"] = round(time.perf_counter() - started, 2)
        figures["p_at_1"] = precision_at_1(model, tests, embed)
    else:
        model = replace(_quick_store(history, infos, embed), options=options)
    figures.update(editor_rounds(model, examples[n_items + TEST_ITEMS :], tests[0], embed))
    return figures


def main() -> int:
    """Fit and decide at each size, capped and uncapped, and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", default="2000,5000,100000", help="comma-separated store sizes")
    parser.add_argument("--peer-up-to", type=int, default=5_000, help="largest size the peer trains at")
    parser.add_argument("--rounds", type=int, default=5, help="decisions in a row, each timed (median)")
    parser.add_argument(
        "--decisions-only", action="store_true", help="no training and no peer: the editor's rounds alone"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sizes = [int(part) for part in args.items.split(",") if part.strip()]
    embed = WordVectors()
    load_before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    for n_items in sizes:
        rows.append(
            {
                "items": n_items,
                "capped": measure(
                    n_items, EngineOptions(), embed, train=not args.decisions_only, rounds=args.rounds
                ),
                "uncapped": {}
                if args.decisions_only
                else measure(n_items, UNCAPPED, embed, train=n_items <= args.peer_up_to, rounds=args.rounds),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result = {
        "load": load,
        "peak_rss_mb": peak_mb,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"load {load[0]} -> {load[1]}, peak RSS {peak_mb} MB")
    print(
        "| items | fit s | one decision s | the next suggestion s | a suggestion in use s"
        " | a second decision on the item s | P@1 |  (each: capped / uncapped)"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [
            " / ".join(str(row[kind].get(figure, "not run")) for kind in ("capped", "uncapped"))
            for figure in (
                "fit_s",
                "decision_s",
                "next_suggestion_s",
                "suggestion_in_use_s",
                "second_decision_s",
                "p_at_1",
            )
        ]
        print(f"| {row['items']:,} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
