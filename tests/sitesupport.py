"""What the static-site tests share: builds that start as a new process would, built trees read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcurate.publish.site import build as site_build


def forget_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start as a new process would: no views in memory, no knowledge of the view cache."""
    monkeypatch.setattr(site_build, "_VIEW_CACHE", {})
    monkeypatch.setattr(site_build, "_ON_DISK", {})


def site_files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (the manifest included), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
