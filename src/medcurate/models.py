"""The domain model: curated items, communities, topics, taxonomies, offerings, decisions, audit events.

A ``CuratedItem`` keeps its front matter as the ordered mapping it was read as (so nothing is ever
dropped or reordered) plus the Markdown body, and offers a typed, validated view of it
(``ItemFields``) for everything that reads it. Changes go through ``CuratedItem.updated``, which
writes into the ordered mapping, so a parse -> write -> parse round trip is lossless by construction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Variant(StrEnum):
    """The three generations of front matter medcurate reads and writes."""

    COMMUNITY_2020 = "community-2020"
    NEWS_2022 = "news-2022"
    BOOKMARK_2019 = "bookmark-2019"


class ItemState(StrEnum):
    """Where an item stands in the editors' workflow."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class EntryStatus(StrEnum):
    """What became of one link of a batch (``batch_entries.status``)."""

    PENDING = "pending"
    CREATED = "created"
    EXISTING = "existing"
    DUPLICATE = "duplicate"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        """True once the link is created, existing or duplicate: a re-run leaves it alone."""
        return self in DONE_ENTRY_STATUSES


DONE_ENTRY_STATUSES = frozenset({EntryStatus.CREATED, EntryStatus.EXISTING, EntryStatus.DUPLICATE})


class BatchState(StrEnum):
    """Where a batch of links stands (``batches.state``); ``stalled`` is shown, never stored."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STALLED = "stalled"


class SuggestionKind(StrEnum):
    """What a suggestion or an editor's decision is about."""

    TOPIC = "topic"
    COMMUNITY = "community"
    OFFERING = "offering"


class _Open(BaseModel):
    """A typed view that keeps unknown keys instead of refusing them."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, frozen=True, coerce_numbers_to_str=True, defer_build=True
    )


class Link(_Open):
    """The curated article's link (``link:`` in the seeds)."""

    brand: str | None = None
    href: str | None = None
    # What the source calls itself (og:site_name, JSON-LD publisher); ``brand`` stays its domain.
    name: str | None = None
    original: str | None = None


class WpAttachment(_Open):
    """The OpenProject attachment a featured image came from."""

    file_name: str | None = Field(default=None, alias="fileName")
    link: str | None = None


class FeaturedImage(_Open):
    """The featured image: a file beside the page, its format and pixel size."""

    alt: str | None = None
    format: str | None = None
    href: str | None = None
    size: list[int] | None = None
    valid: bool | None = None
    work_package: int | None = Field(default=None, alias="workPackage")
    wp_attachment: WpAttachment | None = Field(default=None, alias="wpAttachment")


class OpenProjectCustomFields(_Open):
    """OpenProject fields; ``medigyTopics`` is JSON text in 2020 and a list in 2022."""

    clean_url: str | None = Field(default=None, alias="cleanUrl")
    medigy_topics: str | list[str] | None = Field(default=None, alias="medigyTopics")
    source_url: str | None = Field(default=None, alias="sourceUrl")


class Offering(_Open):
    """A vendor offering an item can be related to (``relatedOfferings`` in seed 002)."""

    label: str
    permalink: str
    categories: list[str] = Field(default_factory=list)
    offering_id: int | None = Field(default=None, alias="offeringId")
    description: str | None = None


class BookmarkSource(_Open):
    """Where a 2019 bookmark came from (``source:`` mapping of the bookmark variant)."""

    name: str | None = None
    apiendpoint: str | None = None


# The front matter fields an item's site URL is made of: each as (its key, the key validation also
# accepts when that one is absent), as ``ItemFields`` reads them.
URL_FIELDS = (("basePath", "base_path"), ("slug", "slug"), ("mdName", "md_name"))


