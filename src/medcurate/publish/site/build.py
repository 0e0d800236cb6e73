"""Build medcurate's own static site from items: pure of the database, incremental by manifest.

The stages, in order:

1. digest the site's inputs that every page shares (templates, static files, configuration, options)
   and fingerprint every item from its revision (``sources``: an item's content is read only when
   its view must be made); when all of it matches the last build's and its files are all there,
   stop: there is nothing to do;
2. when only a few items changed, and in place (``replan``), plan only the outputs that show them,
   from the last plan's shape and the views of the view cache;
3. otherwise give every item its URL and its cleaned view (``views.make_view``), newest first: from
   this process's memory, else from the view cache beside ``out_dir`` (``viewcache``), else made
   (by this process and a forked helper for many); then plan every output (``pages``): home,
   listings with pagination, item and alias pages, term indexes, RSS and Atom feeds, search page
   and index, sitemap, robots.txt, 404, static files, images;
4. compare each output's input digest with the manifest and render only the pages that changed,
   with forked helpers taking parts of the item pages of a large build, writing the search index,
   static files and the view cache meanwhile;
5. remove the outputs the plan no longer has, and save the manifest and the plan's shape.

The cycle collector is paused for the build (see ``_cyclic_gc_paused``); compiled templates come
from Jinja's bytecode cache (``_bytecode_cache``). A build that writes many files from one rendering
process has a writer process create them while it renders (``output``). Helpers are forked only where that is
safe and pays (``parallel.helper_count``): never in a process with other threads.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from medcurate.config import SiteConfig
from medcurate.errors import PublishError
from medcurate.models import CuratedItem
from medcurate.publish.jsonld import item_json_ld
from medcurate.publish.site.manifest import Manifest, load_manifest, save_manifest
from medcurate.publish.site.output import DirectWriter, FileWriter, open_writer
from medcurate.publish.site.pages import (
    Listing,
    PageSpec,
    feed_pages,
    file_of,
    group_listings,
    home_page,
    item_pages,
    joined_digest,
    listing_pages,
    site_listings,
    term_index,
)
from medcurate.publish.site.parallel import PartQueue, fork_helper, helper_count, join_all
from medcurate.publish.site.replan import (
    NotReplannable,
    PlanState,
    affected_pages,
    load_plan_state,
    match_changes,
    place_changes,
    plan_state,
    plan_state_path,
    save_plan_state,
    updated_state,
)
from medcurate.publish.site.search import (
    SEARCH_DIR,
    part_count,
    part_name,
    part_of,
    patched_part,
    search_manifest,
    search_part,
)
from medcurate.publish.site.sources import ItemRevision, ItemSource, ListedItems
from medcurate.publish.site.viewcache import ViewCache, view_cache_path
from medcurate.publish.site.views import (
    DIGEST_SIZE,
    ItemView,
    NavLink,
    Section,
    SiteItem,
    digest_of,
    item_section_dir,
    item_slug,
    make_view,
    resolve_section,
    rfc822,
    url_path,
    view_from_data,
    view_to_data,
)
from medcurate.publish.site.writer_process import check_inside
from medcurate.templating import make_environment

DEFAULT_FEED_SIZE = 20
DEFAULT_SEARCH_TEXT_CHARS = 1000
DEFAULT_WORKERS = 0  # 0: automatic (see ``parallel.helper_count``); 1: one process; N > 1: N processes
PARALLEL_THRESHOLD = 400  # pages to render before forking a helper pays for itself
# Views to make before forking a helper pays for itself: its rows must be decoded here, and both
# processes copy the pages of the items they touch. A cold build on two cores: 1,000 items 0.56 s
# alone, 0.62 s with a helper; 10,000 items 3.3 s with one, 3.4 s alone.
VIEW_PARALLEL_THRESHOLD = 4000
GONE_CHECK_THRESHOLD = 2000  # files of the last build to check before a helper pays for itself
RENDER_PART_PAGES = 40  # pages in one part of the helpers' queue (see ``_render_all``)
# The pages forked helpers render: they show no item card, so the cards stay with this process.
HELPER_TEMPLATES = frozenset({"site/item.html", "site/alias.html"})
TEMPLATES_PACKAGE_DIR = "publish/templates"
STATIC_PACKAGE_DIR = "publish/static/site"
STATIC_URL = "/static/"
# Bump when a code change alters the output, so that existing sites rebuild in full.
OUTPUT_VERSION = "2"
EPOCH = "1970-01-01T00:00:00Z"
BYTECODE_PATTERN = f"medcurate-site-{OUTPUT_VERSION}-%s.cache"


@dataclass(frozen=True, kw_only=True)
class SiteOptions:
    """How to build: overrides of the configuration, sizes, where images and templates live."""

    base_url: str | None = None
    page_size: int | None = None
    feed_size: int = DEFAULT_FEED_SIZE
    search_text_chars: int = DEFAULT_SEARCH_TEXT_CHARS
    images_dir: Path | None = None
    template_dirs: tuple[Path, ...] = ()
    workers: int = DEFAULT_WORKERS
    incremental: bool = True
    view_cache: Path | None = None  # None: a hidden file beside out_dir (``manifest.view_cache_path``)


DEFAULT_SITE_OPTIONS = SiteOptions()


@dataclass(frozen=True)
class BuildReport:
    """What a build did: files written, left alone and removed, out of how many."""

    written: int
    unchanged: int
    removed: int
    files: int
    items: int
    seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class SiteMeta:
    """What every page knows about the site (a Jinja global)."""

    title: str
    base_url: str
    language: str
    nav: tuple[NavLink, ...]
    static_url: str = STATIC_URL


@dataclass(frozen=True, slots=True)
class RawSpec:
    """An output that is not rendered: generated bytes, or a file copied from ``source``."""

    path: str
    digest: str
    data: bytes | None = None
    source: str | None = None
    make: Callable[[], bytes] | None = None


def _absolute(base_url: str) -> Callable[[str], str]:
    """A function from a site path to an absolute URL."""
    root = base_url.rstrip("/")

    def absolute(path: str) -> str:
        """The absolute URL of a site path; absolute URLs pass through."""
        return path if path.startswith(("http://", "https://")) else f"{root}{path}"

    return absolute


def _article_json_ld(absolute: Callable[[str], str], item: ItemView) -> Markup:
    """``article_json_ld(item)``: the item page's schema.org JSON-LD, safe in a script tag.

    Its type follows the item's source type (``medcurate.publish.jsonld``). Made here rather than
    with a dict literal and ``tojson`` in the template, which cost a fifth of an item page's
    rendering. Keys sorted, as ``tojson`` writes them.
    """
    fields = {
        "headline": item.title,
        "description": item.description,
        "url": absolute(item.url),
        "datePublished": item.date_iso,
        "author": list(item.authors),
        "keywords": [topic.label for topic in item.topics],
        "isBasedOn": item.source_url,
        "image": absolute(item.image.src) if item.image else None,
    }
    return htmlsafe_json_dumps(item_json_ld(fields, item.facts), sort_keys=True)


def _nav_renderer(links: Sequence[NavLink]) -> Callable[[str], Markup]:
    """``nav_html(url)``: the main navigation's items, the link to ``url`` marked as the current page.

    Rendered once per build for every page that is not itself in the navigation.
    """

    def render(current: str | None) -> Markup:
        return Markup("").join(
            Markup('<li><a href="{}"{}>{}</a></li>\n').format(
                link.url, Markup(' aria-current="page"') if link.url == current else "", link.label
            )
            for link in links
        )

    linked = {link.url for link in links}
    plain = render(None)

    def nav_html(url: str) -> Markup:
        return render(url) if url in linked else plain

    return nav_html


class _BuildEnvironment(Environment):
    """A Jinja environment whose globals are all set before its first template loads.

    Jinja lays each template's globals over the environment's as a ``ChainMap``, so that globals set
    later still show; every page then copies that map into its context, one Python-level lookup a
    name: 12 us a page, half of what an alias page takes to render. A build sets its globals once,
    before any template loads (``site_environment``), so one plain dict is the same map, copied in C.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The environment's globals overlaid with the template's own, as one dict."""
        return {**self.globals, **(d or {})}


def site_environment(meta: SiteMeta, template_dirs: Sequence[Path]) -> Environment:
    """The one Jinja environment of a build (templates compiled once, site globals set)."""
    env = make_environment(
        TEMPLATES_PACKAGE_DIR, overrides=template_dirs, environment_class=_BuildEnvironment
    )
    # A build is short-lived: compile each template once, never stat its file again per page.
    env.auto_reload = False
    env.bytecode_cache = _bytecode_cache()
    env.globals["site"] = meta
    absolute = _absolute(meta.base_url)
    env.globals["abs_url"] = absolute
    env.globals["article_json_ld"] = partial(_article_json_ld, absolute)
    env.globals["nav_html"] = _nav_renderer(meta.nav)
    env.filters["rfc822"] = rfc822
    env.filters["isodate"] = _isodate
    card = _card_renderer(env)
    env.globals["card"] = card
    env.globals["cards"] = partial(_cards, card)
    env.globals["rss_items"] = _feed_entries(env, "site/_rss_item.xml")
    env.globals["atom_entries"] = _feed_entries(env, "site/_atom_entry.xml")
    return env


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Jinja's per-user cache of compiled templates, or None where it cannot be made.

    Compiling the site's templates cost every new process 40 ms (4 ms from this cache).
    Jinja's default directory (``<tmp>/_jinja2-cache-<uid>``, mode 0700, owner checked) and not one
    beside the site: the cache holds code that is run, so only its owner may write it. Entries are
    keyed by template file and source checksum; the prefix keeps them apart from other users of
    that directory, which may compile the same files under other lexer settings.
    """
    try:
        return FileSystemBytecodeCache(pattern=BYTECODE_PATTERN)
    except (OSError, RuntimeError):
        return None


