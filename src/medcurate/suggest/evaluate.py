"""Evaluation of the learner against editors' labels, next to a TF-IDF + logistic-regression baseline.

``medcurate topics evaluate`` reports the live suggester (``medcurate.suggest.replay.evaluate_live``:
the path editors get); ``evaluate`` here is the restricted figure it reports beside it.

The learner is fitted on one set of items (their editors' labels, any front-matter variant) and
predicts for another. Labels are compared after ``normalize_label`` (case and white space). Only the
labels the training items carry are candidates: configured topics and MeSH descriptors are left out,
because a test set labelled in the editors' own vocabulary never uses them.

Figures, over the test items that carry at least one label (items without any label cannot be scored
and are counted apart, in ``n_unlabelled``):

- ``p_at_1``: the top suggestion is one of the item's labels;
- ``hit_at_3`` (at ``k``): at least one of the item's labels is among the top ``k``;
- ``micro_f1``: every label scoring at or above the method's own threshold counts as predicted;
- ``ceiling``: the item has at least one label that occurs in training (no method can do better).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from medcurate.errors import FrontMatterError, SuggestError
from medcurate.frontmatter import iter_documents, read_document
from medcurate.models import normalize_label
from medcurate.suggest.embedding import Embed, item_text, item_vectors
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.labelmodel import EngineOptions, Example, ScoredLabel

DEFAULT_K = 3
DEFAULT_TRAIN_SHARE = 0.7
BASELINE_THRESHOLD = 0.5
BASELINE_C = 10.0


@dataclass(frozen=True, kw_only=True)
class Scores:
    """One method's figures on a test set."""

    p_at_1: float
    hit_at_3: float
    micro_f1: float
    ceiling: float
    n_test: int
    n_unlabelled: int


@dataclass(frozen=True, kw_only=True)
class EvaluationReport:
    """The learner's and the baseline's figures, measured in the same run."""

    engine: Scores
    baseline: Scores
    k: int
    n_train: int
    threshold: float
    seconds: float
    # ``topics evaluate`` reports the live suggester as ``engine``; this is the restricted path's.
    restricted: Scores | None = None

    def as_json(self) -> dict[str, Any]:
        """The shape ``medcurate topics evaluate --json`` prints."""
        return {
            **asdict(self.engine),
            "k": self.k,
            "n_train": self.n_train,
            "threshold": self.threshold,
            "seconds": round(self.seconds, 2),
            "baseline": asdict(self.baseline),
            **({"restricted": asdict(self.restricted)} if self.restricted is not None else {}),
        }


def example_from_file(path: Path) -> Example:
    """An ``Example`` from one Markdown file with its editors' labels, labelled when it was published."""
    item = read_document(path)
    at = item.published.timestamp() if item.published else 0.0
    return Example(key=str(path), title=item.title, text=item_text(item), positives=tuple(item.topics), at=at)


def examples_from_dir(directory: Path) -> list[Example]:
    """Every readable document below ``directory``, as examples (unreadable files are refused)."""
    if not directory.is_dir():
        raise SuggestError(f"{directory} is not a directory of Markdown files")
    examples: list[Example] = []
    for path in iter_documents([directory]):
        try:
            examples.append(example_from_file(path))
        except FrontMatterError as exc:
            raise SuggestError(f"{path}: {exc.message}") from exc
    if not examples:
        raise SuggestError(f"no Markdown documents below {directory}")
    return examples


def corpus_sha256(directory: Path) -> str:
    """The SHA-256 of the files below ``directory``, their contents read in sorted path order.

    What ``bench/eval_baseline.json`` records beside the floors measured on a corpus: the same as
    ``find DIR -type f | LC_ALL=C sort | xargs cat | sha256sum``.
    """
    digest = hashlib.sha256()
    for path in sorted((p for p in directory.rglob("*") if p.is_file()), key=lambda p: str(p).encode()):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def split_by_date(
    source: Path, target: Path, *, train_share: float = DEFAULT_TRAIN_SHARE
) -> tuple[Path, Path]:
    """Copy the older ``train_share`` of the documents to ``target/train``, the newer to ``target/test``."""
    undated = datetime.min.replace(tzinfo=UTC)
    paths = sorted(iter_documents([source]), key=lambda p: (read_document(p).published or undated, p.name))
    cut = round(len(paths) * train_share)
    train, test = target / "train", target / "test"
    for directory, chunk in ((train, paths[:cut]), (test, paths[cut:])):
        directory.mkdir(parents=True)
        for path in chunk:
            shutil.copy(path, directory / path.name)
    return train, test


