"""What the static-site tests share: built trees read back."""

from __future__ import annotations

from pathlib import Path


def site_files(root: Path) -> dict[str, bytes]:
    """Every file below ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