def _card_renderer(env: Environment) -> Callable[..., Markup]:
    """``card(view, heading)``: an item's listing entry, rendered once per build and process.

    An item shows on six listings or more (archive, community, each topic, its source, home), so
    rendering its card once instead of per listing saves a third of a cold build.
    """
    memo: dict[tuple[str, str], Markup] = {}

    def card(view: ItemView, heading: str = "h2") -> Markup:
        """The rendered card of ``view`` with an ``heading`` title."""
        key = (view.digest, heading)
        html = memo.get(key)
        if html is None:
            html = memo[key] = Markup(env.get_template("site/_card.html").render(item=view, heading=heading))
        return html

    return card


def _cards(card: Callable[..., Markup], views: Iterable[ItemView], heading: str = "h2") -> Markup:
    """``cards(views, heading)``: the views' cards in order, for a listing.

    One call from the template per page instead of one per item: a call from Jinja costs more than
    a card found among the rendered ones.
    """
    return Markup("".join([card(view, heading) for view in views]))


def _feed_entries(env: Environment, template: str) -> Callable[..., Markup]:
    """``rss_items(views)``, ``atom_entries(views, updated)``: a feed's entries, each rendered once per
    build and process.

    An item is in several feeds (the site's, its community's, each of its topics'): the 860 entries of
    the feeds of 1,000 items are 322 items. An entry shows the feed's date only when its item has none,
    so only then is the feed's date part of what it is rendered from.
    """
    memo: dict[tuple[str, datetime | None], Markup] = {}

    def entries(views: Iterable[ItemView], updated: datetime | None = None) -> Markup:
        """The rendered entries of ``views``, in order, in a feed dated ``updated``."""
        rendered = []
        for view in views:
            key = (view.digest, None if view.date_iso else updated)
            entry = memo.get(key)
            if entry is None:
                entry = memo[key] = Markup(env.get_template(template).render(item=view, updated=updated))
            rendered.append(entry)
        return Markup("".join(rendered))

    return entries


