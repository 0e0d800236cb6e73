"""Posts for the suggestion tests, written on the fly in the dev corpus's bookmark shape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medcurate.suggest.evaluate import corpus_sha256
from medcurate.suggest.labelmodel import Example
from paths import BENCH

PARKING = (
    "Hospital opens a smartphone app that guides visitors to free parking spaces",
    "The app shows visitors which parking garage near the hospital has free spaces and guides them there.",
)


def fake_embed(texts: list[str] | tuple[str, ...]) -> np.ndarray:
    """Deterministic unit vectors per text (no model: for tests about ranking, not meaning)."""
    seeds = [int(hashlib.blake2b(t.encode(), digest_size=4).hexdigest(), 16) for t in texts]
    rows = [np.random.default_rng(seed).normal(size=384) for seed in seeds]
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), 384)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def two_label_history(n: int) -> list[Example]:
    """``n`` items with fake texts, alternately labelled "Site: Own" and "Site: Other"."""
    labels = ("Site: Own", "Site: Other")
    return [
        Example(key=f"item:{i}", title=f"t{i}", text=f"x{i}", positives=(labels[i % 2],)) for i in range(n)
    ]


def write_post(
    directory: Path, name: str, *, title: str, text: str, date: str, labels: tuple[str, ...] = ()
) -> Path:
    """A bookmark-variant post (the dev corpus's shape) with these labels."""
    directory.mkdir(parents=True, exist_ok=True)
    categories = "".join(f"\n- {label}" for label in labels)
    front = (
        f"archetype: bookmark\ncategories:{categories or ' []'}\ndate: {date}\n"
        f"description: {text}\nlink: https://news.example.org/{name}\nlinkBrand: example.org\n"
        f"slug: example-{name}\ntitle: {title}\n"
    )
    path = directory / f"{name}.md"
    path.write_text(f"---\n{front}---\n{text}\n", encoding="utf-8")
    return path


BASELINE = BENCH / "eval_baseline.json"


def baseline_floors(section: str, corpus: Path) -> dict[str, Any]:
    """The floors of ``section`` in bench/eval_baseline.json, if measured on ``corpus`` as it is.

    A corpus that changed fails here, saying so, rather than as a figure below a floor.
    """
    floors: dict[str, Any] = json.loads(BASELINE.read_text(encoding="utf-8"))[section]
    recorded, actual = floors.get("corpus_sha256"), corpus_sha256(corpus)
    if recorded != actual:
        pytest.fail(
            f"bench/eval_baseline.json [{section}] was measured on a corpus with sha256 {recorded}, "
            f"but {corpus} now hashes to {actual}: the corpus changed. Re-measure "
            f"({floors.get('measured_with', 'see docs/benchmarks.md')}) and record the new floors and "
            "corpus_sha256 in the same commit."
        )
    return floors
