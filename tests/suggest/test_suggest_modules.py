"""The suggest package's modules: no import cycle (lazy imports included), no private names shared."""

from __future__ import annotations

import ast
from pathlib import Path

import paths

PACKAGE = paths.PACKAGE / "suggest"
PREFIX = "medcurate.suggest."


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every ``from medcurate.suggest.X import ...`` in the module, at any depth: (X, names)."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            found.append((node.module.removeprefix(PREFIX), [alias.name for alias in node.names]))
    return found


def test_no_module_imports_another_module_s_private_names() -> None:
    private = [
        f"{path.stem} imports {name} from {module}"
        for path in PACKAGE.glob("*.py")
        for module, names in _imports(path)
        for name in names
        if name.startswith("_")
    ]
    assert not private


def test_the_modules_import_each_other_without_a_cycle() -> None:
    graph = {path.stem: {module for module, _ in _imports(path)} for path in PACKAGE.glob("*.py")}

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for target in sorted(graph.get(node, ())):
            if target == start:
                return (*seen, target)
            if target not in seen:
                found = cycle_from(start, target, (*seen, target))
                if found:
                    return found
        return None

    cycles = [cycle for name in graph if (cycle := cycle_from(name, name, (name,)))]
    assert not cycles, cycles
