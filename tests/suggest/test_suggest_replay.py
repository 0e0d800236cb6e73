"""``medcurate topics replay`` and the live ``topics evaluate``: the path editors get, measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.settings import Settings
from medcurate.suggest.evaluate import split_by_date
from medcurate.suggest.replay import replay, stream_in_date_order
from suggestsupport import PARKING, baseline_floors, write_post

FIXTURES = paths.FIXTURES / "suggest"
REPLAY_KEYS = {
    "online_p_at_1",
    "online_hit_at_3",
    "online_micro_f1",
    "no_learn_p_at_1",
    "no_learn_hit_at_3",
    "no_learn_micro_f1",
    "n",
    "never_used_top1",
}


def _stream(directory: Path) -> Path:
    """Newer posts: two the history's labels cover, and three of a label it lacks (learnable)."""
    write_post(
        directory,
        "phishing-again",
        title="Phishing emails trick hospital staff into exposing patient records",
        text="Staff clicked phishing links; attackers reached email accounts holding patient records.",
        date="2019-02-01T09:00:00Z",
        labels=("Cybersecurity",),
    )
    for day, verb in enumerate(("opens", "launches", "rolls out"), start=2):
        write_post(
            directory,
            f"parking-{day}",
            title=PARKING[0].replace("opens", verb),
            text=PARKING[1],
            date=f"2019-02-0{day}T09:00:00Z",
            labels=("Visitor Wayfinding",),
        )
    write_post(
        directory,
        "fhir-apps",
        title="FHIR APIs let patients pull their records into apps",
        text="Health systems open FHIR interfaces so that apps can read electronic health record data.",
        date="2019-02-09T09:00:00Z",
        labels=("Interoperability",),
    )
    return directory


def test_the_stream_is_walked_oldest_first(tmp_path: Path) -> None:
    names = [path.stem for path, _ in stream_in_date_order(_stream(tmp_path / "stream"))]
    assert names == ["phishing-again", "parking-2", "parking-3", "parking-4", "fhir-apps"]


def test_replay_learns_from_the_decisions_it_records(tmp_path: Path) -> None:
    report = replay(
        FIXTURES / "history", _stream(tmp_path / "stream"), settings=Settings(home=tmp_path / "h")
    )
    assert report.learning is not None and report.n_history == 10
    assert report.learning.n == report.no_learning.n == 5
    # Without learning, "Visitor Wayfinding" is never a candidate; with it, the second and third
    # parking posts get it from the first one's decision.
    assert report.learning.p_at_1 >= report.no_learning.p_at_1 + 0.4 - 1e-9
    assert report.no_learning.p_at_1 <= 0.4
    assert report.learning.hit_at_3 >= 0.8


def test_replay_prints_both_runs_in_one_object(tmp_path: Path) -> None:
    stream = _stream(tmp_path / "stream")
    args = ["--home", str(tmp_path / "h"), "topics", "replay", "--history", str(FIXTURES / "history")]
    result = CliRunner().invoke(app, [*args, "--stream", str(stream), "--no-learn", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures.keys() >= REPLAY_KEYS and figures["learn"] is False and figures["n"] == 5
    assert figures["online_p_at_1"] == figures["no_learn_p_at_1"]
    result = CliRunner().invoke(app, [*args, "--stream", str(tmp_path / "absent")])
    assert result.exit_code == 2


@pytest.mark.shared
@pytest.mark.slow
def test_replay_floors_on_the_dev_corpus(curated_posts_dir: Path, tmp_path: Path) -> None:
    floors = baseline_floors("replay", curated_posts_dir)
    history, stream = split_by_date(curated_posts_dir, tmp_path / "split")
    report = replay(history, stream, settings=Settings(home=tmp_path / "h", embedding="minilm"))
    assert report.learning is not None
    learning, no_learning = report.learning, report.no_learning
    assert learning.p_at_1 >= floors["online_p_at_1_floor"]
    assert learning.hit_at_3 >= floors["online_hit_at_3_floor"]
    assert no_learning.p_at_1 >= floors["no_learn_p_at_1_floor"]
    assert learning.p_at_1 - no_learning.p_at_1 >= floors["learning_gain_floor"]
    assert learning.never_used_top1 <= floors["never_used_top1_ceiling"]


@pytest.mark.shared
@pytest.mark.parametrize("section", ["suggest", "coldstart", "replay"])
def test_the_suggestion_floors_were_measured_on_the_corpus_as_it_is(
    curated_posts_dir: Path, section: str
) -> None:
    floors = baseline_floors(section, curated_posts_dir)
    assert floors["corpus"] == curated_posts_dir.name and floors["measured_with"]
