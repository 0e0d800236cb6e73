"""Writing and reading fitted ``LabelModel``s: arrays in an ``.npz`` file, everything else in JSON.

No pickle: a model directory can be copied between machines and read without running code from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from medcurate.errors import SuggestError
from medcurate.suggest.engine import EngineOptions, LabelInfo, LabelModel

FORMAT_VERSION = 1
_ARRAYS = (
    "label_vectors",
    "item_vectors",
    "votes",
    "classifier_coef",
    "classifier_intercept",
    "classifier_active",
)


def save_model(model: LabelModel, directory: Path, *, name: str) -> None:
    """Write ``model`` as ``<name>.npz`` and ``<name>.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / f"{name}.npz", centre=model.centre, **{key: getattr(model, key) for key in _ARRAYS})
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
    }
    (directory / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def load_model(directory: Path, *, name: str) -> LabelModel:
    """Read the model ``name`` from ``directory``."""
    try:
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        with np.load(directory / f"{name}.npz", allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in _ARRAYS}
            # Models written before prototypes were centred have none: measured from the origin.
            centre = np.asarray(data["centre"]) if "centre" in data.files else np.zeros(0)
    except (OSError, ValueError, KeyError) as exc:
        raise SuggestError(
            f"the model {name!r} in {directory} is unreadable ({exc}); run `medcurate topics train`"
        ) from exc
    if meta.get("format") != FORMAT_VERSION:
        raise SuggestError(f"the model in {directory} has another format; run `medcurate topics train`")
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
        votes=arrays["votes"].astype(np.float64),
        classifier_coef=arrays["classifier_coef"].astype(np.float64),
        classifier_intercept=arrays["classifier_intercept"].astype(np.float64),
        classifier_active=arrays["classifier_active"].astype(bool),
        blend=tuple(float(w) for w in meta["blend"]),
        blend_intercept=float(meta["blend_intercept"]),
        threshold=float(meta["threshold"]),
        calibrated=bool(meta["calibrated"]),
        centre=centre.astype(np.float32),
        options=EngineOptions(**meta["options"]),
        created_at=str(meta["created_at"]),
        metrics=dict(meta["metrics"]),
    )
