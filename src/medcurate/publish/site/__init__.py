"""medcurate's own static site: item pages, listings, feeds, search, sitemap; incremental builds.

``build_site`` is the entry point; it never touches the database: ``medcurate.publish.service``
hands it the store's items as an ``ItemSource`` (``sources``).
"""

from __future__ import annotations

from medcurate.publish.site.build import (
    DEFAULT_SITE_OPTIONS,
    BuildReport,
    SiteOptions,
    build_site,
)
from medcurate.publish.site.views import ItemView, SiteItem

__all__ = ["DEFAULT_SITE_OPTIONS", "BuildReport", "ItemView", "SiteItem", "SiteOptions", "build_site"]
