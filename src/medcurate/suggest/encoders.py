"""The encoder a site embeds with, chosen by name (``MEDCURATE_EMBEDDING``), and its vector cache.

``embedding`` holds the bundled MiniLM and the text cache, ``static`` the model distilled from
MiniLM; this module sits above both, so neither imports the other's way back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, get_args

from medcurate.errors import SuggestError
from medcurate.settings import Settings
from medcurate.suggest.embedding import (
    MINILM_SPACE,
    EmbeddingCache,
    TextEncoder,
    default_encoder,
    encoder_space,
)
from medcurate.suggest.static import static_encoder

EncoderName = Literal["minilm", "static"]
ENCODER_NAMES: tuple[str, ...] = get_args(EncoderName)
EMBEDDING_CACHE_FILE = "embeddings.npz"
_CACHES: dict[Path, EmbeddingCache] = {}


def encoder_for(name: str) -> TextEncoder:
    """The process-wide encoder called ``name`` (``minilm`` or ``static``)."""
    if name == "minilm":
        return default_encoder()
    if name == "static":
        return static_encoder()
    raise SuggestError(f"unknown embedding {name!r}; one of {', '.join(ENCODER_NAMES)} (MEDCURATE_EMBEDDING)")


def embedding_cache(settings: Settings) -> EmbeddingCache:
    """The site's embedding cache for its encoder (``settings.embedding``), opened once per process."""
    encoder = encoder_for(settings.embedding)
    space = encoder_space(encoder)
    # One file per vector space: switching encoders back and forth keeps both caches.
    name = EMBEDDING_CACHE_FILE
    if space != MINILM_SPACE:
        name = f"embeddings-{hashlib.blake2b(space.encode(), digest_size=4).hexdigest()}.npz"
    path = settings.models_dir / name
    if path not in _CACHES:
        _CACHES[path] = EmbeddingCache.open(encoder, path)
    return _CACHES[path]