def _isodate(moment: datetime | None) -> str:
    """RFC 3339 in UTC for Atom; the epoch for a feed with no dated item (never "now")."""
    if moment is None:
        return EPOCH
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _static_files() -> dict[str, bytes]:
    """The site's stylesheet and scripts, shipped as package data."""
    root = resources.files("medcurate").joinpath(STATIC_PACKAGE_DIR)
    return {e.name: e.read_bytes() for e in root.iterdir() if e.is_file() and not e.name.startswith(".")}


def _site_digest(env: Environment, meta: SiteMeta, config: SiteConfig, options: SiteOptions) -> str:
    """The digest of everything every page depends on: change any of it and every page rebuilds."""
    loader = env.loader
    names = sorted(n for n in env.list_templates() if n.startswith("site/"))
    sources = [loader.get_source(env, n)[0] for n in names] if loader else []
    return digest_of(
        OUTPUT_VERSION,
        meta,
        names,
        sources,
        config.model_dump_json(),
        options.feed_size,
        options.search_text_chars,
        options.page_size,
    )


def _image_index(images_dir: Path | None) -> dict[str, str]:
    """Every stored image by file name: one directory listing for the whole build."""
    if images_dir is None or not images_dir.is_dir():
        return {}
    return {e.name: e.path for e in os.scandir(images_dir) if e.is_file()}


def _newest_first(view: ItemView) -> tuple[str, str]:
    return (view.date_iso, view.key)


# Views by item fingerprint, kept for the life of the process: a long-running process (the web app,
# a watch loop) rebuilds after one change without re-cleaning 10,000 unchanged items. A new process
# reads the same views from the view cache beside the site (``viewcache``).
_VIEW_CACHE: dict[str, ItemView] = {}
VIEW_CACHE_LIMIT = 100_000
FIXED_PAGES = frozenset({"/", "/communities/", "/topic/", "/source/", "/search/", "/archive/"})


def _fingerprint(revision: ItemRevision, context: str, images: Mapping[str, str]) -> str:
    """A digest of everything an item's view is made from (its stored image file included)."""
    name = revision.featured_image
    stored = images.get(name) if name is not None else None
    stamp = None
    if stored is not None:
        # The file's size and time too: an image replaced under the same name is copied again.
        with suppress(OSError):
            stat = os.stat(stored)
            stamp = (stat.st_size, stat.st_mtime_ns)
    head = (context, revision.key, revision.community, revision.revision, stored, stamp)
    return hashlib.blake2b(repr(head).encode("utf-8"), digest_size=DIGEST_SIZE).hexdigest()


# Which fingerprints each view cache holds, as last read or written by this process: a warm process
# then neither reads the cache for a view it cannot hold nor writes rows it already holds.
_ON_DISK: dict[tuple[str, str], frozenset[str]] = {}
# A rebuild plans only the pages of the changed items when no more than this share of them changed
# (100 of 10,000): past that, planning every page costs less than finding each changed item's pages.
PARTIAL_PLAN_SHARE = 0.01


@dataclass
class _ViewStore:
    """The view cache of a site: every row read on the first view the process's memory lacks."""

    cache: ViewCache
    rows: dict[str, str] | None = None
    shared: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # Rows already encoded by a helper that made the view (``_make_views``): written as they are.
    encoded: dict[str, str] = field(default_factory=dict)

    @property
    def _key(self) -> tuple[str, str]:
        return (str(self.cache.path), self.cache.context)

    def forget(self) -> None:
        """Use none of the cached views (a full build): every view is made and every row replaced."""
        self.rows = {}
        _ON_DISK.pop(self._key, None)

    def known(self) -> frozenset[str]:
        """The fingerprints the cache holds."""
        known = _ON_DISK.get(self._key)
        if known is None:
            known = _ON_DISK[self._key] = frozenset(
                self.rows if self.rows is not None else self.cache.fingerprints()
            )
        return known

    def get(self, fingerprint: str) -> ItemView | None:
        """The cached view of an item fingerprint, if the cache holds a readable one (all rows read)."""
        known = _ON_DISK.get(self._key)
        if known is not None and fingerprint not in known:
            return None
        if self.rows is None:
            self.rows = self.cache.rows()
            _ON_DISK[self._key] = frozenset(self.rows)
        return self._decode(self.rows.get(fingerprint))

    def fetch(self, fingerprint: str) -> ItemView | None:
        """The cached view of an item fingerprint, reading its row alone (a partial plan needs few)."""
        if self.rows is not None:
            return self.get(fingerprint)
        return self._decode(self.cache.row(fingerprint))

    def _decode(self, text: str | None) -> ItemView | None:
        if text is None:
            return None
        try:
            return view_from_data(orjson.loads(text), self.shared)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None  # a row of another shape: the view is made again

    def keep(self, views: Mapping[str, ItemView], *, replace_all: bool = False) -> None:
        """Make the cache hold exactly ``views`` (by fingerprint), writing only the rows it lacks."""
        known = frozenset() if replace_all else self.known()
        add = {f: self._text(f, v) for f, v in views.items() if f not in known}
        remove = [f for f in known if f not in views]
        if (add or remove or replace_all) and self.cache.update(add, remove, replace_all=replace_all):
            _ON_DISK[self._key] = frozenset(views)

    def swap(self, add: Mapping[str, ItemView], remove: Iterable[str]) -> None:
        """Add the views of changed items and delete the rows of their earlier versions."""
        rows = {f: self._text(f, v) for f, v in add.items()}
        gone = set(remove)
        if self.cache.update(rows, gone) and self._key in _ON_DISK:
            _ON_DISK[self._key] = (_ON_DISK[self._key] - gone) | frozenset(rows)

    def _text(self, fingerprint: str, view: ItemView) -> str:
        text = self.encoded.pop(fingerprint, None)
        return text if text is not None else _row_text(view)