class ItemFields(_Open):
    """Typed view of every field the seeds and the bookmark corpus carry; unknown keys are kept."""

    aliases: str | list[str] | None = None
    archetype: str | None = None
    author: list[str] | str | None = None
    base_path: str | None = Field(default=None, alias="basePath")
    breadcrumb_links: list[str] | None = Field(default=None, alias="breadcrumbLinks")
    breadcrumbs: list[str] | None = None
    categories: list[str] | None = None
    category_slug: list[str] | None = Field(default=None, alias="categorySlug")
    category_url: list[str] | None = Field(default=None, alias="categoryUrl")
    category_label: list[str] | None = Field(default=None, alias="categoryLabel")
    community_topics: list[str] | None = Field(default=None, alias="communityTopics")
    content_categories: str | None = Field(default=None, alias="contentCategories")
    date: datetime | date | str | None = None
    description: str | None = None
    fav_icon_image: str | None = Field(default=None, alias="favIconImage")
    featured_image: FeaturedImage | str | None = Field(default=None, alias="featuredImage")
    featured_pdf: str | None = Field(default=None, alias="featuredPdf")
    href: str | None = None
    html_meta_data: dict[str, Any] | None = Field(default=None, alias="htmlMetaData")
    id: int | None = None
    identifier: str | None = None
    insights_description: str | None = None
    insights_name: str | None = None
    institution: Any = None
    last_mod: datetime | str | None = Field(default=None, alias="lastMod")
    lay_out: str | None = Field(default=None, alias="layOut")
    link: Link | str | None = None
    link_brand: str | None = Field(default=None, alias="linkBrand")
    mast_head: str | None = Field(default=None, alias="mastHead")
    md_name: str | None = Field(default=None, alias="mdName")
    offering: Any = None
    open_graph_meta_data: dict[str, Any] | None = Field(default=None, alias="openGraphMetaData")
    open_project_custom_fields: OpenProjectCustomFields | None = Field(
        default=None, alias="openProjectCustomFields"
    )
    open_project_work_package_type: str | None = Field(default=None, alias="openProjectWorkPackageType")
    original: str | None = None
    owl_type: str | None = Field(default=None, alias="owlType")
    related_offerings: list[Offering] | None = Field(default=None, alias="relatedOfferings")
    search_category: str | None = Field(default=None, alias="searchCategory")
    slug: str | None = None
    source: BookmarkSource | str | None = None
    status: str | None = None
    sub: str | None = None
    tags: list[str] | None = None
    title: str | None = None
    twitter_meta_data: dict[str, Any] | None = Field(default=None, alias="twitterMetaData")
    type: str | None = None
    via: str | None = None
    via_link: str | None = Field(default=None, alias="viaLink")


def normalize_label(label: str) -> str:
    """Case- and white-space-insensitive form of a topic label, used for every comparison."""
    return " ".join(label.split()).casefold()


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return [text]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [text]
    return [text] if text else []


REVISION_SIZE = 16  # bytes of an item's content revision (32 hexadecimal digits)
# Half a UTF-16 pair, which a "\ud800" escape in JSON or YAML decodes to: no UTF-8 file or database
# can hold an item text with one, so the readers of outside data refuse or replace them.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def content_revision(variant: str, front_matter: Mapping[str, Any], body: str) -> str:
    """A digest of an item's content (variant, front matter in its order, body) that changes with it.

    The store keeps it beside each item, so that a site build tells changed items from unchanged
    ones without reading them. ``repr`` keeps the front matter's types apart (a date from its text).
    """
    digest = hashlib.blake2b(repr((variant, front_matter)).encode("utf-8"), digest_size=REVISION_SIZE)
    # The body apart: its repr would copy and escape the longest text of the item.
    digest.update(body.encode("utf-8"))
    return digest.hexdigest()


def featured_image_href(front_matter: Mapping[str, Any]) -> str | None:
    """The ``featuredImage.href`` of raw front matter (a stored image's file name), if it has one."""
    image = front_matter.get("featuredImage")
    href = image.get("href") if isinstance(image, Mapping) else None
    return href if isinstance(href, str) and href else None


