"""An incremental build writes exactly the site a full build writes, whatever changed (a property test).

Hypothesis draws a sequence of editors' changes to a small site (add an item, edit a title, change
an item's topics, unpublish, delete, rename a community, move an item to another community); after
each change the site is brought up to date incrementally, and at the end it must equal, byte for
byte, a site built from nothing. Small pages (two items) put every change across page boundaries.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medcurate.config import SiteConfig, load_config
from medcurate.models import CuratedItem, Variant
from medcurate.publish.site import BuildReport, SiteItem, SiteOptions, build_site
from sitesupport import site_files

TOPICS = ["Cybersecurity", "Telehealth", "AI", "Staffing", "Imaging"]
BRANDS = ["example.com", "health.example.org", "news.example.net"]
COMMUNITIES = ["news", "ccm"]
OPTIONS = SiteOptions(page_size=2, feed_size=3)
START = datetime(2024, 1, 1, tzinfo=UTC)


def make_item(number: int, *, title: str | None = None, topics: list[str] | None = None) -> CuratedItem:
    """A news item; every fourth shares its slug with the one before, so two items claim one URL."""
    slug = f"story-{number - number % 4 if number % 4 == 1 else number}"
    front_matter = {
        "title": title or f"Story number {number}",
        "mdName": f"item-{number:03d}",
        "slug": slug,
        "basePath": "/news/",
        "date": (START + timedelta(hours=7 * number)).isoformat().replace("+00:00", "Z"),
        "description": f"What story {number} says.",
        "categories": topics if topics is not None else [TOPICS[number % 5], TOPICS[(number * 3) % 5]],
        "link": {"brand": BRANDS[number % 3], "href": f"https://{BRANDS[number % 3]}/a/{number}"},
        "aliases": [f"/old/story-{number % 6}/"],
    }
    return CuratedItem(
        front_matter=front_matter, body=f"<p>Body of story {number}.</p>", variant=Variant.NEWS_2022
    )


@dataclass
class Site:
    """The items a site publishes, each with its community, and the configuration."""

    items: dict[int, tuple[CuratedItem, str]] = field(default_factory=dict)
    config: SiteConfig = field(default_factory=lambda: load_config(None))
    next_number: int = 0

    def site_items(self) -> list[SiteItem]:
        return [
            SiteItem(item=item, key=item.md_name, community=community)
            for item, community in self.items.values()
        ]

    def build(self, out: Path, *, incremental: bool = True) -> BuildReport:
        options = replace(OPTIONS, incremental=incremental, state_file=out.parent / f".{out.name}.state")
        return build_site(self.site_items(), out, config=self.config, options=options)


def _community_key(config: SiteConfig, index: int) -> str:
    return config.communities[index % len(config.communities)].key


def apply(site: Site, change: tuple[str, int, int]) -> None:
    """Apply one editor's change; ``pick`` chooses the item, ``value`` what changes."""
    kind, pick, value = change
    numbers = sorted(site.items)
    if kind == "add" or not numbers:
        number = site.next_number
        site.next_number += 1
        site.items[number] = (make_item(number), _community_key(site.config, value))
        return
    number = numbers[pick % len(numbers)]
    item, community = site.items[number]
    if kind == "title":
        site.items[number] = (item.updated({"title": f"Retitled {value}"}), community)
    elif kind == "topics":
        chosen = [t for bit, t in enumerate(TOPICS) if value >> bit & 1]
        site.items[number] = (item.updated({"categories": chosen}), community)
    elif kind in ("unpublish", "delete"):
        del site.items[number]
    elif kind == "move":
        site.items[number] = (item, _community_key(site.config, value))
    elif kind == "rename":
        communities = list(site.config.communities)
        index = value % len(communities)
        communities[index] = communities[index].model_copy(update={"name": f"Community {value}"})
        site.config = site.config.model_copy(update={"communities": communities})


CHANGES = st.tuples(
    st.sampled_from(["add", "title", "topics", "unpublish", "delete", "move", "rename"]),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=31),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], report_multiple_bugs=False
)
@given(base=st.integers(min_value=0, max_value=9), changes=st.lists(CHANGES, min_size=1, max_size=5))
def test_an_incremental_build_equals_a_full_build(base: int, changes: list[tuple[str, int, int]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="medcurate-incremental-"))
    try:
        site = Site()
        for _ in range(base):
            apply(site, ("add", 0, site.next_number))
        site.build(root / "incremental")
        for change in changes:
            apply(site, change)
            site.build(root / "incremental")
        site.build(root / "full", incremental=False)
        assert site_files(root / "incremental") == site_files(root / "full")
    finally:
        shutil.rmtree(root)


def test_one_new_item_rewrites_few_files_of_a_paginated_site(tmp_path: Path) -> None:
    site = Site()
    for number in range(40):
        apply(site, ("add", 0, number))
    site.build(tmp_path / "site")
    apply(site, ("add", 0, 1))
    report = site.build(tmp_path / "site")
    # Its page, its alias, the archive's, community's, topics' and source's front pages (and the
    # page before a new full page), their feeds, the home page, term indexes, a search part and a
    # sitemap part: never every page of the 20-page archive.
    assert 0 < report.written <= 30, report
    assert report.removed == 0