def _row_text(view: ItemView) -> str:
    return orjson.dumps(view_to_data(view)).decode("utf-8")


@dataclass
class _Sections:
    """Each item's section and directory, resolved once per distinct (community, basePath, names)."""

    config: SiteConfig
    known_base: frozenset[str]
    memo: dict[tuple[object, ...], tuple[Section, tuple[str, ...], frozenset[str]]] = field(
        default_factory=dict
    )

    def of(self, site_item: SiteItem) -> tuple[Section, tuple[str, ...], frozenset[str]]:
        """The item's section, its directory and the site pages its breadcrumbs may link to."""
        item = site_item.item
        directory = item_section_dir(item)
        fields = item.fields
        key = (site_item.community, fields.base_path, fields.identifier, fields.mast_head, directory)
        found = self.memo.get(key)
        if found is None:
            section = resolve_section(site_item, self.config, directory)
            found = self.memo[key] = (section, directory, self.known_base | {section.url})
        return found


def _views(
    load: Callable[[Sequence[int]], list[SiteItem]],
    fingerprints: Sequence[str],
    config: SiteConfig,
    images: Mapping[str, str],
    store: _ViewStore | None = None,
    workers: int = DEFAULT_WORKERS,
) -> tuple[list[ItemView], list[str], dict[str, ItemView], list[str]]:
    """Every item's view, newest first, the warnings met on the way, the views by fingerprint, and
    the fingerprint of each view (in the views' order).

    An item's URL is ``/<basePath>/<slug>/``; when two items claim one, the item whose key sorts
    later gets the head of its key's digest appended, so the outcome never depends on input order.
    Views come from the process's memory, else from ``store`` (the view cache), else are made (by
    this process and, for many, forked helpers: ``_make_views``); ``load`` reads the items at the
    given positions, and only those whose views must be made are read.
    """
    if len(_VIEW_CACHE) > VIEW_CACHE_LIMIT:
        _VIEW_CACHE.clear()
    known_base = FIXED_PAGES | {url_path(*c.base_path.split("/")) for c in config.communities}
    sections = _Sections(config=config, known_base=known_base)
    found: list[ItemView | None] = []
    for fingerprint in fingerprints:
        view = _VIEW_CACHE.get(fingerprint)
        if view is None and store is not None:
            view = store.get(fingerprint)
        found.append(view)
    missing = [n for n, view in enumerate(found) if view is None]
    pending = list(zip(load(missing), (fingerprints[n] for n in missing), strict=True))
    made = _make_views(pending, sections, config, images, workers, store.encoded if store else None)
    for n, view in zip(missing, made, strict=True):
        found[n] = view
    entries: list[tuple[str, int, ItemView, str]] = []
    by_fingerprint: dict[str, ItemView] = {}
    for position, (fingerprint, maybe_view) in enumerate(zip(fingerprints, found, strict=True)):
        assert maybe_view is not None
        _VIEW_CACHE[fingerprint] = by_fingerprint[fingerprint] = maybe_view
        entries.append((maybe_view.key, position, maybe_view, fingerprint))
    entries.sort(key=lambda entry: entry[0])
    warnings: list[str] = []
    placed: list[tuple[ItemView, str]] = []
    keys: set[str] = set()
    taken: set[str] = set()
    for key, position, view, fingerprint in entries:
        if key in keys:
            warnings.append(f"item {key!r} appears twice; publishing the first")
            continue
        keys.add(key)
        if view.url in taken:
            view = make_view(
                load([position])[0],
                url=f"{view.url.rstrip('/')}-{digest_of(key)[:8]}/",
                section=view.section,
                config=config,
                images=images,
                known_pages=known_base | {view.section.url},
                source_digest=fingerprint,
            )
        taken.add(view.url)
        placed.append((view, fingerprint))
    placed.sort(key=lambda pair: _newest_first(pair[0]), reverse=True)
    return [view for view, _ in placed], warnings, by_fingerprint, [fingerprint for _, fingerprint in placed]


