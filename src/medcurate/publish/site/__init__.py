"""medcurate's own static site: item pages, listings, feeds, search, sitemap; incremental builds.

``build_site`` is the entry point (``build``, which names the stages and the module of each); it
never touches the database: ``medcurate.publish.service`` hands it the store's items as an
``ItemSource`` (``itemsource``).

The names below load their modules on first use, so that importing a light module of this package
(``serve``, whose port the CLI's start-up reads) does not load the build and Jinja.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medcurate.publish.site.build import DEFAULT_SITE_OPTIONS, BuildReport, SiteOptions, build_site
    from medcurate.publish.site.views import ItemView, SiteItem

__all__ = ["DEFAULT_SITE_OPTIONS", "BuildReport", "ItemView", "SiteItem", "SiteOptions", "build_site"]

_HOMES = {
    "DEFAULT_SITE_OPTIONS": "build",
    "BuildReport": "build",
    "SiteOptions": "build",
    "build_site": "build",
    "ItemView": "views",
    "SiteItem": "views",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
