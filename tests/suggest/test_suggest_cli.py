"""``medcurate topics``: suggest, decide, train, evaluate; and the quality gate on the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.suggest.evaluate import split_by_date
from suggestsupport import baseline_floors

FIXTURES = paths.FIXTURES / "suggest"
KEYS = {"p_at_1", "hit_at_3", "micro_f1", "ceiling", "n_test"}


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_suggest_train_decide_on_a_site(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    _run("--home", home, "import", str(FIXTURES / "history"))
    trained = json.loads(_run("--home", home, "topics", "train", "--json"))
    assert trained["metrics"]["topic_items"] == 10
    new_file = FIXTURES / "new" / "hospital-ransomware.md"
    from_file = json.loads(_run("--home", home, "topics", "suggest", str(new_file), "--k", "3", "--json"))
    topics = [s for s in from_file if s["kind"] == "topic"]
    assert len(topics) == 3 and topics[0]["label"] == "Cybersecurity"
    assert topics[0]["model_version"] == trained["version"] and topics[0]["reason"]
    stored = json.loads(_run("--home", home, "topics", "suggest", "1", "--json"))
    assert stored and all(s["score"] >= 0 for s in stored)
    _run("--home", home, "topics", "decide", "1", "Rural Health", "--action", "add", "--actor", "ana")
    shown = json.loads(_run("--home", home, "items", "show", "1", "--json"))
    assert "Rural Health" in shown["front_matter"]["categories"]


def test_decide_resolves_a_community_by_name_as_the_web_app_does(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    _run("--home", home, "import", str(FIXTURES / "history"))
    _run("--home", home, "topics", "decide", "1", "Chronic Care Management (CCM)", "--kind", "community")
    shown = json.loads(_run("--home", home, "items", "show", "1", "--json"))
    assert shown["community"] == "chronic-care-management"
    offering = "Armis Platform for Healthcare"
    _run("--home", home, "topics", "decide", "1", offering, "--kind", "offering", "--action", "add")
    shown = json.loads(_run("--home", home, "items", "show", "1", "--json"))
    assert [e["label"] for e in shown["front_matter"]["relatedOfferings"]] == [offering]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Nowhere", "--kind", "community"], "unknown community 'Nowhere'"),
        (["No such offering", "--kind", "offering", "--action", "add"], "unknown offering"),
        (["AI", "--kind", "tag"], "unknown kind 'tag'"),
        (["AI", "--action", "maybe"], "not a valid decision"),
        (["   ", "--action", "add"], "the label is empty"),
    ],
)
def test_decide_refuses_what_the_library_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    home = str(tmp_path / "home")
    _run("--home", home, "import", str(FIXTURES / "history"))
    result = CliRunner().invoke(app, ["--home", home, "topics", "decide", "1", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    shown = json.loads(_run("--home", home, "items", "show", "1", "--json"))
    assert not shown["front_matter"].get("relatedOfferings")


def test_bad_arguments_exit_with_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(tmp_path), "topics", "suggest", "no-such-file.md"])
    assert result.exit_code == 2
    result = runner.invoke(
        app, ["topics", "evaluate", "--train", str(tmp_path / "x"), "--test", str(tmp_path)]
    )
    assert result.exit_code == 2


def _reposted(source: Path, target: Path) -> Path:
    """The same posts again under other links (the live path imports them as new items)."""
    target.mkdir()
    for path in source.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        text = text.replace("news.example.org/", "news.example.org/again-").replace("slug: ", "slug: again-")
        (target / path.name).write_text(text, encoding="utf-8")
    return target


def test_evaluate_reports_the_live_path_the_restricted_one_and_the_baseline(tmp_path: Path) -> None:
    test_dir = _reposted(FIXTURES / "history", tmp_path / "test")
    report = json.loads(
        _run(
            "--home",
            str(tmp_path / "home"),
            "topics",
            "evaluate",
            "--train",
            str(FIXTURES / "history"),
            "--test",
            str(test_dir),
            "--json",
        )
    )
    assert report.keys() >= KEYS and report["baseline"].keys() >= KEYS and report["restricted"].keys() >= KEYS
    assert report["n_test"] == 10 and report["ceiling"] == 1.0
    assert report["hit_at_3"] >= report["p_at_1"] > 0.5


@pytest.mark.shared
@pytest.mark.slow
def test_learning_from_older_posts_beats_the_tfidf_baseline_on_newer_ones(
    curated_posts_dir: Path, tmp_path: Path
) -> None:
    floors = baseline_floors("suggest", curated_posts_dir)
    train, test = split_by_date(curated_posts_dir, tmp_path)
    report = json.loads(_run("topics", "evaluate", "--train", str(train), "--test", str(test), "--json"))
    baseline, restricted = report["baseline"], report["restricted"]
    assert restricted["p_at_1"] >= floors["p_at_1_floor"]
    assert restricted["hit_at_3"] >= floors["hit_at_3_floor"]
    # What editors get (the live suggester, every candidate) has floors of its own.
    assert report["p_at_1"] >= floors["live_p_at_1_floor"]
    assert report["hit_at_3"] >= floors["live_hit_at_3_floor"]
    margin = floors["margin_over_baseline_floor"]
    assert report["p_at_1"] >= baseline["p_at_1"] + margin
    assert report["hit_at_3"] >= baseline["hit_at_3"] + margin
    assert report["micro_f1"] > baseline["micro_f1"]
    assert report["ceiling"] == baseline["ceiling"] and report["n_test"] == baseline["n_test"] > 50