def _make_views(
    pending: Sequence[tuple[SiteItem, str]],
    sections: _Sections,
    config: SiteConfig,
    images: Mapping[str, str],
    workers: int,
    encoded: dict[str, str] | None = None,
) -> list[ItemView]:
    """The views of ``pending`` (item, fingerprint) pairs, in order.

    Past ``VIEW_PARALLEL_THRESHOLD`` views, forked helpers make a share each and send it back as
    view rows (the view cache's JSON, one line each), which this process reads in a third of the
    time making them takes. Those rows go into ``encoded`` by fingerprint, so that the view cache
    stores them without encoding them again.
    """

    def make(share: Sequence[tuple[SiteItem, str]]) -> list[ItemView]:
        views = []
        for site_item, fingerprint in share:
            section, directory, known = sections.of(site_item)
            views.append(
                make_view(
                    site_item,
                    url=url_path(*directory, item_slug(site_item)),
                    section=section,
                    config=config,
                    images=images,
                    known_pages=known,
                    source_digest=fingerprint,
                )
            )
        return views

    helpers = helper_count(workers, len(pending), VIEW_PARALLEL_THRESHOLD)
    if helpers == 0:
        return make(pending)
    shares = helpers + 1

    def make_share(index: int) -> Callable[[], bytes]:
        def work() -> bytes:
            # Compact JSON has no raw line break: one row a line.
            return "\n".join(_row_text(view) for view in make(pending[index::shares])).encode("utf-8")

        return work

    forked = [fork_helper(make_share(index)) for index in range(1, shares)]
    try:
        own = make(pending[0::shares])
    finally:
        results = join_all(forked)
    views: list[ItemView | None] = [None] * len(pending)
    views[0::shares] = own
    shared: dict[tuple[Any, ...], Any] = {}
    for index, result in enumerate(results, start=1):
        texts = result.decode("utf-8").split("\n") if result else []
        views[index::shares] = [view_from_data(orjson.loads(text), shared) for text in texts]
        if encoded is not None:
            encoded.update(
                zip((fingerprint for _, fingerprint in pending[index::shares]), texts, strict=True)
            )
    return [view for view in views if view is not None]


def plan_site(
    views: Sequence[ItemView], *, site_digest: str, page_size: int, options: SiteOptions, meta: SiteMeta
) -> tuple[list[PageSpec], list[tuple[Listing, bool]]]:
    """Every rendered page of the site, sitemap last; and its listings, each with whether it is paginated."""
    sections, topics, brands = group_listings(views)
    everything, archive = site_listings(views, meta.title)
    specs: list[PageSpec] = [
        home_page(views[:page_size], sections, topics, site_digest=site_digest),
        *item_pages(views, site_digest=site_digest),
        *listing_pages(archive, site_digest=site_digest, page_size=page_size),
        *feed_pages(everything, site_digest=site_digest, feed_size=options.feed_size),
    ]
    for listing in [*sections, *topics, *brands]:
        specs += listing_pages(listing, site_digest=site_digest, page_size=page_size)
        if listing.feeds:
            specs += feed_pages(listing, site_digest=site_digest, feed_size=options.feed_size)
    for kind, title, url, listings in (
        ("section", "Communities", "/communities/", sections),
        ("topic", "Topics", "/topic/", topics),
        ("source", "Sources", "/source/", brands),
    ):
        entries = [(NavLink(x.title, x.url), len(x.items)) for x in sorted(listings, key=lambda x: x.title)]
        specs.append(term_index(kind, title, url, entries, site_digest=site_digest))
    specs += [
        PageSpec(
            path="search/index.html",
            template="site/search.html",
            context={"url": "/search/"},
            digest=digest_of(site_digest, "search"),
            sitemap=True,
        ),
        PageSpec(path="404.html", template="site/404.html", context={"url": "/404.html"}, digest=site_digest),
        PageSpec(path="robots.txt", template="site/robots.txt", context={}, digest=site_digest),
    ]
    urls = [("/" + s.path.removesuffix("index.html"), s.lastmod) for s in specs if s.sitemap]
    specs.append(
        PageSpec(
            path="sitemap.xml",
            template="site/sitemap.xml",
            context={"urls": urls},
            digest=digest_of(site_digest, "sitemap", urls),
        )
    )
    shapes = [(everything, False), (archive, True), *((x, True) for x in [*sections, *topics, *brands])]
    return specs, shapes


def _raw_outputs(
    views: Sequence[ItemView], options: SiteOptions, site_digest: str, static: Mapping[str, bytes]
) -> list[RawSpec]:
    """The search index, static files and featured images."""
    parts = part_count(len(views))
    members: list[list[ItemView]] = [[] for _ in range(parts)]
    for view in views:
        members[part_of(view.key, parts)].append(view)
    manifest = search_manifest(parts).encode("utf-8")
    raws = [RawSpec(path=f"{SEARCH_DIR}/index.json", digest=digest_of(manifest), data=manifest)]
    for number, part in enumerate(members):
        raws.append(_search_part(number, part, site_digest, options.search_text_chars))
    for name, data in sorted(static.items()):
        raws.append(RawSpec(path=file_of(STATIC_URL, name), digest=digest_of(data), data=data))
    raws += filter(None, map(_image_output, views))
    return raws


def _image_output(view: ItemView) -> RawSpec | None:
    """The copy of the item's stored featured image beside its page, if it has one that exists."""
    image = view.image
    if image is None or image.source_file is None:
        return None
    try:
        stat = os.stat(image.source_file)
    except OSError:
        return None
    return RawSpec(
        path=image.src.lstrip("/"),
        digest=digest_of(image.source_file, stat.st_size, stat.st_mtime_ns),
        source=image.source_file,
    )


def _search_part(number: int, views: Sequence[ItemView], site_digest: str, text_chars: int) -> RawSpec:
    """One part of the search index; its JSON is made only when the part must be written."""
    return RawSpec(
        path=f"{SEARCH_DIR}/{part_name(number)}",
        digest=_search_part_digest(site_digest, text_chars, (v.digest for v in views)),
        make=lambda: search_part(views, text_chars=text_chars).encode("utf-8"),
    )


def _search_part_digest(site_digest: str, text_chars: int, view_digests: Iterable[str]) -> str:
    """The input digest of a search index part: every field of a row is covered by its view's digest."""
    return digest_of(site_digest, "search", text_chars, "".join(view_digests))


