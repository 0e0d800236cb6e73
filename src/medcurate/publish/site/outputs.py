"""The outputs made of many items' rows: search index parts, sitemaps, alias pages; and fixed files.

Search index parts and item sitemaps are cut by the items' hash buckets (``plan.parts_for``): a
change rewrites the part of each item it reached, unless the number of parts changed with the
site's size (a power of two: rare), when every part is rewritten. Sitemaps follow the protocol:
no file over 50,000 URLs (parts stay under ``SITEMAP_URLS_PER_PART``), and ``/sitemap.xml`` is a
sitemap index naming the parts. Alias pages are re-examined for the paths a change reached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import partial

from medcurate.publish.site.context import BuildContext
from medcurate.publish.site.index import ITEMS_PER_PART, SEARCH_DIR, part_path, search_manifest, search_part
from medcurate.publish.site.itempages import Reach
from medcurate.publish.site.listings import listing_front_urls
from medcurate.publish.site.parallel import PageJob
from medcurate.publish.site.plan import file_of, joined_digest, part_of, part_range, parts_for

SITEMAP_URLS_PER_PART = 10_000  # the protocol allows 50,000: smaller parts keep a rewrite cheap
SITEMAP_PAGES = "sitemap-pages.xml"
STATIC_URL = "/static/"
# Paths an alias page may not take: the site's own pages live there.
RESERVED = ("/topic/", "/source/", "/archive/", "/search/", "/communities/", "/static/", "/page/")


def sitemap_part_name(number: int) -> str:
    """The file name of one part of the item sitemap."""
    return f"sitemap-items-{number:04d}.xml"


class Outputs:
    """Writes the search index, the sitemaps, alias pages and fixed files through one build's context."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx

    def write_all(self, static: Mapping[str, bytes]) -> None:
        """Every output of this module but the alias pages (a full build: ``write_aliases(None)``)."""
        self.write_search(None)
        self.write_sitemaps(None)
        self.write_fixed(static)

    def write_reached(self, reach: Reach, static: Mapping[str, bytes]) -> None:
        """The outputs a change reached."""
        self.write_search(reach.buckets)
        self.write_sitemaps(reach.buckets)
        self.write_aliases(reach.paths)
        self.write_fixed(static)

    def _parts(self, name: str, per_part: int, buckets: Iterable[int] | None) -> tuple[int, list[int]]:
        """The bits that number ``name``'s parts now, and the parts to write (all when the bits changed)."""
        state = self.ctx.state
        bits = parts_for(state.item_count(), per_part)
        if buckets is None or state.meta(f"{name}-bits") != str(bits):
            state.set_meta(f"{name}-bits", str(bits))
            return bits, list(range(1 << bits))
        return bits, sorted({part_of(bucket, bits) for bucket in buckets})

    def write_search(self, buckets: Iterable[int] | None) -> None:
        """The search index's parts that hold ``buckets`` (all when None), and its manifest."""
        ctx = self.ctx
        bits, numbers = self._parts("search", ITEMS_PER_PART, buckets)
        for number in numbers:
            data = search_part(row for (row,) in ctx.state.bucket_rows(*part_range(number, bits), "search"))
            ctx.emit(part_path(number), bytes_digest(data), "search", partial(bytes, data), number)
        ctx.drop_owned("search", 1 << bits)
        manifest = search_manifest(1 << bits)
        ctx.emit(f"{SEARCH_DIR}/index.json", bytes_digest(manifest), "search-index", lambda: manifest)

    def write_sitemaps(self, buckets: Iterable[int] | None) -> None:
        """The item sitemap's parts that hold ``buckets`` (all when None), the pages' and the index."""
        ctx = self.ctx
        render = ctx.renderer.page
        bits, numbers = self._parts("sitemap", SITEMAP_URLS_PER_PART, buckets)
        for number in numbers:
            rows = sorted(ctx.state.bucket_rows(*part_range(number, bits), "url, lastmod"))
            digest = joined_digest(ctx.site_digest, "sitemap", *(f"{u} {m}" for u, m in rows))
            ctx.emit(
                sitemap_part_name(number),
                digest,
                "sitemap",
                partial(render, "site/sitemap.xml", urls=rows),
                number,
            )
        ctx.drop_owned("sitemap", 1 << bits)
        newest = max((row.newest for row in ctx.state.listings("archive")), default="")
        fixed = [("/", newest), ("/communities/", ""), ("/topic/", ""), ("/source/", ""), ("/search/", "")]
        pages = sorted([*fixed, *listing_front_urls(ctx.state.listings())])
        digest = joined_digest(ctx.site_digest, "sitemap-pages", *(f"{u} {m}" for u, m in pages))
        ctx.emit(SITEMAP_PAGES, digest, "sitemap-pages", lambda: render("site/sitemap.xml", urls=pages))
        parts = [SITEMAP_PAGES, *(sitemap_part_name(n) for n in range(1 << bits))]
        digest = joined_digest(ctx.site_digest, "sitemap-index", *parts)
        ctx.emit(
            "sitemap.xml",
            digest,
            "sitemap-index",
            lambda: render("site/sitemap-index.xml", parts=[f"/{p}" for p in parts]),
        )

    def write_aliases(self, paths: Iterable[str] | None) -> None:
        """The alias pages of ``paths`` (every alias when None): made, replaced or removed."""
        ctx = self.ctx
        state = ctx.state
        wanted = None if paths is None else sorted(p for p in paths if p)
        made: set[str] = set()
        for path, target, title in state.alias_pages(wanted):
            if target is None or path == "/" or path.startswith(RESERVED):
                continue
            made.add(path)
            digest = joined_digest(ctx.site_digest, "alias", target, title.replace("\n", " "))
            job = PageJob(file_of(path), "alias_page", (target, title, path))
            ctx.emit_page(digest, f"alias:{path}", job)
        for path in wanted or ():
            if path not in made:
                ctx.drop_owned(f"alias:{path}")

    def write_fixed(self, static: Mapping[str, bytes]) -> None:
        """The stylesheet and scripts, the search page, the 404 page and robots.txt."""
        ctx = self.ctx
        for name, data in sorted(static.items()):
            ctx.emit(file_of(STATIC_URL, name), bytes_digest(data), "static", partial(bytes, data))
        render = ctx.renderer.page
        for path, template, url in (
            ("search/index.html", "site/search.html", "/search/"),
            ("404.html", "site/404.html", "/404.html"),
            ("robots.txt", "site/robots.txt", ""),
        ):
            ctx.emit(
                path,
                joined_digest(ctx.site_digest, path),
                "fixed",
                partial(render, template, url=url),
            )


def bytes_digest(data: bytes) -> str:
    """The digest of a file made before it is compared (a search part, the static files)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
