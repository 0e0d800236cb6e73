"""Story clusters on the labelled dev corpus: ours against single link over TF-IDF and MiniLM cosines.

Run: ``python bench/stories.py [--json]`` (skips with a message when ``../shared`` is absent).

The labels (``tests/fixtures/stories/labels.json``) are split by date: the clusters and posts before
``SPLIT_DAY`` are the dev part, the rest the test part. Our threshold is chosen on the dev part only
and then applied to the test part and to the whole corpus; the baselines get their best threshold on
the whole corpus (an oracle: it favours them). MiniLM vectors are computed once and shared by ours and
the MiniLM baseline. CPU time is reported next to each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from medcurate.dedupe import signature
from medcurate.frontmatter import read_document
from medcurate.stories.cluster import cluster_all
from medcurate.stories.evaluate import best_threshold, grid, labelled_ids, load_labels, pairwise, single_link
from medcurate.stories.features import EMBED_TEXT_CHARS, StoryDoc, doc_from_item
from medcurate.stories.score import StoryModel

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "curated-posts-dev"
LABELS = ROOT / "tests" / "fixtures" / "stories" / "labels.json"
SPLIT_DAY = date(2019, 2, 6)


def load_docs() -> list[StoryDoc]:
    """The corpus posts as story docs (ids by file order), with their MiniLM vectors."""
    docs = []
    for number, path in enumerate(sorted(CORPUS.glob("*.md")), start=1):
        item = read_document(path)
        docs.append(doc_from_item(number, item, signature=signature(item.body)))
    from medcurate.suggest.embedding import EmbeddingCache, default_encoder

    # Vectors cached between runs (outside the repository): the model dominates the run time.
    cache_file = Path(tempfile.gettempdir()) / "medcurate-bench-stories.npz"
    cache = EmbeddingCache.open(default_encoder(), cache_file)
    vectors = cache.embed([d.text[:EMBED_TEXT_CHARS] for d in docs])
    cache.save()
    return [replace(doc, vector=vectors[i]) for i, doc in enumerate(docs)]


def _ours(docs: list[StoryDoc], truth: list[list[int]], threshold: float) -> float:
    predicted = cluster_all(docs, replace(StoryModel(), threshold=threshold)).stories()
    return pairwise(predicted, truth).f1


def _split(
    docs: list[StoryDoc], truth: list[list[int]], *, dev: bool
) -> tuple[list[StoryDoc], list[list[int]]]:
    keep = [d for d in docs if (d.day is not None and d.day < SPLIT_DAY) == dev]
    ids = {d.item_id for d in keep}
    return keep, [c for c in truth if set(c) <= ids]


def _tfidf(docs: list[StoryDoc]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform([d.text for d in docs])
    return (matrix @ matrix.T).toarray()


def _baseline(similarity: np.ndarray, docs: list[StoryDoc], truth: list[list[int]]) -> dict[str, float]:
    def f1_at(threshold: float) -> float:
        groups = [[docs[i].item_id for i in g] for g in single_link(similarity, threshold)]
        return pairwise(groups, truth).f1

    threshold, _ = best_threshold(f1_at, grid(0.1, 0.99))
    groups = [[docs[i].item_id for i in g] for g in single_link(similarity, threshold)]
    return {"threshold": threshold, **pairwise(groups, truth).to_json()}


def run() -> dict[str, object]:
    """Every figure of the benchmark."""
    started = time.process_time()
    docs = load_docs()
    embedded = time.process_time() - started
    truth, missing = labelled_ids(load_labels(LABELS), {d.url: d.item_id for d in docs})
    if missing:
        raise SystemExit(f"labelled URLs not in the corpus: {missing}")
    dev_docs, dev_truth = _split(docs, truth, dev=True)
    test_docs, test_truth = _split(docs, truth, dev=False)
    threshold, dev_f1 = best_threshold(lambda t: _ours(dev_docs, dev_truth, t), grid(0.4, 0.95))
    model = replace(StoryModel(), threshold=threshold)
    clock = time.process_time()
    full = pairwise(cluster_all(docs, model).stories(), truth)
    cluster_cpu = time.process_time() - clock
    test = pairwise(cluster_all(test_docs, model).stories(), test_truth)
    default = pairwise(cluster_all(docs, StoryModel()).stories(), truth)
    vectors = np.stack([d.vector for d in docs if d.vector is not None])
    return {
        "posts": len(docs),
        "labelled_clusters": len(truth),
        "dev": {"posts": len(dev_docs), "clusters": len(dev_truth), "threshold": threshold, "f1": dev_f1},
        "ours_test": test.to_json(),
        "ours_all": full.to_json(),
        "ours_default_threshold": {"threshold": StoryModel().threshold, **default.to_json()},
        "single_link_tfidf_best": _baseline(_tfidf(docs), docs, truth),
        "single_link_minilm_best": _baseline(vectors @ vectors.T, docs, truth),
        "cpu_seconds": {"features_and_embeddings": round(embedded, 2), "cluster_all": round(cluster_cpu, 3)},
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} is absent", file=sys.stderr)
        return
    figures = run()
    print(json.dumps(figures, indent=2) if args.json else figures)


if __name__ == "__main__":
    main()
