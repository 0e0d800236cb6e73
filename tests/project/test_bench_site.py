"""The site benchmark runs end to end on a few items (its figures live in docs/benchmarks.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import paths

BENCH = paths.BENCH / "site.py"


@pytest.mark.skipif(shutil.which("hugo") is None, reason="Debian's hugo is not installed (make system-deps)")
def test_site_benchmark_builds_with_both_tools_and_rebuilds(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "30", "--repeat", "1", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 30 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["medcurate", "hugo"]
    assert all(float(row.split("|")[5].replace(",", "")) > 0 for row in rows)  # peak RSS measured
    assert "one item changed" in result.stdout and "nothing changed" in result.stdout
    assert not list(tmp_path.iterdir())  # the benchmark cleans up after itself
