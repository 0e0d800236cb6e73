"""Writing and reading fitted ``LabelModel``s: arrays in an ``.npz`` file, everything else in JSON.

No pickle: a model directory can be copied between machines and read without running code from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from medcurate.errors import SuggestError
from medcurate.suggest.labelmodel import EngineOptions, LabelModel
from medcurate.suggest.labels import LabelInfo, Vocabulary

# 2: the "recent" feature, the items' times and the vocabulary; 3: the "lexical" feature (seven blend
# weights); 4: the neighbour gate of decided items; 5: each classifier's quantiles over its label's
# negatives (``classifiers``); 6: the votes sparse (their entries, columns and row offsets). A model
# of a format this code cannot read is retrained; one of format 5 is read, its dense votes made sparse.
FORMAT_VERSION = 6
READABLE_FORMATS = frozenset({5, FORMAT_VERSION})
_ARRAYS = (
    "label_vectors",
    "item_vectors",
    "classifier_coef",
    "classifier_intercept",
    "classifier_active",
    "classifier_ranks",
    "times",
)


def save_model(model: LabelModel, directory: Path, *, name: str) -> None:
    """Write ``model`` as ``<name>.npz`` and ``<name>.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    words = model.vocabulary.counts
    np.savez(
        directory / f"{name}.npz",
        centre=model.centre,
        words=np.array(list(words), dtype=str),
        word_counts=np.array(list(words.values()), dtype=np.int64),
        votes_data=model.votes.data,
        votes_indices=model.votes.indices,
        votes_indptr=model.votes.indptr,
        votes_shape=np.array(model.votes.shape, dtype=np.int64),
        **{key: getattr(model, key) for key in _ARRAYS},
    )
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "labels": [asdict(info) for info in model.labels],
        "keys": list(model.keys),
        "titles": list(model.titles),
        "blend": list(model.blend),
        "blend_intercept": model.blend_intercept,
        "threshold": model.threshold,
        "calibrated": model.calibrated,
        "options": asdict(model.options),
        "created_at": model.created_at,
        "metrics": dict(model.metrics),
        "documents": model.vocabulary.documents,
        "neighbour_gate": model.neighbour_gate,
        "trained_rows": model.trained_rows,
    }
    (directory / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def stored_format(directory: Path, *, name: str) -> int | None:
    """The format the model ``name`` in ``directory`` was written in (None: unreadable)."""
    try:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = meta.get("format") if isinstance(meta, dict) else None
    return value if isinstance(value, int) else None


def _stored_votes(data: Any) -> sparse.csr_matrix:
    """The votes of an open ``.npz``: sparse from format 6 on, dense before."""
    if "votes_data" not in data.files:
        return sparse.csr_matrix(np.asarray(data["votes"], dtype=np.float64))
    shape = tuple(int(n) for n in data["votes_shape"])
    return sparse.csr_matrix(
        (data["votes_data"].astype(np.float64), data["votes_indices"], data["votes_indptr"]), shape=shape
    )


def load_model(directory: Path, *, name: str) -> LabelModel:
    """Read the model ``name`` from ``directory`` (``SuggestError`` when unreadable or of another format)."""
    if stored_format(directory, name=name) not in {*READABLE_FORMATS, None}:
        raise SuggestError(f"the model in {directory} has another format; run `medcurate topics train`")
    try:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        with np.load(directory / f"{name}.npz", allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in _ARRAYS}
            votes = _stored_votes(data)
            # Models written before prototypes were centred have none: measured from the origin.
            centre = np.asarray(data["centre"]) if "centre" in data.files else np.zeros(0)
            words = {str(w): int(n) for w, n in zip(data["words"], data["word_counts"], strict=True)}
    except (OSError, ValueError, KeyError) as exc:
        raise SuggestError(
            f"the model {name!r} in {directory} is unreadable ({exc}); run `medcurate topics train`"
        ) from exc
    labels = tuple(
        LabelInfo(label=e["label"], description=e["description"], synonyms=tuple(e["synonyms"]))
        for e in meta["labels"]
    )
    return LabelModel(
        labels=labels,
        label_vectors=arrays["label_vectors"].astype(np.float32),
        keys=tuple(meta["keys"]),
        titles=tuple(meta["titles"]),
        item_vectors=arrays["item_vectors"].astype(np.float32),
        votes=votes,
        classifier_coef=arrays["classifier_coef"].astype(np.float64),
        classifier_intercept=arrays["classifier_intercept"].astype(np.float64),
        classifier_active=arrays["classifier_active"].astype(bool),
        classifier_ranks=arrays["classifier_ranks"].astype(np.float64),
        blend=tuple(float(w) for w in meta["blend"]),
        blend_intercept=float(meta["blend_intercept"]),
        threshold=float(meta["threshold"]),
        calibrated=bool(meta["calibrated"]),
        centre=centre.astype(np.float32),
        options=EngineOptions(**meta["options"]),
        created_at=str(meta["created_at"]),
        metrics=dict(meta["metrics"]),
        times=arrays["times"].astype(np.float64),
        vocabulary=Vocabulary(counts=words, documents=int(meta["documents"])),
        neighbour_gate=float(meta["neighbour_gate"]),
        # Written before decided items stayed behind the gate at training: every row is history.
        trained_rows=meta.get("trained_rows"),
    )
