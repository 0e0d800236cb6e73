"""What the static-site tests share: the publish fixtures and built trees read back."""

from __future__ import annotations

from pathlib import Path

from medcurate.frontmatter import read_document
from medcurate.models import CuratedItem
from paths import FIXTURES

PUBLISH_ITEMS = FIXTURES / "publish" / "items"
IMAGE = "11111111-1111-5111-8111-111111111111-featuredImage.jpeg"  # the community fixture's featured image


def fixture_items() -> list[CuratedItem]:
    """The four publish fixtures: community, news, bookmark and hostile items."""
    return [read_document(p) for p in sorted(PUBLISH_ITEMS.glob("*.md"))]


def site_files(root: Path) -> dict[str, bytes]:
    """Every file below ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
