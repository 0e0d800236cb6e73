"""`medcurate sources add|list|pause|resume|remove` through the real CLI, read back each time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medcurate.cli import app

FEED = "https://feeds.example.org/health-it/rss.xml"


@pytest.fixture()
def run(tmp_path: Path) -> CliRunner:
    """A runner whose data directory is a fresh temporary folder."""
    runner = CliRunner(env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": ""})
    assert runner.invoke(app, ["init"]).exit_code == 0
    return runner


def _listed(run: CliRunner) -> list[dict[str, Any]]:
    result = run.invoke(app, ["sources", "list", "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_a_source_is_followed_paused_resumed_and_removed(run: CliRunner) -> None:
    added = run.invoke(app, ["sources", "add", FEED, "--every", "15", "--topic", "KLAS: Security"])
    assert added.exit_code == 0, added.output
    [source] = _listed(run)
    assert (source["location"], source["kind"], source["refresh_minutes"]) == (FEED, "feed", 15)
    assert source["enabled"] and source["topics"] == ["KLAS: Security"]
    assert source["next_refresh_at"] is not None, "a new source is due at once"

    paused = run.invoke(app, ["sources", "pause", str(source["id"]), "--reason", "on holiday"])
    assert paused.exit_code == 0, paused.output
    [source] = _listed(run)
    assert not source["enabled"] and source["paused_reason"] == "on holiday"

    assert run.invoke(app, ["sources", "resume", str(source["id"])]).exit_code == 0
    [source] = _listed(run)
    assert source["enabled"] and not source["paused_reason"]

    assert run.invoke(app, ["sources", "remove", str(source["id"])]).exit_code == 0
    assert _listed(run) == []


def test_a_bad_source_is_refused_with_a_reason_and_nothing_is_stored(run: CliRunner) -> None:
    for arguments in (
        ["sources", "add", "ftp://feeds.example.org/rss.xml"],
        ["sources", "add", FEED, "--community", "no-such-community"],
        ["sources", "add", FEED, "--kind", "newsletter"],
    ):
        refused = run.invoke(app, arguments)
        assert refused.exit_code == 2, (arguments, refused.output)
        assert "error:" in refused.output and "Traceback" not in refused.output
    assert _listed(run) == []
    assert run.invoke(app, ["sources", "pause", "99"]).exit_code != 0, "an unknown source is an error"
