"""An item's URL fields, read from its front matter or in the store, equal what validation gives."""

from __future__ import annotations

from typing import Any

import pytest

from goldensite import golden_store
from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.publish.service import StoredItems
from medcurate.publish.site.views import url_fields


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
