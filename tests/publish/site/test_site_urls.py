"""An item's URL fields read from its front matter as it is equal what validating it gives."""

from __future__ import annotations

from typing import Any

import pytest

from medcurate.models import CuratedItem, Variant
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