def _patched_search_parts(
    state: PlanState,
    changed: Mapping[int, ItemView],
    view_at: Callable[[int], ItemView],
    root: str,
    site_digest: str,
    text_chars: int,
) -> list[RawSpec]:
    """The search index parts that hold changed items, as a full plan would make them.

    Each is the part the last build wrote with the changed rows replaced: reading 300 rows back
    costs less than reading 300 views out of the view cache, which is what a part without a
    readable file on disk takes instead.
    """
    parts = part_count(len(state.keys))
    members: dict[int, list[int]] = {part_of(view.key, parts): [] for view in changed.values()}
    for position, key in enumerate(state.keys):
        number = part_of(key, parts)
        if number in members:
            members[number].append(position)
    raws = []
    for number, positions in sorted(members.items()):
        path = f"{SEARCH_DIR}/{part_name(number)}"
        digests = (changed[p].digest if p in changed else state.digests[p] for p in positions)

        def make(positions: list[int] = positions, path: str = path) -> bytes:
            changes = {index: changed[p] for index, p in enumerate(positions) if p in changed}
            try:
                with open(f"{root}/{path}", encoding="utf-8") as part:
                    text = patched_part(part.read(), len(positions), changes, text_chars=text_chars)
            except OSError:
                text = None
            if text is None:
                text = search_part([view_at(p) for p in positions], text_chars=text_chars)
            return text.encode("utf-8")

        digest = _search_part_digest(site_digest, text_chars, digests)
        raws.append(RawSpec(path=path, digest=digest, make=make))
    return raws


def _render_specs(env: Environment, specs: Sequence[PageSpec], writer: FileWriter) -> int:
    """Render pages and hand them to ``writer``; returns how many."""
    templates: dict[str, Any] = {}
    for spec in specs:
        template = templates.get(spec.template)
        if template is None:
            template = templates[spec.template] = env.get_template(spec.template)
        writer.write(spec.path, template.render(spec.context).encode("utf-8"))
    return len(specs)


