"""A test that writes through the web app or the API reads the stored result back (issue #15).

A status code says the app answered, not that the change was kept (or, for a refused write, that
nothing changed). So every ``test_*`` function that POSTs, PATCHes, PUTs or DELETEs through an HTTP
client must also read back: a GET through a client, a store session (``database.session()``), or a
helper of the tests that opens one (``websupport.item_in_store`` and the like). The check is a scan
of the test files' syntax trees; it does not run them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from paths import TESTS

WRITES = frozenset({"post", "patch", "put", "delete"})
# Tests that write and rightly do not read back, each with the reason.
NO_READ_BACK = {
    "test_api_json_bodies_never_answer_5xx": "a property over random bodies (no 5xx); no one result to read",
}


def _is_client(node: ast.expr) -> bool:
    """An HTTP client: a TestClient or httpx client by name, ``httpx`` itself, Playwright's ``.request``."""
    if isinstance(node, ast.Name):
        return node.id in {"client", "httpx", "victim", "anonymous"} or node.id.endswith("client")
    return isinstance(node, ast.Attribute) and node.attr == "request"


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _method(call: ast.Call) -> str | None:
    """The method an HTTP client is called with, or None when the call is not on a client."""
    func = call.func
    if isinstance(func, ast.Attribute) and _is_client(func.value):
        return func.attr
    return None


def _opens_a_session(tree: ast.AST) -> bool:
    return any(isinstance(c.func, ast.Attribute) and c.func.attr == "session" for c in _calls(tree))


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(TESTS.rglob("*.py"))}


def _read_back_helpers(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of the tests' helper functions that read the store (they open a session)."""
    return {
        node.name
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("test_") and _opens_a_session(node)
    }


def _reads_back(test: ast.FunctionDef, helpers: set[str]) -> bool:
    for call in _calls(test):
        if _method(call) == "get" or (isinstance(call.func, ast.Name) and call.func.id in helpers):
            return True
    return _opens_a_session(test)


def test_every_web_write_test_reads_the_stored_result_back() -> None:
    trees = _trees()
    helpers = _read_back_helpers(trees)
    writing: list[str] = []
    unread: list[str] = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            if not any(_method(call) in WRITES for call in _calls(node)):
                continue
            writing.append(node.name)
            if node.name not in NO_READ_BACK and not _reads_back(node, helpers):
                unread.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    assert len(writing) >= 30, f"the scan found too few writing tests to be looking: {writing}"
    assert not unread, "tests that write over HTTP but never read the result back:\n" + "\n".join(unread)


def test_the_scan_tells_a_status_only_test_from_one_that_reads_back() -> None:
    status_only = ast.parse(
        "def test_a(client):\n    assert client.patch('/api/items/1', json={}).status_code == 200\n"
    ).body[0]
    reads_back = ast.parse(
        "def test_b(client, site):\n"
        "    client.patch('/api/items/1', json={'title': 'x'})\n"
        "    assert item_in_store(site, 1).title == 'x'\n"
    ).body[0]
    assert isinstance(status_only, ast.FunctionDef) and isinstance(reads_back, ast.FunctionDef)
    assert not _reads_back(status_only, {"item_in_store"})
    assert _reads_back(reads_back, {"item_in_store"})
