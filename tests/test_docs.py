"""The README keeps in step with the code: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from medcurate.cli import app
from medcurate.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


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