@dataclass(frozen=True)
class CuratedItem:
    """One curated item: its ordered front matter, its Markdown body and the variant it follows."""

    front_matter: Mapping[str, Any]
    body: str
    variant: Variant
    source_path: str | None = None

    @cached_property
    def revision(self) -> str:
        """The item's content revision (``content_revision``)."""
        return content_revision(self.variant.value, self.front_matter, self.body)

    @cached_property
    def fields(self) -> ItemFields:
        """The typed, validated view of the front matter."""
        return ItemFields.model_validate(dict(self.front_matter))

    def updated(self, changes: Mapping[str, Any], *, body: str | None = None) -> CuratedItem:
        """A copy with ``changes`` written into the front matter (existing keys keep their place)."""
        merged = dict(self.front_matter)
        for key, value in changes.items():
            merged[key] = value
        return CuratedItem(
            front_matter=merged,
            body=self.body if body is None else body,
            variant=self.variant,
            source_path=self.source_path,
        )

    @property
    def title(self) -> str:
        """The item's title, or an empty string."""
        return self.fields.title or ""

    @property
    def url(self) -> str | None:
        """The curated article's URL, whichever variant carries it."""
        link = self.fields.link
        if isinstance(link, Link):
            return link.href or link.original
        if isinstance(link, str) and link:
            return link
        return self.fields.href or self.fields.original

    @property
    def brand(self) -> str | None:
        """The source's registrable domain (``link.brand`` or ``linkBrand``)."""
        link = self.fields.link
        if isinstance(link, Link) and link.brand:
            return link.brand
        return self.fields.link_brand

    @property
    def source_name(self) -> str | None:
        """The source's name as its pages give it (``link.name``), else its registrable domain."""
        link = self.fields.link
        if isinstance(link, Link) and link.name and link.name.strip():
            return link.name.strip()
        return self.brand

    @property
    def item_id(self) -> int | None:
        """The front matter's numeric ``id``, when it has one."""
        return self.fields.id

    @property
    def md_name(self) -> str | None:
        """The UUID that names the item's files, without a ``.md`` suffix."""
        name = self.fields.md_name
        return name.removesuffix(".md") if name else None

    @property
    def published(self) -> datetime | None:
        """The item's ``date`` as an aware datetime (UTC when the text carries no zone)."""
        return parse_timestamp(self.fields.date)

    @property
    def topics(self) -> list[str]:
        """Every topic label the editors gave the item, in order, without duplicates."""
        fields = self.fields
        custom = fields.open_project_custom_fields
        candidates = [
            *(fields.categories or []),
            *(fields.community_topics or []),
            *(_as_list(custom.medigy_topics) if custom else []),
        ]
        seen: set[str] = set()
        labels: list[str] = []
        for label in candidates:
            key = normalize_label(label)
            if key and key not in seen:
                seen.add(key)
                labels.append(" ".join(label.split()))
        return labels

    @property
    def authors(self) -> list[str]:
        """The item's authors as a list."""
        return _as_list(self.fields.author) if self.fields.author is not None else []


def format_timestamp(moment: datetime | None = None) -> str:
    """The seeds' timestamp shape: ``2020-12-16T11:41:52.483267Z`` (now, when no moment is given)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(value: datetime | date | str | None) -> datetime | None:
    """Read both date shapes of the seeds (``2020-12-15T11:25:20.067935Z``, ``2022-11-11``)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Topic(_Open):
    """A topic of a taxonomy, named ``Namespace: Name`` (``Gartner: Cybersecurity``)."""

    label: str
    description: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    identifier: str | None = None

    @property
    def namespace(self) -> str:
        """The taxonomy part of the label (``Gartner``)."""
        head, sep, _ = self.label.partition(": ")
        return head if sep else ""

    @property
    def name(self) -> str:
        """The topic part of the label (``Cybersecurity``)."""
        _, sep, tail = self.label.partition(": ")
        return tail if sep else self.label


class Taxonomy(_Open):
    """A named set of topics (``Healthcare IT News``, ``KLAS``, ``Medical Subject Headings (MeSH)``)."""

    name: str
    topics: list[Topic] = Field(default_factory=list)


class Community(_Open):
    """A community (or the news section) items are published into."""

    key: str
    name: str
    base_path: str = Field(alias="basePath")
    mast_head: str = Field(alias="mastHead")
    type: str | None = None
    identifier: str | None = None
    content_categories: str | None = Field(default=None, alias="contentCategories")
    owl_type: str | None = Field(default=None, alias="owlType")
    variant: Variant = Variant.COMMUNITY_2020
    breadcrumb_titles: list[str] = Field(default_factory=list, alias="breadcrumbTitles")
    description: str | None = None
    topics: list[str] = Field(default_factory=list)


class DecisionAction(StrEnum):
    """What an editor did with a suggestion."""

    ACCEPT = "accept"
    REJECT = "reject"
    ADD = "add"


class Decision(_Open):
    """An editor's accept, reject or add of a topic, community or offering on an item."""

    item_id: int
    kind: SuggestionKind
    label: str
    action: DecisionAction
    actor: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class ImportFailure:
    """A file that could not be imported, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts and the failures, file by file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: Sequence[ImportFailure] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failures
