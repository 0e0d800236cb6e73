"""The static encoder: distilled offline from the bundled MiniLM, cached, and never mixed with MiniLM vectors.

The session distils a reduced vocabulary (the first ``TEST_VOCABULARY`` WordPiece tokens: specials,
characters and the most frequent words) because the full one takes 40-70 s on a loaded 2-core CPU;
the full model is what ``bench/suggest.py`` measures.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paths
from medcurate.config import load_config
from medcurate.errors import SuggestError
from medcurate.importer import import_paths
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import all_items
from medcurate.suggest.embedding import (
    EMBEDDING_DIM,
    MINILM_SPACE,
    EmbeddingCache,
    default_encoder,
    require_space,
)
from medcurate.suggest.encoders import encoder_for
from medcurate.suggest.persist import load_model
from medcurate.suggest.service import latest_model, load_suggester, suggest_for_item, train
from medcurate.suggest.static import (
    STATIC_DIR_NAME,
    StaticEncoder,
    StaticOptions,
    is_current,
    read_stamp,
)

FIXTURES = paths.FIXTURES / "suggest"
TEST_VOCABULARY = 6000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static model distilled once per session, with every network connection refused meanwhile."""
    directory = tmp_path_factory.mktemp("static") / STATIC_DIR_NAME

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("the test forbids network access during distillation")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        encoder = StaticEncoder(directory=directory, options=StaticOptions(vocabulary_size=TEST_VOCABULARY))
        encoder.encode_texts(["warm up"])
    return directory


@pytest.fixture()
def encoder(static_dir: Path) -> StaticEncoder:
    """An encoder over the session's model (loads, never distils again)."""
    return StaticEncoder(directory=static_dir)


def test_distillation_writes_a_stamped_model_that_later_loads_without_distilling(
    static_dir: Path, encoder: StaticEncoder
) -> None:
    stamp = read_stamp(static_dir)
    assert stamp is not None and is_current(stamp)
    assert stamp.base_model == "all-MiniLM-L6-v2" and stamp.options.vocabulary_size == TEST_VOCABULARY
    assert stamp.seconds > 0
    assert (static_dir / "model.safetensors").exists() and (static_dir / "tokenizer.json").exists()
    vocabulary = json.loads((static_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    assert len(vocabulary) < TEST_VOCABULARY
    assert encoder.stamp == stamp  # read from disk, not distilled again
    assert encoder.space.startswith("static:all-MiniLM-L6-v2:") and encoder.space != MINILM_SPACE


def test_a_stamp_of_another_format_or_base_model_is_stale(static_dir: Path) -> None:
    from dataclasses import replace

    stamp = read_stamp(static_dir)
    assert stamp is not None
    assert not is_current(replace(stamp, format=stamp.format + 1))
    assert not is_current(replace(stamp, base_fingerprint="0" * 16))
    assert read_stamp(static_dir.parent / "absent") is None


def test_vectors_are_normalised_rows_of_the_minilm_width(encoder: StaticEncoder) -> None:
    vectors = encoder.encode_texts(
        ["The hospital opened a new clinic.", "Patients waited for the doctor.", ""]
    )
    assert vectors.shape == (3, EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, rtol=1e-5)
    assert np.linalg.norm(vectors[2]) in (0.0, pytest.approx(1.0))
    assert encoder.encode_texts([]).shape == (0, EMBEDDING_DIM)


def test_a_related_text_ranks_above_an_unrelated_one(encoder: StaticEncoder) -> None:
    query, related, unrelated = encoder.encode_texts(
        [
            "Hackers attacked the hospital computer network and stole patient records.",
            "A security breach at a medical center exposed health data of thousands of patients.",
            "The football team won the championship game on Sunday night.",
        ]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.1


def test_a_cache_written_by_one_encoder_is_refused_by_the_other(
    tmp_path: Path, encoder: StaticEncoder
) -> None:
    path = tmp_path / "embeddings.npz"
    cache = EmbeddingCache.open(encoder, path)
    cache.embed(["A clinic adopts telehealth visits."])
    cache.save()
    assert EmbeddingCache.open(encoder, path).vectors.keys() == cache.vectors.keys()
    with pytest.raises(SuggestError, match=r"holds vectors of static:.*not of minilm"):
        EmbeddingCache.open(default_encoder(), path)


def test_unknown_encoder_names_are_refused() -> None:
    with pytest.raises(SuggestError, match="unknown embedding 'bert'"):
        encoder_for("bert")


@pytest.fixture()
def site(
    tmp_path: Path, static_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Database, Path]]:
    """A SQLite site with the history imported, and a per-user cache that holds the session's model."""
    cache_home = tmp_path / "xdg-cache"
    shutil.copytree(static_dir, cache_home / "medcurate" / STATIC_DIR_NAME)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    import_paths(database, [FIXTURES / "history", FIXTURES / "new"], config=load_config(None))
    yield database, tmp_path / "home"
    database.dispose()


def test_a_model_trained_with_minilm_is_refused_then_retrained_under_static(
    site: tuple[Database, Path],
) -> None:
    database, home = site
    minilm, static = Settings(home=home, embedding="minilm"), Settings(home=home, embedding="static")
    first = train(database, settings=minilm)
    assert first.metrics["encoder"] == MINILM_SPACE
    static_encoder = encoder_for("static")
    assert read_stamp(static_encoder.directory) is not None  # type: ignore[attr-defined]
    old_topics = load_model(first.path, name="topics")
    with pytest.raises(SuggestError, match=r"holds vectors of minilm:.*but the encoder is static:"):
        require_space(old_topics.metrics, static_encoder)

    suggester = load_suggester(database, settings=static)
    row = latest_model(database)
    assert row is not None and row.version == suggester.version != first.version
    assert row.metrics["encoder"] == suggester.topics.metrics["encoder"] != MINILM_SPACE
    require_space(load_model(Path(row.path), name="topics").metrics, static_encoder)
    with database.session() as session:
        item_id = next(
            r.id for r in all_items(session) if (r.source_path or "").endswith("hospital-ransomware.md")
        )
    suggestions = suggest_for_item(database, item_id=item_id, settings=static, k=5)
    assert {s.model_version for s in suggestions} == {row.version}
    assert "Cybersecurity" in [s.label for s in suggestions if s.kind == "topic"][:3]
    # Each encoder keeps its own embedding cache file in the models directory.
    assert (static.models_dir / "embeddings.npz").exists()
    assert len(list(static.models_dir.glob("embeddings-*.npz"))) == 1


def test_the_encoder_is_chosen_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medcurate.errors import ConfigError

    monkeypatch.delenv("MEDCURATE_EMBEDDING", raising=False)
    assert Settings(home=tmp_path).embedding == "minilm"
    monkeypatch.setenv("MEDCURATE_EMBEDDING", "static")
    assert Settings(home=tmp_path).embedding == "static"
    monkeypatch.setenv("MEDCURATE_EMBEDDING", "bert")
    with pytest.raises(ConfigError, match="minilm"):
        Settings(home=tmp_path)
