"""Turn stored items into safe, precomputed views: the only shape templates ever see.

A view holds every string a page prints, already cleaned (brief through nh3, URLs by scheme, control
characters out), its site URL and its dates in the three formats the pages need, plus a digest of
all of it. Pages that show an item are rebuilt exactly when that digest changes, so the digest is
the unit of incremental builds.

A build keeps no view once its pages are written: what listings, feeds and the search index need
of an item later is kept in the build's state (``state``). The per-item helpers that see only a few
distinct values (topic labels, brands, base paths) are memoised: a build meets each one thousands
of times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from markupsafe import Markup

from medcurate.config import SiteConfig
from medcurate.models import URL_FIELDS, CuratedItem, FeaturedImage, Offering
from medcurate.publish.jsonld import NO_FACTS, ItemFacts, item_facts
from medcurate.publish.sanitize import brief_html, brief_text, clean_text, excerpt, safe_http_url
from medcurate.rules import DEFAULT_SECTION, slugify

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(?:jpe?g|png|gif|webp|avif)$", re.I)
DIGEST_SIZE = 16
MEMO_SIZE = 4096  # distinct topics, brands and base paths a build memoises
# English names whatever the process's locale (strftime's %B follows LC_TIME): RFC 822 requires them
# in feeds, and a page's dates then read the same on every machine that builds the site.
_DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class SiteItem:
    """An item to publish, with what the store knows beside its front matter."""

    item: CuratedItem
    key: str | None = None
    community: str | None = None


@dataclass(frozen=True, slots=True)
class NavLink:
    """A label and the site path (or absolute URL) it points at; ``url`` None prints plain text."""

    label: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A community (or any basePath) with its own listing and feeds."""

    key: str
    name: str
    url: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ImageView:
    """A featured image: where the page finds it, and where to copy it from (local files)."""

    src: str
    alt: str
    width: int | None = None
    height: int | None = None
    source_file: str | None = None


@dataclass(frozen=True, slots=True)
class OfferingView:
    """A related offering, as printed under an item."""

    label: str
    description: str
    url: str | None


@dataclass(frozen=True, slots=True)
class CoverageLink:
    """Another outlet's article about the same story (the item's ``alsoCoveredBy``)."""

    title: str
    url: str
    brand: str


@dataclass(frozen=True, slots=True)
class ItemView:
    """Everything a page prints about one item, cleaned; ``digest`` changes whenever any field may."""

    key: str
    url: str
    title: str
    description: str
    brief: Markup
    text: str
    source_url: str | None
    brand: str
    brand_url: str | None
    published: datetime | None
    date_iso: str
    date_rfc822: str
    date_human: str
    authors: tuple[str, ...]
    topics: tuple[NavLink, ...]
    section: Section
    breadcrumbs: tuple[NavLink, ...]
    offerings: tuple[OfferingView, ...]
    image: ImageView | None
    aliases: tuple[str, ...]
    digest: str
    facts: ItemFacts = NO_FACTS  # source type, audience, identifiers (medcurate.publish.jsonld)
    also_covered_by: tuple[CoverageLink, ...] = ()  # the story's other outlets (medcurate.stories.primary)


def digest_of(*parts: object) -> str:
    """A short, stable hash of the parts' reprs."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=DIGEST_SIZE).hexdigest()


def _segment(text: str) -> str:
    """A URL path segment that is safe as a directory name."""
    return text if _SAFE_SEGMENT.match(text) and text not in {".", ".."} else (slugify(text) or "x")


def url_path(*segments: str) -> str:
    """``/a/b/`` from segments, each made safe."""
    parts = [_segment(s) for s in segments if s]
    return "/" + "".join(f"{p}/" for p in parts)


@lru_cache(maxsize=MEMO_SIZE)
def topic_url(label: str) -> str:
    """The topic's page (``/topic/healthcare-it-news-cybersecurity/``, as ``categoryUrl`` has it)."""
    return url_path("topic", slugify(label) or f"t-{digest_of(label)[:10]}")


@lru_cache(maxsize=MEMO_SIZE)
def topic_link(label: str) -> NavLink | None:
    """The cleaned label of a topic and its page, or None when nothing printable is left."""
    text = clean_text(label)
    return NavLink(text, topic_url(label)) if text else None


@lru_cache(maxsize=MEMO_SIZE)
def brand_url(brand: str) -> str:
    """The source brand's page."""
    return url_path("source", slugify(brand) or f"s-{digest_of(brand)[:10]}")


