"""The docs keep in step with the code: every setting and command is in the README, and every module
the README's "How it is built" table and docs/architecture.md name exists."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.settings import Settings
from paths import ROOT

REPO = ROOT
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    missing = [name for name in Settings.names() if f"MEDCURATE_{name.upper()}" not in README]
    assert missing == [], f"document these settings in README.md: {missing}"


def _commands(group: typer.Typer, prefix: str = "medcurate") -> list[str]:
    names = [
        f"{prefix} {command.name or (command.callback.__name__ if command.callback else '')}"
        for command in group.registered_commands
    ]
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            names.extend(_commands(sub.typer_instance, f"{prefix} {sub.name}"))
    return names


def test_every_command_is_in_the_readme_tour() -> None:
    commands = _commands(app)
    assert len(commands) > 15
    missing = [c for c in commands if c not in README]
    assert missing == [], f"add these commands to the README's CLI tour: {missing}"


PACKAGE = ROOT / "src" / "medcurate"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
DOTTED_NAME = re.compile(r"\bmedcurate(?:\.[A-Za-z_]\w*)+")
SOURCE_PATH = re.compile(r"\bsrc/medcurate/[\w./-]+")


def _module_file(parts: list[str]) -> Path | None:
    """The file of ``medcurate.<parts>``: a module or a package's ``__init__``; None if neither."""
    base = PACKAGE.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _names_a_thing(dotted: str) -> bool:
    """A module or package of medcurate, or a name defined at the top of one."""
    parts = dotted.split(".")[1:]
    if _module_file(parts) is not None:
        return True
    owner = _module_file(parts[:-1])
    return owner is not None and parts[-1] in _top_level_names(owner)


def test_the_architecture_page_names_only_what_exists() -> None:
    named = sorted(set(DOTTED_NAME.findall(ARCHITECTURE)))
    assert len(named) > 30
    assert [name for name in named if not _names_a_thing(name)] == []
    paths = sorted(set(SOURCE_PATH.findall(ARCHITECTURE)))
    assert [p for p in paths if not (ROOT / p.rstrip(".")).exists()] == []


def test_the_architecture_page_names_every_package() -> None:
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert [p for p in packages if f"medcurate.{p}" not in ARCHITECTURE] == []


def _built_table() -> list[list[str]]:
    """The first cell's code spans of each row of the README's "How it is built" table."""
    section = README.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.findall(r"`([^`]+)`", row.split("|")[1]) for row in rows]


def test_the_readme_table_names_existing_modules() -> None:
    cells = [name for row in _built_table() for name in row]
    assert len(cells) > 15
    assert [name for name in cells if not (PACKAGE / name).exists()] == []
    packages = sorted(f"{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py"))
    assert [p for p in packages if not any(name.startswith(p) for name in cells)] == []


# The tour's commands that run offline in a second or two; the others fetch, serve or load the model.
TOUR_RUNS = ("init", "config", "import", "items", "extract", "export --format", "site build", "users add")


def _tour_commands() -> list[list[str]]:
    """The README tour's commands that ``TOUR_RUNS`` names, as argument lists (comments dropped)."""
    block = README.split("## A tour of the CLI", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        command = line.split(" | ", 1)[1] if " | medcurate " in line else line  # a password piped in
        if not any(command.startswith(f"medcurate {name}") for name in TOUR_RUNS):
            continue
        words = shlex.split(command.split(" && ")[0], comments=True)[1:]
        prompts = words[:2] == ["users", "add"] and "--password-stdin" not in words  # needs a terminal
        if not prompts:
            commands.append(words)
    return commands


@pytest.mark.slow
def test_the_readme_tour_runs_as_written_from_a_fresh_clone(
    demo_run: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = _tour_commands()
    assert [c[0] for c in commands][:3] == ["init", "config", "import"] and len(commands) >= 8
    assert ["import", "demo-home/export"] in commands, "the tour imports the project's own sample data"
    folder, _ = demo_run
    clone = tmp_path / "clone"  # the clone after `make demo`: its sources and demo-home/
    clone.mkdir()
    (clone / "src").symlink_to(REPO / "src")
    (clone / "demo-home").symlink_to(folder / "demo-home")
    monkeypatch.chdir(clone)
    env = {"MEDCURATE_HOME": str(tmp_path / "ccm")}
    for words in commands:
        stdin = "a long enough password\n" if "--password-stdin" in words else None
        result = CliRunner(env=env).invoke(app, words, input=stdin)
        assert result.exit_code == 0, f"medcurate {' '.join(words)}: {result.output}"
        if words[:2] == ["items", "list"]:
            assert "published" in result.output
