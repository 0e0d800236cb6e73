"""The build manifest: the input digest of every file the last build wrote.

It lives in the output directory (``.medcurate-manifest.json``) and is what makes builds incremental:
a page whose planned digest matches the recorded one (and whose file still exists) is neither
rendered nor written. Files the manifest lists but the new plan no longer has are removed, and only
those: a file medcurate never wrote is never deleted.

The view cache beside the site (``viewcache``) and the plan state beside it (``replan``) keep
what the next build reuses; the manifest says what the last build wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = ".medcurate-manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """Output path (relative, POSIX) to the digest of the inputs it was built from.

    ``inputs`` is the digest of everything the whole build was made from (every item's fingerprint,
    in order, and the site's shared inputs): a build whose inputs match it, with every file still
    there, has nothing to do. ``items`` and ``warnings`` are what that build reported.
    """

    files: dict[str, str] = field(default_factory=dict)
    version: int = MANIFEST_VERSION
    inputs: str = ""
    items: int = 0
    warnings: tuple[str, ...] = ()


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
    pages = {str(k): str(v) for k, v in files.items()}
    inputs, items, warnings = data.get("inputs"), data.get("items"), data.get("warnings")
    if isinstance(inputs, str) and isinstance(items, int) and isinstance(warnings, list):
        return Manifest(files=pages, inputs=inputs, items=items, warnings=tuple(str(w) for w in warnings))
    return Manifest(files=pages)  # no readable summary: builds stay incremental, page by page


def save_manifest(out_dir: Path, manifest: Manifest) -> None:
    """Write the manifest (to a temporary file first, so that a reader never sees half of one)."""
    text = json.dumps(
        {
            "version": manifest.version,
            "generator": "medcurate",
            "inputs": manifest.inputs,
            "items": manifest.items,
            "warnings": list(manifest.warnings),
            "files": dict(sorted(manifest.files.items())),
        },
        # One entry a line, as ``indent=0`` would lay it out, but through the C encoder: ``indent`` makes
        # json use its pure-Python encoder, 20,000 entries at a time.
        separators=(",\n", ": "),
        ensure_ascii=False,
    )
    path = out_dir / MANIFEST_NAME
    tmp = path.with_name(f"{MANIFEST_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