def item_key(site_item: SiteItem) -> str:
    """The item's identity: the store's key, its mdName, slug or title."""
    item = site_item.item
    return site_item.key or item.md_name or item.fields.slug or slugify(item.title) or digest_of(item.title)


def url_fields(item: CuratedItem) -> tuple[str | None, str | None, str | None]:
    """The item's basePath, slug and mdName (``.md`` left on), as its validated fields have them.

    Read from the front matter as it is when they are text or absent (what validation returns
    then), so that the URL of an item whose page a worker process makes (``parallel``) is known
    without validating all of its front matter here; anything else is validated.
    """
    matter = item.front_matter
    found: list[str | None] = []
    for alias, name in URL_FIELDS:
        value = matter.get(alias) if alias in matter else matter.get(name)
        if value is not None and not isinstance(value, str):
            fields = item.fields
            return fields.base_path, fields.slug, fields.md_name
        found.append(value)
    return found[0], found[1], found[2]


def claimed_url(fields: tuple[str | None, str | None, str | None], key: str) -> str:
    """The URL an item asks for, from its ``url_fields`` and its key (``item_key``)."""
    base_path, slug, md_name = fields
    return url_path(
        *_section_dir(base_path or ""), slugify(slug or "") or (md_name or "").removesuffix(".md") or key
    )


def names_item(fields: tuple[str | None, str | None, str | None] | None) -> bool:
    """Whether an item's ``url_fields`` name it (an mdName or a slug); else its title must."""
    return fields is not None and bool((fields[2] or "").removesuffix(".md") or fields[1])


def item_section_dir(item: CuratedItem) -> tuple[str, ...]:
    """The item's section directory below the site root (its basePath)."""
    fields = url_fields(item)
    if not names_item(fields):
        from medcurate.publish.seed import relative_path  # here: it imports YAML, which builds never need

        relative_path(item)  # raises the export's error for an item it cannot name
    return _section_dir(fields[0] or "")


@lru_cache(maxsize=MEMO_SIZE)
def _section_dir(base_path: str) -> tuple[str, ...]:
    """The safe directory segments of a basePath, as ``seed.relative_path`` lays files out."""
    parts = [p for p in base_path.strip("/").split("/") if p and p not in {".", ".."}] or [DEFAULT_SECTION]
    return tuple(_segment(p) for p in parts)


def resolve_section(
    site_item: SiteItem, config: SiteConfig, directory: tuple[str, ...] | None = None
) -> Section:
    """The item's community from the store or its basePath, else a section named after its directory."""
    item = site_item.item
    community = None
    if site_item.community:
        community = next((c for c in config.communities if c.key == site_item.community), None)
    community = community or config.community_for_base_path(item.fields.base_path)
    directory = item_section_dir(item) if directory is None else directory
    if community is not None:
        return Section(
            key=community.key,
            name=clean_text(community.name),
            url=url_path(*[p for p in community.base_path.split("/") if p]),
            description=clean_text(community.description),
        )
    name = (
        clean_text(item.fields.identifier or item.fields.mast_head) or directory[-1].replace("-", " ").title()
    )
    return Section(key="/".join(directory), name=name, url=url_path(*directory))


def rfc822(moment: datetime) -> str:
    """An aware datetime as RFC 822 wants it in RSS (``Tue, 05 Mar 2024 07:08:09 +0000``).

    What ``email.utils.format_datetime`` writes, at a third of its cost (every item of a build has
    one) and without loading the ``email`` package.
    """
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset else 0
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    day = f"{_DAY_ABBREVIATIONS[moment.weekday()]}, {moment.day:02d} {_MONTH_NAMES[moment.month - 1][:3]}"
    clock = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    return f"{day} {moment.year:04d} {clock} {sign}{hours:02d}{minutes:02d}"


def _dates(published: datetime | None) -> tuple[str, str, str]:
    if published is None:
        return "", "", ""
    return (
        published.isoformat().replace("+00:00", "Z"),
        rfc822(published),
        f"{published.day} {_MONTH_NAMES[published.month - 1]} {published.year}",
    )


def _image(item: CuratedItem, page_url: str, title: str, images: Mapping[str, str]) -> ImageView | None:
    image = item.fields.featured_image
    if not isinstance(image, FeaturedImage) or not image.href:
        return None
    alt = clean_text(image.alt) or title
    width = height = None
    if image.size and len(image.size) == 2 and all(int(v) > 0 for v in image.size):
        width, height = int(image.size[0]), int(image.size[1])
    remote = safe_http_url(image.href)
    if remote:
        return ImageView(src=remote, alt=alt, width=width, height=height)
    name = image.href
    if not _SAFE_FILE.match(name) or name not in images:
        return None
    return ImageView(src=f"{page_url}{name}", alt=alt, width=width, height=height, source_file=images[name])


