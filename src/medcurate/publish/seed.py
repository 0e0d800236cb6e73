"""Export items as seed-format Markdown files, laid out by each item's ``basePath``.

A file is named after the item's ``mdName`` (``<uuid>.md``) and written only when its text changed,
so re-exporting an unchanged store writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from medcurate.errors import PublishError
from medcurate.frontmatter import write_document
from medcurate.models import CuratedItem
from medcurate.rules import DEFAULT_SECTION
from medcurate.validation import contained_path, segment_problem


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    written: int
    unchanged: int
    paths: tuple[Path, ...]


def relative_path(item: CuratedItem) -> Path:
    """Where an item's file goes below the content root: its basePath, then ``<mdName>.md``."""
    base = (item.fields.base_path or "").strip("/")
    parts = [p for p in base.split("/") if p and p not in {".", ".."}] or [DEFAULT_SECTION]
    name = item.md_name or item.fields.slug
    if not name:
        raise PublishError(f"item {item.title!r} has neither mdName nor slug; cannot name its file")
    unsafe = segment_problem(name, what="mdName")
    if unsafe is not None:
        raise PublishError(f"item {item.title!r}: {unsafe}: refused, it would be written outside its folder")
    return Path(*parts) / f"{name}.md"


def export_seed(items: Iterable[CuratedItem], out_dir: Path) -> ExportReport:
    """Write each item as a seed-format Markdown file below ``out_dir``."""
    written = unchanged = 0
    paths: list[Path] = []
    for item in items:
        target = contained_path(out_dir, relative_path(item))
        try:
            changed = write_document(item, target)
        except OSError as exc:
            raise PublishError(f"cannot write {target}: {exc.strerror or exc}") from exc
        written += changed
        unchanged += not changed
        paths.append(target)
    return ExportReport(written=written, unchanged=unchanged, paths=tuple(paths))