def _render_all(
    env: Environment,
    specs: Sequence[PageSpec],
    root: str,
    helpers: int,
    writer: FileWriter,
    meanwhile: Callable[[], None],
) -> None:
    """Render every page: in this process alone, or with ``helpers`` forked helpers; then run
    ``meanwhile``.

    With helpers, the item and alias pages (half of a cold build's rendering) are cut into parts
    that the helpers take from a ``PartQueue``, each writing its own files, while this process
    renders the listings, feeds and the rest: those share the item cards, which this process
    renders once. Then this process takes parts too, until none is left: every process ends at
    about the same time, whatever the mix of pages.
    """
    if helpers == 0:
        _render_specs(env, specs, writer)
        meanwhile()
        return
    for template in {spec.template for spec in specs}:
        env.get_template(template)  # compiled once, before the fork, for every process
    own = [s for s in specs if s.template not in HELPER_TEMPLATES]
    dealt = [s for s in specs if s.template in HELPER_TEMPLATES]
    size = max(RENDER_PART_PAGES, -(-len(dealt) // PartQueue.capacity()))
    parts = [dealt[start : start + size] for start in range(0, len(dealt), size)]
    queue = PartQueue(len(parts))

    def render_parts(part_writer: FileWriter) -> None:
        for number in queue.take():
            _render_specs(env, parts[number], part_writer)

    def helper_work() -> bytes:
        share_writer = DirectWriter(root)
        render_parts(share_writer)
        share_writer.close()
        return b""

    try:
        forked = [fork_helper(helper_work) for _ in range(helpers)]
        try:
            _render_specs(env, own, writer)
            meanwhile()
            render_parts(writer)
        finally:
            join_all(forked)
    finally:
        queue.close()


def _write_raw(writer: FileWriter, raw: RawSpec) -> None:
    if raw.make is not None:
        writer.write(raw.path, raw.make())
    elif raw.data is not None:
        writer.write(raw.path, raw.data)
    elif raw.source is not None:
        writer.copy(raw.path, raw.source)


def _remove_stale(out_dir: Path, stale: Sequence[str]) -> None:
    """Delete outputs the plan dropped, then their directories if emptied."""
    for rel in stale:
        try:
            check_inside(rel)
        except ValueError:
            continue  # a manifest entry that leaves the folder is never deleted
        path = out_dir / rel
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != out_dir and parent.is_relative_to(out_dir):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def _files_gone(root: str, manifest: Manifest, workers: int) -> Callable[[], frozenset[str]]:
    """The files the manifest lists that no longer exist (deleted by hand: they are written again).

    Returns a function that gives the answer: for a large manifest a forked helper checks while
    this process makes views and plans (one ``stat`` per file: 0.1 s at 10,000 items).
    """

    def check() -> frozenset[str]:
        return frozenset(rel for rel in manifest.files if not os.path.exists(f"{root}/{rel}"))

    if helper_count(workers, len(manifest.files), GONE_CHECK_THRESHOLD) == 0:
        return check
    helper = fork_helper(lambda: "\n".join(check()).encode("utf-8"))
    return lambda: frozenset(filter(None, helper.join().decode("utf-8").split("\n")))


def _item_source(items: Sequence[SiteItem | CuratedItem] | ItemSource) -> ItemSource:
    if isinstance(items, ItemSource):
        return items
    return ListedItems([i if isinstance(i, SiteItem) else SiteItem(item=i) for i in items])


def build_site(
    items: Sequence[SiteItem | CuratedItem] | ItemSource,
    out_dir: Path,
    *,
    config: SiteConfig,
    options: SiteOptions = DEFAULT_SITE_OPTIONS,
) -> BuildReport:
    """Build (or bring up to date) the static site of ``items`` in ``out_dir``.

    Args:
        items: the items to publish: ``CuratedItem`` or ``SiteItem`` (with the store's key and
            community), or an ``ItemSource`` that gives their revisions and reads only the items
            the build needs (``medcurate.publish.service`` reads the store so).
        out_dir: the output directory; its manifest makes the build incremental.
        config: the site configuration (title, base URL, language, page size, communities, offerings).
        options: overrides and build settings.

    Returns:
        How many files were written, left unchanged and removed.
    """
    with _cyclic_gc_paused():
        return _build(items, out_dir, config=config, options=options)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector for a build, then restore it.

    A build allocates hundreds of thousands of long-lived objects (views, page specs) and almost no
    cycles: reference counting frees them, and the collector's repeated passes over the growing heap
    cost a third of a 10,000-item rebuild.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(
    items: Sequence[SiteItem | CuratedItem] | ItemSource,
    out_dir: Path,
    *,
    config: SiteConfig,
    options: SiteOptions,
) -> BuildReport:
    """``build_site``'s work."""
    started = time.perf_counter()
    publishing = config.publishing
    base_url = (options.base_url or publishing.base_url).rstrip("/") + "/"
    page_size = options.page_size or publishing.page_size
    meta = SiteMeta(
        title=publishing.site_title,
        base_url=base_url,
        language=publishing.language,
        nav=(
            NavLink("Latest", "/archive/"),
            *(
                NavLink(c.name, url_path(*[p for p in c.base_path.split("/") if p]))
                for c in config.communities
            ),
            NavLink("Topics", "/topic/"),
            NavLink("Sources", "/source/"),
            NavLink("Search", "/search/"),
        ),
    )
    # 0. which files of the last build are still there: checked by a helper while this process works
    old = load_manifest(out_dir) if options.incremental else Manifest()
    root = str(out_dir)
    gone = _files_gone(root, old, options.workers)
    missing: frozenset[str] | None = None
    try:
        # 1. shared inputs
        env = site_environment(meta, options.template_dirs)
        site_digest = _site_digest(env, meta, config, replace(options, page_size=page_size))
        context = digest_of(OUTPUT_VERSION, config.model_dump_json())
        store = _ViewStore(ViewCache(options.view_cache or view_cache_path(out_dir), context))
        if not options.incremental:
            store.forget()  # a full build trusts no cache: every view is made again, the cache rewritten
        source = _item_source(items)
        images = _image_index(options.images_dir)
        static = _static_files()
        shared = joined_digest(site_digest, *(digest_of(data) for data in static.values()))
        fingerprints = [_fingerprint(revision, context, images) for revision in source.revisions()]
        inputs = joined_digest(shared, *fingerprints)
        if options.incremental and inputs == old.inputs and not (missing := gone()):
            # Nothing the site is made from changed and every file is still there.
            return BuildReport(
                written=0,
                unchanged=len(old.files),
                removed=0,
                files=len(old.files),
                items=old.items,
                seconds=time.perf_counter() - started,
                warnings=old.warnings,
            )
        # 2. views and 3. plan: only the pages a few changed items show, else every page
        sources = _Sources(source, fingerprints, config, images, store, options.workers)
        state_path = plan_state_path(store.cache.path)
        plan = None
        if options.incremental:
            state = load_plan_state(state_path, shared, old.inputs)
            if state is not None:
                plan = _partial_plan(
                    state, sources, old, root, site_digest=site_digest, page_size=page_size, options=options
                )
        if plan is not None and (missing := gone()):
            plan = None  # a file was deleted by hand: only a full plan knows how to make it again
        if plan is None:
            plan = _full_plan(
                sources,
                shared,
                site_digest=site_digest,
                page_size=page_size,
                options=options,
                meta=meta,
                static=static,
            )
    finally:
        if missing is None:
            missing = gone()  # the helper is waited for even when planning failed
    # 4. compare and render
    new: dict[str, str] = dict(old.files) if plan.partial else {}
    planned: set[str] = set()
    to_render: list[PageSpec] = []
    to_copy: list[RawSpec] = []
    outputs: list[PageSpec | RawSpec] = [*plan.specs, *plan.raws]
    for output in outputs:
        if output.path in planned:
            continue
        planned.add(output.path)
        new[output.path] = output.digest
        if old.files.get(output.path) != output.digest or output.path in missing:
            if isinstance(output, PageSpec):
                to_render.append(output)
            else:
                to_copy.append(output)
    written = len(to_render) + len(to_copy)
    stale = sorted(set(old.files) - set(new))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        helpers = helper_count(options.workers, len(to_render), PARALLEL_THRESHOLD)
        # A writer process pays only beside a lone renderer: with render helpers every core renders,
        # and a third process writing this one's files took their time (a cold build of 1,000
        # items on two cores: 0.56 s with it, 0.50 s without).
        writer = open_writer(root, written) if helpers == 0 else DirectWriter(root)

        def meanwhile() -> None:
            """The outputs that are not rendered, the view cache and the plan's shape.

            The shape is saved before the pages are all written: it names the inputs of this build,
            and the next build uses it only when the manifest (saved last) records the same.
            """
            for raw in to_copy:
                _write_raw(writer, raw)
            plan.keep_views()
            save_plan_state(state_path, plan.state(inputs))

        try:
            _render_all(env, to_render, root, helpers, writer, meanwhile)
        except BaseException:
            with suppress(PublishError):
                writer.close()
            raise
        writer.close()
        # 5. clean up and record
        _remove_stale(out_dir, stale)
        record = Manifest(files=new, inputs=inputs, items=plan.items, warnings=tuple(plan.warnings))
        if record != old or not options.incremental:
            save_manifest(out_dir, record)
    except OSError as exc:
        raise PublishError(f"cannot write the site in {out_dir}: {exc.strerror or exc}") from exc
    finally:
        store.cache.close()
    return BuildReport(
        written=written,
        unchanged=len(new) - written,
        removed=len(stale),
        files=len(new),
        items=plan.items,
        seconds=time.perf_counter() - started,
        warnings=tuple(plan.warnings),
    )


@dataclass(frozen=True)
class _Sources:
    """What views are made from: the items, their fingerprints and where cached views are found."""

    source: ItemSource
    fingerprints: Sequence[str]
    config: SiteConfig
    images: Mapping[str, str]
    store: _ViewStore
    workers: int

    def items(self, positions: Sequence[int]) -> list[tuple[SiteItem, str]]:
        """The items at ``positions`` of the source, each with its fingerprint."""
        fingerprints = self.fingerprints
        return list(zip(self.source.load(positions), (fingerprints[p] for p in positions), strict=True))


@dataclass(frozen=True)
class _Plan:
    """The outputs to compare with the manifest, and what to keep of the plan for the next build."""

    specs: list[PageSpec]
    raws: list[RawSpec]
    items: int
    warnings: list[str]
    partial: bool  # only the outputs that show changed items: every other file keeps its digest
    keep_views: Callable[[], None]  # saves the view cache (while pages render)
    state: Callable[[str], PlanState]  # the plan state to save, given the build's inputs digest


def _full_plan(
    sources: _Sources,
    shared: str,
    *,
    site_digest: str,
    page_size: int,
    options: SiteOptions,
    meta: SiteMeta,
    static: Mapping[str, bytes],
) -> _Plan:
    """Every item's view and every output of the site."""
    views, warnings, by_fingerprint, view_fingerprints = _views(
        sources.source.load,
        sources.fingerprints,
        sources.config,
        sources.images,
        sources.store,
        sources.workers,
    )
    specs, listings = plan_site(
        views, site_digest=site_digest, page_size=page_size, options=options, meta=meta
    )
    raws = _raw_outputs(views, options, site_digest, static)
    paths = Counter([s.path for s in specs] + [r.path for r in raws])
    clashes = [p for p, n in paths.items() if n > 1]
    if clashes:
        warnings.append(
            f"{len(clashes)} outputs planned twice (first kept): {', '.join(sorted(clashes)[:5])}"
        )
    store = sources.store
    return _Plan(
        specs=specs,
        raws=raws,
        items=len(views),
        warnings=warnings,
        partial=False,
        keep_views=lambda: store.keep(by_fingerprint, replace_all=not options.incremental),
        state=lambda inputs: plan_state(shared, inputs, views, view_fingerprints, listings),
    )


def _partial_plan(
    state: PlanState,
    sources: _Sources,
    old: Manifest,
    root: str,
    *,
    site_digest: str,
    page_size: int,
    options: SiteOptions,
) -> _Plan | None:
    """The outputs that show the items changed since ``state``, or None when a full plan is needed.

    At most ``PARTIAL_PLAN_SHARE`` of the items may have changed. The views of the items those
    outputs show come from memory or the view cache, one row each, else are made again.
    """
    if len(_VIEW_CACHE) > VIEW_CACHE_LIMIT:
        _VIEW_CACHE.clear()
    fingerprints = sources.fingerprints
    matched = match_changes(state, fingerprints, int(len(fingerprints) * PARTIAL_PLAN_SHARE))
    if matched is None:
        return None
    changed_inputs, vacated = matched
    store = sources.store
    config = sources.config
    known_base = FIXED_PAGES | {url_path(*c.base_path.split("/")) for c in config.communities}
    sections = _Sections(config=config, known_base=known_base)
    pending = sources.items(changed_inputs)
    made = _make_views(pending, sections, config, sources.images, 1)
    fingerprint_of = {view.key: fingerprint for view, (_, fingerprint) in zip(made, pending, strict=True)}
    input_of = {fingerprint: n for n, fingerprint in enumerate(fingerprints)}
    views_at: dict[int, ItemView] = {}
    healed: dict[str, ItemView] = {}

    def view_at(position: int) -> ItemView:
        view = views_at.get(position)
        if view is None:
            fingerprint = state.fingerprints[position]
            view = _VIEW_CACHE.get(fingerprint) or store.fetch(fingerprint)
            if view is None:  # the cache lost it: made again, and written back
                items = sources.items([input_of[fingerprint]])
                view = healed[fingerprint] = _make_views(items, sections, config, sources.images, 1)[0]
            if view.digest != state.digests[position]:
                raise NotReplannable(f"the view of {view.key} does not match the last build")
            views_at[position] = _VIEW_CACHE[fingerprint] = view
        return view

    try:
        changed = place_changes(state, vacated, made)
        views_at.update(changed)
        specs = affected_pages(
            state,
            changed,
            view_at,
            old.files,
            site_digest=site_digest,
            page_size=page_size,
            feed_size=options.feed_size,
        )
    except NotReplannable:
        return None
    raws = _patched_search_parts(state, changed, view_at, root, site_digest, options.search_text_chars)
    raws += filter(None, map(_image_output, changed.values()))
    new_fingerprints = {position: fingerprint_of[view.key] for position, view in changed.items()}
    for position, fingerprint in new_fingerprints.items():
        _VIEW_CACHE[fingerprint] = changed[position]
    added = {**healed, **{new_fingerprints[p]: view for p, view in changed.items()}}
    earlier = [state.fingerprints[position] for position in changed]
    return _Plan(
        specs=specs,
        raws=raws,
        items=len(state.keys),
        warnings=list(old.warnings),
        partial=True,
        keep_views=lambda: store.swap(added, earlier),
        state=lambda inputs: updated_state(state, inputs, new_fingerprints, changed),
    )