def _breadcrumbs(
    item: CuratedItem, section: Section, title: str, known: AbstractSet[str]
) -> tuple[NavLink, ...]:
    """The front matter's breadcrumbs, linked only where the site has that page; else home > section."""
    labels = item.fields.breadcrumbs or []
    links = item.fields.breadcrumb_links or []
    if not labels:
        return (NavLink("Home", "/"), NavLink(section.name, section.url), NavLink(title))
    crumbs: list[NavLink] = []
    for position, label in enumerate(labels[:-1]):
        link = links[position] if position < len(links) else ""
        path = "/" + link.strip("/") + "/" if link.startswith("/") else None
        path = "/" if link == "/" else path
        crumbs.append(NavLink(clean_text(label), path if path in known else None))
    crumbs.append(NavLink(title))
    return tuple(crumbs)


def _offerings(entries: Sequence[Offering] | None, config: SiteConfig) -> tuple[OfferingView, ...]:
    if not entries:
        return ()
    catalogue = {o.offering_id: o for o in config.offerings if o.offering_id is not None}
    views = []
    for offering in entries or []:
        known = catalogue.get(offering.offering_id or -1)
        description = offering.description or (known.description if known else None)
        views.append(
            OfferingView(
                label=clean_text(offering.label),
                description=clean_text(description),
                url=safe_http_url(offering.permalink),
            )
        )
    return tuple(views)


def _aliases(item: CuratedItem, own_url: str) -> tuple[str, ...]:
    value = item.fields.aliases
    raw = [value] if isinstance(value, str) else list(value or [])
    paths = []
    for alias in raw:
        parts = [p for p in str(alias).split("/") if p and p not in {".", ".."}]
        path = url_path(*parts) if parts else ""
        if path and path != own_url and path not in paths:
            paths.append(path)
    return tuple(paths)


def _coverage(value: object) -> tuple[CoverageLink, ...]:
    """The ``alsoCoveredBy`` entries with an http(s) URL, cleaned; anything else is left out."""
    if not isinstance(value, list):
        return ()
    links = []
    for entry in value:
        if not isinstance(entry, Mapping):
            continue
        url = safe_http_url(entry.get("url") if isinstance(entry.get("url"), str) else None)
        if url:
            title = clean_text(entry.get("title") if isinstance(entry.get("title"), str) else None)
            brand = clean_text(entry.get("brand") if isinstance(entry.get("brand"), str) else None)
            links.append(CoverageLink(title=title or url, url=url, brand=brand))
    return tuple(links)


def make_view(
    site_item: SiteItem,
    *,
    url: str,
    section: Section,
    config: SiteConfig,
    images: Mapping[str, str],
    known_pages: AbstractSet[str],
    source_digest: str,
) -> ItemView:
    """The cleaned view of one item at ``url``.

    ``source_digest`` covers everything the view is made from but its URL (the item's content, its key
    and community, the configuration, its stored image: the builder's item fingerprint), so the
    view's digest is that and the URL: hashing every cleaned field again cost a tenth of a view.
    """
    item = site_item.item
    fields = item.fields
    title = clean_text(item.title) or "(untitled)"
    brief = brief_html(item)
    text = brief_text(brief)
    description = excerpt(clean_text(fields.description), text)
    # The source's own name is shown; its page's address stays that of its domain.
    brand = clean_text(item.source_name)
    domain = clean_text(item.brand)
    published = item.published
    date_iso, date_rfc822, date_human = _dates(published)
    topics = tuple(link for link in map(topic_link, item.topics) if link is not None)
    return ItemView(
        key=item_key(site_item),
        url=url,
        title=title,
        description=description,
        brief=Markup(brief),
        text=text,
        source_url=safe_http_url(item.url),
        brand=brand,
        brand_url=brand_url(domain) if domain else None,
        published=published,
        date_iso=date_iso,
        date_rfc822=date_rfc822,
        date_human=date_human,
        authors=tuple(clean_text(a) for a in item.authors if clean_text(a)),
        topics=topics,
        section=section,
        breadcrumbs=_breadcrumbs(item, section, title, known_pages),
        offerings=_offerings(fields.related_offerings, config),
        image=_image(item, url, title, images),
        aliases=_aliases(item, url),
        digest=digest_of(source_digest, url),
        facts=item_facts(item.front_matter),
        also_covered_by=_coverage(item.front_matter.get("alsoCoveredBy")),
    )
