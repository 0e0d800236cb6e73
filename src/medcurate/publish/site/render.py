"""The site's Jinja environment and one renderer per kind of page: views in, bytes out.

One environment per build, from the one factory (``medcurate.templating``), with the site's own
templates first. Everything a page needs beyond its view is a plain global set before the first
template loads: the site's metadata, ``abs_url``, the navigation. The item page's schema.org
JSON-LD is made by one function (``item_json_ld_script``), so that another mapping can replace it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from medcurate.publish.jsonld import item_json_ld
from medcurate.publish.site.plan import Listing, Pager
from medcurate.publish.site.views import ItemView, NavLink, rfc822
from medcurate.templating import make_environment

TEMPLATES_PACKAGE_DIR = "publish/templates"
STATIC_URL = "/static/"
EPOCH = "1970-01-01T00:00:00Z"
BYTECODE_PATTERN = "medcurate-site-%s.cache"


@dataclass(frozen=True, slots=True)
class SiteMeta:
    """What every page knows about the site (a Jinja global)."""

    title: str
    base_url: str
    language: str
    nav: tuple[NavLink, ...]
    static_url: str = STATIC_URL

    def absolute(self, path: str) -> str:
        """The absolute URL of a site path; absolute URLs pass through."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url.rstrip('/')}{path}"


def item_json_ld_script(meta: SiteMeta, item: ItemView) -> Markup:
    """The item page's schema.org JSON-LD, safe inside a script tag (keys sorted).

    Its type follows the item's source type (``medcurate.publish.jsonld``): ``NewsArticle`` by default,
    ``ScholarlyArticle`` with its identifiers for research, ``MedicalWebPage`` for patients' pages.
    """
    fields = {
        "headline": item.title,
        "description": item.description,
        "url": meta.absolute(item.url),
        "datePublished": item.date_iso,
        "author": list(item.authors),
        "keywords": [topic.label for topic in item.topics],
        "isBasedOn": item.source_url,
        "image": meta.absolute(item.image.src) if item.image else None,
    }
    return htmlsafe_json_dumps(item_json_ld(fields, item.facts), sort_keys=True)


def _isodate(moment: datetime | None) -> str:
    """RFC 3339 in UTC for Atom; the epoch for a feed with no dated item (never "now")."""
    if moment is None:
        return EPOCH
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _nav_html(links: Sequence[NavLink]) -> Callable[[str], Markup]:
    """``nav_html(url)``: the main navigation's items, the link to ``url`` marked as the current page.

    Rendered once per build for each page the navigation links to, and once for every other page.
    """

    def render(current: str | None) -> Markup:
        return Markup("").join(
            Markup('<li><a href="{}"{}>{}</a></li>\n').format(
                link.url, Markup(' aria-current="page"') if link.url == current else "", link.label
            )
            for link in links
        )

    marked = {link.url: render(link.url) for link in links if link.url}
    plain = render(None)

    def nav_html(current: str) -> Markup:
        return marked.get(current, plain)

    return nav_html


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Jinja's per-user cache of compiled templates, or None where it cannot be made.

    Compiling the site's templates costs a build 0.2 s, the better part of a one-item rebuild.
    Jinja's default directory (``<tmp>/_jinja2-cache-<uid>``, mode 0700, owner checked), not one
    beside the site: the cache holds code that is run, so only its owner may write it. Entries are
    keyed by template name and source checksum.
    """
    try:
        return FileSystemBytecodeCache(pattern=BYTECODE_PATTERN)
    except (OSError, RuntimeError):
        return None


class Renderer:
    """The build's Jinja environment and a method per kind of page."""

    def __init__(self, meta: SiteMeta, template_dirs: Sequence[Path]) -> None:
        env = make_environment(TEMPLATES_PACKAGE_DIR, overrides=template_dirs)
        env.globals["site"] = meta
        env.globals["abs_url"] = meta.absolute
        env.globals["nav_html"] = _nav_html(meta.nav)
        env.globals["article_json_ld"] = lambda item: item_json_ld_script(meta, item)
        env.globals["cards"] = self.cards
        env.globals["rss_items"] = self.rss_items
        env.globals["atom_entries"] = self.atom_entries
        env.filters["rfc822"] = rfc822
        env.filters["isodate"] = _isodate
        # A build is short-lived: each template is compiled once and its file never checked again.
        env.auto_reload = False
        env.bytecode_cache = _bytecode_cache()
        self.env: Environment = env
        self.meta = meta

    def page(self, template: str, **context: object) -> bytes:
        """Any page of the site, from its template and context."""
        return self.env.get_template(template).render(context).encode("utf-8")

    def template_sources(self) -> list[str]:
        """The name and source of every site template, for the site's digest."""
        loader = self.env.loader
        names = sorted(n for n in self.env.list_templates() if n.startswith("site/"))
        return [f"{n}\n{loader.get_source(self.env, n)[0]}" for n in names] if loader else []

    def item_page(self, view: ItemView) -> bytes:
        """An item's own page."""
        return self.page("site/item.html", item=view, url=view.url)

    def alias_page(self, view_url: str, title: str, alias: str) -> bytes:
        """A page at an item's former address that sends readers on to the item."""
        return self.page("site/alias.html", target=view_url, title=title, url=alias)

    def card(self, view: ItemView, heading: str = "h2") -> str:
        """An item's entry in a listing."""
        return self.env.get_template("site/_card.html").render(item=view, heading=heading)

    def cards(self, views: Sequence[ItemView], heading: str = "h2") -> Markup:
        """``cards(views, heading)``: the views' listing entries, in order."""
        return Markup("".join(self.card(view, heading) for view in views))

    def listing_page(self, listing: Listing, pager: Pager, cards: Sequence[str]) -> bytes:
        """One page of a listing, from its items' stored cards (newest first)."""
        return self.page(
            "site/list.html", listing=listing, pager=pager, cards=Markup("".join(cards)), url=pager.url
        )

    def _entries(self, template: str, views: Sequence[ItemView], updated: datetime | None) -> Markup:
        return Markup("".join(self.env.get_template(template).render(item=v, updated=updated) for v in views))

    def rss_items(self, views: Sequence[ItemView]) -> Markup:
        """``rss_items(views)``: a feed's RSS items."""
        return self._entries("site/_rss_item.xml", views, None)

    def atom_entries(self, views: Sequence[ItemView], updated: datetime | None = None) -> Markup:
        """``atom_entries(views, updated)``: a feed's Atom entries (``updated`` dates undated items)."""
        return self._entries("site/_atom_entry.xml", views, updated)

    def feeds(self, listing: Listing, views: Sequence[ItemView]) -> dict[str, bytes]:
        """A listing's RSS and Atom feeds by file name, dated by their newest item, never by now."""
        updated = max((v.published for v in views if v.published is not None), default=None)
        return {
            name: self.page(
                template, listing=listing, items=views, updated=updated, self_url=listing.url + name
            )
            for name, template in (("index.xml", "site/rss.xml"), ("atom.xml", "site/atom.xml"))
        }
