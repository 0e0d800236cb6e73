"""The learner: cold start, learning from labels and rejects, calibration, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

import paths
from medcurate.config import load_config
from medcurate.suggest.embedding import EmbeddingCache, default_encoder, item_vectors
from medcurate.suggest.engine import fit, predict
from medcurate.suggest.evaluate import examples_from_dir
from medcurate.suggest.labelmodel import EngineOptions, Example
from medcurate.suggest.labels import LabelInfo
from medcurate.suggest.online import extend
from medcurate.suggest.persist import load_model, save_model, stored_format
from medcurate.suggest.service import topic_labels

FIXTURES = paths.FIXTURES / "suggest"


@pytest.fixture(scope="session")
def embed() -> EmbeddingCache:
    """One MiniLM model and one text cache for the whole session."""
    return EmbeddingCache.open(default_encoder())


def _rank(model_ranking: list[str], label: str) -> int:
    return model_ranking.index(label) if label in model_ranking else len(model_ranking)


def _ranking(model: object, embed: EmbeddingCache, title: str, text: str) -> list[tuple[str, float]]:
    vector = item_vectors(embed.embed, [title], [text])[0]
    return [(s.label, s.score) for s in predict(model, vector=vector, title=title, text=text)]  # type: ignore[arg-type]


def test_cold_start_puts_a_cybersecurity_topic_in_the_top_three(embed: EmbeddingCache) -> None:
    model = fit([], labels=topic_labels(load_config(None)), embed=embed.embed)
    ranking = _ranking(
        model,
        embed,
        "Ransomware attack forces hospitals to divert ambulances",
        "A ransomware attack shut down the computer systems of three hospitals; IT staff restored them.",
    )
    top3 = [label for label, _ in ranking[:3]]
    assert any("Cybersecurity" in label for label in top3), ranking[:5]
    assert not model.calibrated


def test_labels_come_from_history_and_reasons_name_the_neighbours(embed: EmbeddingCache) -> None:
    history = examples_from_dir(FIXTURES / "history")
    model = fit(history, labels=(), embed=embed.embed)
    vector = item_vectors(
        embed.embed, ["Hackers encrypt hospital servers"], ["A ransomware gang hit a hospital."]
    )[0]
    top = predict(
        model,
        vector=vector,
        title="Hackers encrypt hospital servers",
        text="A ransomware gang hit a hospital.",
    )
    assert top[0].label == "Cybersecurity"
    assert "“" in top[0].reason  # a curated item's title
    assert 0.0 < top[0].score <= 1.0


def test_a_reject_pushes_the_label_down_for_similar_items(embed: EmbeddingCache) -> None:
    history = examples_from_dir(FIXTURES / "history")
    title, text = "Phishing scam hits hospital email", "Staff clicked phishing links and patient data leaked."
    before = dict(_ranking(fit(history, labels=(), embed=embed.embed), embed, title, text))
    rejected = [
        Example(key=e.key, title=e.title, text=e.text, positives=(), negatives=("Cybersecurity",))
        if "phishing" in e.key
        else e
        for e in history
    ]
    after = dict(_ranking(fit(rejected, labels=(), embed=embed.embed), embed, title, text))
    assert after["Cybersecurity"] < before["Cybersecurity"]


def test_extend_adds_decisions_without_refitting(embed: EmbeddingCache) -> None:
    history = examples_from_dir(FIXTURES / "history")
    model = fit(history, labels=(), embed=embed.embed)
    title, text = (
        "Slow rural internet limits telemedicine",
        "Remote counties lack broadband for video visits.",
    )
    before = [label for label, _ in _ranking(model, embed, title, text)]
    broadband = next(e for e in history if "rural-broadband" in e.key)
    accepted = Example(
        key=broadband.key,
        title=broadband.title,
        text=broadband.text,
        positives=(*broadband.positives, "Editors' Picks"),
    )
    extended = extend(model, [accepted], embed=embed.embed)
    after = [label for label, _ in _ranking(extended, embed, title, text)]
    assert _rank(after, "Editors' Picks") < _rank(before, "Editors' Picks")
    assert len(extended.keys) == len(model.keys)  # the item's row was replaced, not duplicated
    brand_new = extend(
        model, [Example(key="n", title=title, text=text, positives=("Broadband",))], embed=embed.embed
    )
    assert "Broadband" in [info.label for info in brand_new.labels]


def _synthetic_history() -> list[Example]:
    topics = {
        "Security": ["ransomware encrypted hospital servers", "phishing breach exposed patient records"],
        "AI": ["deep learning reads x-rays", "machine learning predicts sepsis"],
        "Telehealth": ["video visits for follow-up care", "virtual consultations over video"],
    }
    examples: list[Example] = []
    for label, texts in topics.items():
        for i in range(12):
            text = f"{texts[i % 2]} (report {i})"
            examples.append(Example(key=f"{label}-{i}", title=text, text=text, positives=(label,)))
    return examples


def test_enough_history_gives_a_calibrated_model_with_its_own_threshold(
    embed: EmbeddingCache, tmp_path: Path
) -> None:
    model = fit(_synthetic_history(), labels=(LabelInfo(label="Ops"),), embed=embed.embed)
    assert model.calibrated
    assert 0.0 < model.threshold < 1.0
    title = "hackers encrypted servers with ransomware"
    ranking = _ranking(model, embed, title, title)
    assert ranking[0][0] == "Security" and ranking[0][1] > model.threshold
    save_model(model, tmp_path, name="topics")
    again = load_model(tmp_path, name="topics")
    reloaded = _ranking(again, embed, title, title)
    assert [label for label, _ in reloaded] == [label for label, _ in ranking]
    assert [score for _, score in reloaded] == pytest.approx([score for _, score in ranking])
    assert again.blend == model.blend
    assert np.array_equal(again.votes.toarray(), model.votes.toarray())
    assert np.array_equal(again.classifier_ranks, model.classifier_ranks)


def test_a_model_written_with_dense_votes_is_read_with_the_same_votes(
    embed: EmbeddingCache, tmp_path: Path
) -> None:
    """A model of format 5 (votes written dense) is read, not retrained: its votes come back sparse."""
    model = fit(_synthetic_history(), labels=(LabelInfo(label="Ops"),), embed=embed.embed)
    save_model(model, tmp_path, name="topics")
    with np.load(tmp_path / "topics.npz") as data:
        arrays = {key: data[key] for key in data.files if not key.startswith("votes_")}
    np.savez(tmp_path / "topics.npz", votes=model.votes.toarray(), **arrays)
    meta = json.loads((tmp_path / "topics.json").read_text(encoding="utf-8"))
    (tmp_path / "topics.json").write_text(json.dumps({**meta, "format": 5}), encoding="utf-8")
    again = load_model(tmp_path, name="topics")
    assert stored_format(tmp_path, name="topics") == 5
    assert sparse.issparse(again.votes)
    assert np.array_equal(again.votes.toarray(), model.votes.toarray())
    title = "hackers encrypted servers with ransomware"
    reloaded, ranking = _ranking(again, embed, title, title), _ranking(model, embed, title, title)
    assert [label for label, _ in reloaded] == [label for label, _ in ranking]
    assert [score for _, score in reloaded] == pytest.approx([score for _, score in ranking])


def test_options_change_the_neighbourhood(embed: EmbeddingCache) -> None:
    model = fit(
        _synthetic_history(), labels=(), embed=embed.embed, options=EngineOptions(neighbours=1, folds=3)
    )
    assert model.options.neighbours == 1
    assert model.metrics["items"] == 36


def test_a_history_larger_than_the_caps_is_sampled_and_still_learned(embed: EmbeddingCache) -> None:
    """The caps bound what a training costs on a large site; within them nothing changes."""
    history = _synthetic_history()
    labels = (LabelInfo(label="Ops"),)
    default = fit(history, labels=labels, embed=embed.embed)
    roomy = fit(
        history,
        labels=labels,
        embed=embed.embed,
        options=EngineOptions(max_class_rows=36, max_stack_items=36),
    )
    assert roomy.blend == default.blend
    assert np.array_equal(roomy.classifier_coef, default.classifier_coef)
    tight = fit(
        history, labels=labels, embed=embed.embed, options=EngineOptions(max_class_rows=8, max_stack_items=15)
    )
    assert tight.calibrated and tight.blend != default.blend
    assert tight.metrics["stack_pairs"] == 15 * 3  # 15 held-out items x the three labels the site uses
    title = "hackers encrypted servers with ransomware"
    assert _ranking(tight, embed, title, title)[0][0] == "Security"
