"""Where the suite finds the repository, its fixtures and the shared corpora, wherever a test file sits.

Tests live in folders that mirror ``src/medcurate``; a path computed from a test's own ``__file__``
would change with its depth, so every test takes these instead.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
SHARED = ROOT.parent / "shared"
ARTIFACTS = ROOT / "test-artifacts"
BENCH = ROOT / "bench"
PACKAGE = ROOT / "src" / "medcurate"
