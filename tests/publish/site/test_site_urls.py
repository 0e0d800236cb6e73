"""An item's URL fields, read from its front matter or in the store, equal what validation gives."""

from __future__ import annotations

from typing import Any

import pytest

from goldensite import golden_store
from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.publish.service import StoredItems
from medcurate.publish.site.views import url_fields
from medcurate.store.db import Database
from medcurate.store.published import item_url_fields
from medcurate.store.repository import save_item


@pytest.mark.parametrize(
    "matter",
    [
        {"basePath": "/news/", "slug": "a-story", "mdName": "abc.md"},
        {"basePath": "news"},
        {},
        {"base_path": "/snake/", "md_name": "x.md"},  # the field names, which validation accepts too
        {"basePath": "/alias/", "base_path": "/name/"},  # the alias wins
        {"basePath": None, "slug": None},
        {"slug": 12, "mdName": 3.5},  # numbers: validation makes them text
    ],
)
def test_url_fields_equal_the_validated_fields(matter: dict[str, Any]) -> None:
    item = CuratedItem(front_matter={"title": "T", **matter}, body="", variant=Variant.NEWS_2022)
    validated = CuratedItem(front_matter=item.front_matter, body="", variant=Variant.NEWS_2022).fields
    assert url_fields(item) == (validated.base_path, validated.slug, validated.md_name)


def test_the_store_reads_the_url_fields_that_validation_gives() -> None:
    with golden_store() as (_settings, database):
        source = StoredItems(database, [ItemState.PUBLISHED])
        keys = [revision.key for revision in source.revisions()]
        read = source.url_fields(keys)
        for site_item, _ in source.load(keys):
            assert site_item.key is not None
            assert read[site_item.key] == url_fields(site_item.item), site_item.key
        assert source.for_workers() is not None


def test_the_store_reads_url_fields_on_either_backend(database: Database) -> None:
    matters = [
        {"basePath": "/news/", "slug": "a-story", "mdName": "one.md"},
        {"base_path": "/snake/", "md_name": "two.md"},
        {"basePath": None},
        {"title": "only a title"},
    ]
    with database.session() as session:
        for number, matter in enumerate(matters):
            item = CuratedItem(
                front_matter={"title": f"T{number}", **matter}, body="Body.", variant=Variant.NEWS_2022
            )
            save_item(session, item=item, md_name=f"k{number}", url_key=None, state=ItemState.PUBLISHED)
    read = item_url_fields(database, keys=[f"k{n}" for n in range(len(matters))])
    assert read["k0"] == ("/news/", "a-story", "one.md")
    assert read["k1"] == ("/snake/", None, "two.md")
    assert read["k2"] == (None, None, None)
    assert read["k3"] == (None, None, None)
