"""The core commands, driven through the real CLI against a real SQLite data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.frontmatter import split_document

FIXTURES = paths.FIXTURES / "foundation"


@pytest.fixture()
def run(tmp_path: Path) -> CliRunner:
    """A runner whose data directory is a fresh temporary folder."""
    return CliRunner(env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": ""})


def test_import_then_export_gives_back_the_seeds(run: CliRunner, tmp_path: Path, seeds_dir: Path) -> None:
    assert run.invoke(app, ["init"]).exit_code == 0
    result = run.invoke(app, ["import", str(seeds_dir)])
    assert result.exit_code == 0, result.output
    assert "created 5" in result.output
    out = tmp_path / "out"
    result = run.invoke(app, ["export", "--format", "seed", str(out)])
    assert result.exit_code == 0, result.output
    exported = {p.stem: p for p in out.rglob("*.md")}
    assert len(exported) == 5
    for seed in sorted(seeds_dir.glob("*.txt")):
        seed_yaml, seed_body = split_document(seed.read_text(encoding="utf-8"))
        md_name = str(yaml.safe_load(seed_yaml)["mdName"]).removesuffix(".md")
        path = exported[md_name]
        assert path.parent.relative_to(out).as_posix() in {
            "news",
            "communities/chronic-care-management/curated-content",
        }
        out_yaml, out_body = split_document(path.read_text(encoding="utf-8"))
        assert yaml.safe_load(out_yaml) == yaml.safe_load(seed_yaml), seed.name
        assert out_body == seed_body, seed.name
    again = run.invoke(app, ["export", "--format", "seed", str(out)])
    assert "0 written, 5 unchanged" in again.output


def test_bad_files_are_named_good_ones_imported(run: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text(
        (FIXTURES / "edge-cases.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    (folder / "plain.md").write_text("Just some notes, no front matter.\n", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    result = run.invoke(app, ["import", str(folder)])
    assert result.exit_code == 1
    assert "created 1" in result.output and "errors 3" in result.output
    assert "broken YAML" in result.output
    assert "no front matter" in result.output
    assert "binary file" in result.output
    listed = run.invoke(app, ["items", "list", "--json"])
    assert [row["title"] for row in json.loads(listed.stdout)] == [
        'Ransomware: what "zero trust" means --- for #hospitals'
    ]


def test_items_show_and_missing_item(run: CliRunner, seeds_dir: Path) -> None:
    run.invoke(app, ["import", str(seeds_dir)])
    shown = run.invoke(app, ["items", "show", "15771", "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["front_matter"]["mdName"].endswith(".md")
    missing = run.invoke(app, ["items", "show", "42"])
    assert missing.exit_code == 1 and "no item with id 42" in missing.output


def test_import_of_a_missing_path_fails_clearly(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(app, ["import", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_config_show(run: CliRunner) -> None:
    result = run.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {c["key"] for c in data["communities"]} == {"chronic-care-management", "news"}
    assert len(data["offerings"]) == 5
