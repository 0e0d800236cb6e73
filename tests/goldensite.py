"""The golden site: a fixed small store built into a tree that is checked in (``tests/golden/site``).

The store holds the publish fixtures (a community item with a stored featured image, a news item,
a bookmark, a hostile item), the foundation's edge cases and 36 generated items that reach every
kind of page: numbered listing pages, communities, topics, sources, feeds, aliases (one shared by
two items, one on an item's own URL), two items that claim one URL, an undated item and one with a
Markdown body. ``make golden`` writes the tree again; review its diff before committing it.

Run: ``.venv/bin/python tests/goldensite.py tests/golden/site``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paths
from medcurate.frontmatter import read_document
from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.publish.service import publish_site
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import save_item
from paths import FIXTURES

GOLDEN = paths.GOLDEN / "site"
IMAGES = FIXTURES / "publish" / "images"
TOPICS = ["Cybersecurity", "Telehealth", "Artificial intelligence", "Staffing", "Imaging", "Policy"]
BRANDS = ["example.com", "health.example.org", "news.example.net", "journal.example"]
COMMUNITIES = [
    (None, "/news/"),
    ("chronic-care-management", "/communities/chronic-care-management/curated-content/"),
]
GENERATED = 36
PAGE_SIZE = 4


def generated_item(number: int) -> CuratedItem:
    """One generated news item; a few of them are odd on purpose."""
    community_base = COMMUNITIES[number % 2][1]
    front_matter: dict[str, object] = {
        "title": f"Generated story {number}: {TOPICS[number % 6].lower()} & more",
        "mdName": f"gen-{number:03d}",
        "slug": "shared-slug" if number in (7, 9) else f"generated-story-{number}",
        "basePath": community_base,
        "date": (datetime(2023, 5, 1, tzinfo=UTC) + timedelta(hours=13 * number)).isoformat(),
        "description": f"What generated story {number} is about.",
        "author": [f"Curator {number % 3}"],
        "categories": [TOPICS[number % 6], TOPICS[(number * 5 + 1) % 6]][: 1 + number % 2],
        "link": {"brand": BRANDS[number % 4], "href": f"https://{BRANDS[number % 4]}/articles/{number}"},
    }
    if number % 5 == 0:
        front_matter["aliases"] = [f"/old/generated-{number}/", "/old/shared-alias/"]
    if number == 11:
        front_matter["aliases"] = "/news/generated-story-12/"  # another item's own URL: no alias page
    if number == 13:
        del front_matter["date"]
    body = f"<p>Generated brief {number}, with <em>emphasis</em>.</p>"
    variant = Variant.NEWS_2022
    if number == 17:
        body = f"Generated brief {number} in **Markdown**, with a [link](https://example.com/{number})."
    return CuratedItem(front_matter=front_matter, body=body, variant=variant)


def golden_items() -> list[tuple[CuratedItem, str, str | None]]:
    """Every item of the golden store, with its key and community."""
    fixtures = [
        *sorted((FIXTURES / "publish" / "items").glob("*.md")),
        FIXTURES / "foundation" / "edge-cases.md",
    ]
    items: list[tuple[CuratedItem, str, str | None]] = []
    for n, path in enumerate(fixtures):
        items.append((read_document(path), f"fixture-{n}", "chronic-care-management" if n == 1 else None))
    for number in range(GENERATED):
        items.append((generated_item(number), f"gen-{number:03d}", COMMUNITIES[number % 2][0]))
    return items


@contextmanager
def golden_store() -> Iterator[tuple[Settings, Database]]:
    """A data directory holding the golden store (and its images), and the store, open."""
    with tempfile.TemporaryDirectory(prefix="medcurate-golden-") as work:
        home = Path(work)
        (home / "config.toml").write_text(f"[publishing]\npage_size = {PAGE_SIZE}\n", encoding="utf-8")
        settings = Settings(home=home, config_file=home / "config.toml")
        shutil.copytree(IMAGES, settings.images_dir)
        database = open_database(settings.database)
        try:
            with database.session() as session:
                for item, key, community in golden_items():
                    save_item(
                        session,
                        item=item,
                        md_name=key,
                        url_key=key,
                        state=ItemState.PUBLISHED,
                        community=community,
                    )
            yield settings, database
        finally:
            database.dispose()


def drop_state(out: Path) -> None:
    """Remove the build state beside ``out``."""
    for suffix in ("", "-wal", "-shm"):
        (out.parent / f".{out.name}.medcurate-state.sqlite{suffix}").unlink(missing_ok=True)


def build_golden(out: Path) -> None:
    """Build the golden store's site into ``out`` (emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    with golden_store() as (settings, database):
        publish_site(database, settings, out_dir=out)
    drop_state(out)


if __name__ == "__main__":
    build_golden(Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN)
