"""The house rules of the import graph and names: layers hold, no cycle, no private name crosses modules,
one public name per thing.

The layers are import-linter contracts in pyproject.toml (``lint-imports`` runs them by hand): shells
(``cli``, ``web``) on top, then where jobs run, the sequencer (``pipeline``, ``batchrun``), the stages
(``ingest``, ``extract``, ``dedupe``, ``drafts``, ``suggest``, ``intel``, ``publish``, ...), ``store``,
and the domain (``models``, ``errors``) at the bottom; no stage imports a shell. Cycles are found
with grimp on the whole graph, lazy imports inside functions included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

from paths import ROOT

PACKAGE = ROOT / "src" / "medcurate"

# Cycles known and owned elsewhere. Each entry names who removes it.
KNOWN_CYCLES: list[frozenset[str]] = []
# Public names defined in two modules, known and owned elsewhere (each entry: who renames it). The
# command modules' conventions (``register``, ``*_command``, ``main``) and the demo's scripts aside.
KNOWN_NAME_CLASHES: dict[str, str] = {}
# Private names imported across modules, known and owned elsewhere.
KNOWN_PRIVATE_IMPORTS: set[str] = set()


def _imports_of(graph: grimp.ImportGraph, module: str) -> Iterator[str]:
    return iter(sorted(graph.find_modules_directly_imported_by(module)))


def _cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [
            (root, iter(sorted(graph.find_modules_directly_imported_by(root))))
        ]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, _imports_of(graph, child)))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_layer_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("medcurate", exclude_type_checking_imports=True)
    cycles = [sorted(c) for c in _cycles(graph) if c not in KNOWN_CYCLES]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    assert _cycles(graph) == [frozenset({"pkg.a", "pkg.b"})]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_another_modules_private_names() -> None:
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("medcurate"):
                continue
            if node.module == own:
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            crossings += [f"{own} imports {node.module}.{name}" for name in private]
    assert [c for c in crossings if c not in KNOWN_PRIVATE_IMPORTS] == []


def test_one_public_name_per_thing() -> None:
    homes: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in {"cli", "data", "migrations"}:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            named = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            if named and not node.name.startswith("_"):
                homes.setdefault(node.name, []).append(str(relative))
    clashes = {name: where for name, where in homes.items() if len(where) > 1}
    assert sorted(set(clashes) - set(KNOWN_NAME_CLASHES)) == [], clashes


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small_enough_to_read() -> None:
    """No module over 500 lines (migrations aside), no function over 60: split by job instead."""
    too_long: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE).as_posix()
        if (lines := source.count("\n")) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}(): {length} lines")
    assert not too_long, "too long to read at once:\n" + "\n".join(too_long)
