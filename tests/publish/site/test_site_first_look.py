"""The site on first look: the menu links to every community, so every community has its page, even empty."""

from __future__ import annotations

from pathlib import Path

import paths
from medcurate.config import load_config
from medcurate.frontmatter import read_document
from medcurate.publish.site import SiteItem, build_site
from sitesupport import site_files

FIXTURES = paths.FIXTURES / "publish" / "items"
COMMUNITY_PAGE = "communities/chronic-care-management/curated-content/index.html"
SENTENCE = "Nothing is published in"


def _items(with_community: bool) -> list[SiteItem]:
    items = [read_document(p) for p in sorted(FIXTURES.glob("*.md"))]
    kept = [i for i in items if with_community or "chronic-care" not in str(i.fields.base_path)]
    return [SiteItem(item=i) for i in kept]


def test_a_community_without_items_has_its_page_and_it_fills_and_empties(tmp_path: Path) -> None:
    config = load_config(None)
    out = tmp_path / "site"
    build_site(_items(with_community=False), out, config=config)
    page = (out / COMMUNITY_PAGE).read_text(encoding="utf-8")
    assert SENTENCE in page and "Chronic Care" in page
    assert 'href="/communities/chronic-care-management/curated-content/index.xml"' not in page, "no feed yet"
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="/communities/chronic-care-management/curated-content/"' in home

    build_site(_items(with_community=True), out, config=config)  # incremental: its first item
    filled = (out / COMMUNITY_PAGE).read_text(encoding="utf-8")
    assert SENTENCE not in filled and "item-card" in filled

    build_site(_items(with_community=False), out, config=config)  # and its last one gone
    assert SENTENCE in (out / COMMUNITY_PAGE).read_text(encoding="utf-8")
    full = tmp_path / "full"
    build_site(_items(with_community=False), full, config=config)
    assert site_files(out) == site_files(full), "the incremental build equals a full one"