def score_rankings(
    rankings: Sequence[Sequence[ScoredLabel]],
    test: Sequence[Example],
    *,
    train_labels: set[str],
    threshold: float,
    k: int = DEFAULT_K,
) -> Scores:
    """P@1, hit@k, micro-F1 at ``threshold`` and the ceiling over the labelled test items."""
    p_at_1 = hits = ceiling = 0
    true_positives = predicted = actual = 0
    n_test = 0
    for ranking, example in zip(rankings, test, strict=True):
        gold = {normalize_label(label) for label in example.positives}
        if not gold:
            continue
        n_test += 1
        keys = [normalize_label(s.label) for s in ranking]
        p_at_1 += bool(keys[:1] and keys[0] in gold)
        hits += bool(gold & set(keys[:k]))
        ceiling += bool(gold & train_labels)
        chosen = {key for key, s in zip(keys, ranking, strict=True) if s.score >= threshold}
        true_positives += len(chosen & gold)
        predicted += len(chosen)
        actual += len(gold)
    denominator = predicted + actual
    share = (lambda count: count / n_test) if n_test else (lambda count: 0.0)
    return Scores(
        p_at_1=round(share(p_at_1), 4),
        hit_at_3=round(share(hits), 4),
        micro_f1=round(2 * true_positives / denominator, 4) if denominator else 0.0,
        ceiling=round(share(ceiling), 4),
        n_test=n_test,
        n_unlabelled=len(test) - n_test,
    )


def baseline_rankings(train: Sequence[Example], test: Sequence[Example]) -> list[list[ScoredLabel]]:
    """TF-IDF (words and word pairs) + one balanced logistic regression per label."""
    labelled = [e for e in train if e.positives]
    labels = sorted({normalize_label(label) for e in labelled for label in e.positives})
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), stop_words="english")
    train_matrix = vectorizer.fit_transform([f"{e.title}\n{e.text}" for e in labelled])
    test_matrix = vectorizer.transform([f"{e.title}\n{e.text}" for e in test])
    scores = np.zeros((len(test), len(labels)))
    for column, label in enumerate(labels):
        target = np.array([label in {normalize_label(x) for x in e.positives} for e in labelled])
        if target.all():
            scores[:, column] = 1.0
            continue
        classifier = LogisticRegression(C=BASELINE_C, class_weight="balanced", max_iter=1000)
        classifier.fit(train_matrix, target)
        scores[:, column] = classifier.predict_proba(test_matrix)[:, 1]
    rankings: list[list[ScoredLabel]] = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        rankings.append([ScoredLabel(label=labels[c], score=float(row[c]), reason="tf-idf") for c in order])
    return rankings


def evaluate(
    train: Sequence[Example],
    test: Sequence[Example],
    *,
    embed: Embed,
    k: int = DEFAULT_K,
    options: EngineOptions | None = None,
) -> EvaluationReport:
    """Fit on ``train``, predict ``test``, and score the learner and the baseline the same way."""
    started = time.perf_counter()
    if not any(e.positives for e in train):
        raise SuggestError("the training items carry no labels: nothing to learn from")
    model = fit(train, labels=(), embed=embed, options=options)
    vectors = item_vectors(embed, [e.title for e in test], [e.text for e in test])
    rankings = [
        predict(model, vector=vector, title=e.title, text=e.text)
        for vector, e in zip(vectors, test, strict=True)
    ]
    train_labels = {normalize_label(label) for e in train for label in e.positives}
    engine_scores = score_rankings(rankings, test, train_labels=train_labels, threshold=model.threshold, k=k)
    baseline_scores = score_rankings(
        baseline_rankings(train, test), test, train_labels=train_labels, threshold=BASELINE_THRESHOLD, k=k
    )
    return EvaluationReport(
        engine=engine_scores,
        baseline=baseline_scores,
        k=k,
        n_train=len(train),
        threshold=model.threshold,
        seconds=time.perf_counter() - started,
    )


def evaluate_dirs(
    train_dir: Path, test_dir: Path, *, embed: Embed, k: int = DEFAULT_K, options: EngineOptions | None = None
) -> EvaluationReport:
    """``evaluate`` over two directories of Markdown files."""
    return evaluate(
        examples_from_dir(train_dir), examples_from_dir(test_dir), embed=embed, k=k, options=options
    )
