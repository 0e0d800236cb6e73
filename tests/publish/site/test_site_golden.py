"""The built site of a fixed small store equals, byte for byte, the checked-in golden tree.

A change that alters any page shows here as a diff of ``tests/golden/site``: regenerate it with
``make golden`` and review the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

from goldensite import GOLDEN, build_golden
from sitesupport import site_files


def test_the_golden_store_builds_the_golden_tree(tmp_path: Path) -> None:
    build_golden(tmp_path / "site")
    built, golden = site_files(tmp_path / "site"), site_files(GOLDEN)
    differing = sorted(path for path in built.keys() | golden.keys() if built.get(path) != golden.get(path))
    assert not differing, (
        f"{len(differing)} files differ from tests/golden/site (make golden): {differing[:10]}"
    )
    assert len(golden) > 150  # every kind of page, numbered listing pages included
