"""The build manifest: the input digest of every file the last build wrote.

It lives in the output directory (``.medcurate-manifest.json``) and is what makes builds incremental:
a page whose planned digest matches the recorded one (and whose file still exists) is neither
rendered nor written. Files the manifest lists but the new plan no longer has are removed, and only
those: a file medcurate never wrote is never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = ".medcurate-manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """Output path (relative, POSIX) to the digest of the inputs it was built from."""

    files: dict[str, str] = field(default_factory=dict)
    version: int = MANIFEST_VERSION


def load_manifest(out_dir: Path) -> Manifest:
    """The manifest of the last build, or an empty one (first build, other version, unreadable file)."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return Manifest()
    files = data.get("files")
    if not isinstance(files, dict):
        return Manifest()
    return Manifest(files={str(k): str(v) for k, v in files.items()})


def save_manifest(out_dir: Path, manifest: Manifest) -> bool:
    """Write the manifest when it differs from the one on disk; True when written."""
    text = json.dumps(
        {
            "version": manifest.version,
            "generator": "medcurate",
            "files": dict(sorted(manifest.files.items())),
        },
        indent=0,
        ensure_ascii=False,
    )
    path = out_dir / MANIFEST_NAME
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    tmp = path.with_name(f"{MANIFEST_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True
