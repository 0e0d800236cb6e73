"""Build a draft item's seed front matter from an extraction, following ``medcurate.rules``.

A draft for the news section takes seed 002's shape (its keys in its order, the meta-data maps with
the seed's keys first); a draft for a community takes the 2020 shape of seeds 000-004. Pure: the
caller passes the clock, the id and the featured image it stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medcurate.extract import Extraction
from medcurate.models import Community, CuratedItem, Offering, Variant, format_timestamp, parse_timestamp
from medcurate.rules import (
    derive_alias,
    derive_breadcrumbs,
    derive_description,
    derive_md_name,
    derive_slug,
    featured_image_filename,
    offering_entries,
    topic_fields,
)

# Seed 002's meta-data maps list these keys even when the page lacks them (as null).
HTML_META_KEYS = (
    "author",
    "description",
    "generator",
    "viewport",
    "articlemodified_time",
    "articlepublished_time",
    "msvalidate.01",
    "ogdescription",
    "ogimage",
    "ogsite_name",
    "ogtitle",
    "ogtype",
    "ogupdated_time",
    "ogurl",
    "yandex-verification",
    "robots",
    "fbapp_id",
    "oglocale",
    "fbadmins",
    "articlepublisher",
    "google-site-verification",
    "keywords",
)
OPEN_GRAPH_KEYS = (
    "ogdescription",
    "ogtitle",
    "ogurl",
    "ogimage",
    "ogsite_name",
    "ogtype",
    "ogupdated_time",
    "ogimageheight",
)
TWITTER_KEYS = ("twittercard", "twitterdescription", "twittertitle", "twitterimage", "twitterurl")
DRAFT_SOURCE = "medcurate"


@dataclass(frozen=True, kw_only=True)
class StoredImage:
    """A featured image saved beside the item: its format, pixel size and where it came from."""

    format: str
    size: tuple[int, int]
    source_url: str
    file_name: str


@dataclass(frozen=True, kw_only=True)
class DraftInput:
    """Everything a draft is made of."""

    extraction: Extraction
    url: str
    canonical_url: str
    community: Community
    item_id: int
    now: datetime
    curator: str | None = None
    image: StoredImage | None = None
    pdf_url: str | None = None
    topics: Sequence[str] = ()
    offerings: Sequence[Offering] = ()


def _meta_map(found: Mapping[str, str], seed_keys: Sequence[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {key: found.get(key) for key in seed_keys}
    merged.update({key: value for key, value in found.items() if key not in merged})
    return merged


def _date_value(extraction: Extraction, now: datetime, variant: Variant) -> str:
    moment = parse_timestamp(extraction.date) or now
    if variant is Variant.NEWS_2022:
        return moment.date().isoformat()
    return format_timestamp(moment)


def _featured_image(draft: DraftInput, md_name: str, title: str) -> dict[str, Any] | None:
    image = draft.image
    if image is None:
        return None
    return {
        "alt": title,
        "format": image.format,
        "href": featured_image_filename(md_name, image.format),
        "size": [image.size[0], image.size[1]],
        "valid": True,
        "workPackage": draft.item_id,
        "wpAttachment": {"fileName": image.file_name, "link": image.source_url},
    }


@dataclass(frozen=True)
class _Shared:
    """What every variant's front matter derives from the extraction the same way."""

    title: str
    brand: str
    md_name: str
    brief: str
    description: str
    authors: list[str]
    breadcrumb_titles: list[str]
    breadcrumb_links: list[str]
    link: dict[str, str]
    topics: list[str]


def _shared_fields(draft: DraftInput) -> _Shared:
    """Title, brand, mdName, brief and description, authors, breadcrumbs and link of a draft."""
    extraction = draft.extraction
    title = extraction.title or extraction.open_graph.get("ogtitle") or draft.canonical_url
    brand = extraction.brand or ""
    brief = extraction.brief_html
    variant = draft.community.variant
    titles, links = derive_breadcrumbs(draft.community, title)
    return _Shared(
        title=title,
        brand=brand,
        md_name=derive_md_name(draft.canonical_url),
        brief=brief,
        description=derive_description(brief, variant) if brief else (extraction.description or "")[:200],
        authors=list(extraction.authors) or ([draft.curator] if draft.curator else []),
        breadcrumb_titles=titles,
        breadcrumb_links=links,
        link=_link(draft, brand),
        topics=list(draft.topics),
    )


def _link(draft: DraftInput, brand: str) -> dict[str, str]:
    """``link``: ``brand`` the registrable domain (as in the seeds), ``name`` what the source calls itself."""
    link = {"brand": brand, "href": draft.canonical_url, "original": draft.url}
    name = (draft.extraction.site_name or "").strip()
    if name and name != brand:
        link = {"brand": brand, "href": draft.canonical_url, "name": name, "original": draft.url}
    return link


def build_draft(draft: DraftInput) -> CuratedItem:
    """The draft item for one extracted page, in its community's variant."""
    shared = _shared_fields(draft)
    variant = draft.community.variant
    if variant is Variant.NEWS_2022:
        return CuratedItem(front_matter=_news_front_matter(draft, shared), body=shared.brief, variant=variant)
    return CuratedItem(
        front_matter=_community_front_matter(draft, shared), body="\n" + shared.brief, variant=variant
    )


def _community_front_matter(draft: DraftInput, shared: _Shared) -> dict[str, Any]:
    """The 2020 shape of seeds 000-004 (and the 2019 bookmark shape): keys in the seeds' order."""
    community = draft.community
    variant = community.variant
    front_matter: dict[str, Any] = {
        "aliases": derive_alias(shared.title),
        "archetype": "curate-content",
        "author": shared.authors,
        "basePath": community.base_path,
        "breadcrumbLinks": shared.breadcrumb_links,
        "breadcrumbs": shared.breadcrumb_titles,
        "categories": [],
        **topic_fields(shared.topics, variant),
        "contentCategories": community.content_categories or "",
        "date": _date_value(draft.extraction, draft.now, variant),
        "description": shared.description,
    }
    image = _featured_image(draft, shared.md_name, shared.title)
    if image is not None:
        front_matter["featuredImage"] = image
    if draft.pdf_url:
        front_matter["featuredPdf"] = draft.pdf_url
    front_matter.update(_community_work_package(draft, shared))
    return front_matter


def _community_work_package(draft: DraftInput, shared: _Shared) -> dict[str, Any]:
    """The community shape's keys from ``id`` on: identity, link and the work-package fields."""
    community = draft.community
    return {
        "id": draft.item_id,
        "identifier": community.identifier or community.name,
        "lastMod": format_timestamp(draft.now),
        "link": shared.link,
        "mastHead": community.mast_head,
        "mdName": shared.md_name,
        "openProjectCustomFields": {
            "cleanUrl": draft.canonical_url,
            "medigyTopics": _json_list(shared.topics),
            "sourceUrl": draft.url,
        },
        "openProjectWorkPackageType": "Curated Content",
        "owlType": community.owl_type or "",
        "searchCategory": "News",
        "slug": derive_slug(shared.brand, shared.title),
        "source": DRAFT_SOURCE,
        "status": "",
        "sub": "brief",
        "tags": ["news"],
        "title": shared.title,
        "type": community.type or "",
    }


def _json_list(labels: Sequence[str]) -> str:
    import json

    return json.dumps(list(labels), ensure_ascii=False, separators=(",", ":"))


def _news_front_matter(draft: DraftInput, shared: _Shared) -> dict[str, Any]:
    """Seed 002's shape: its keys in its order, the meta-data maps with the seed's keys first."""
    extraction = draft.extraction
    community = draft.community
    head = {
        "aliases": derive_alias(shared.title),
        "archetype": "curated-content",
        "author": shared.authors,
        "basePath": community.base_path,
        "breadcrumbLinks": shared.breadcrumb_links,
        "breadcrumbs": shared.breadcrumb_titles,
        **topic_fields(shared.topics, Variant.NEWS_2022),
        "contentCategories": community.content_categories or "",
        "institution": None,
        "offering": None,
        "layOut": "single",
        "date": _date_value(extraction, draft.now, Variant.NEWS_2022),
        "description": shared.description,
        "favIconImage": extraction.favicon,
        "featuredImage": _featured_image(draft, shared.md_name, shared.title),
        "featuredPdf": draft.pdf_url,
        "htmlMetaData": _meta_map(extraction.html_meta, HTML_META_KEYS),
        "id": draft.item_id,
        "identifier": community.identifier or community.name,
        "lastMod": format_timestamp(draft.now),
        "link": shared.link,
        "href": draft.canonical_url,
        "original": draft.url,
        "mastHead": community.mast_head,
        "mdName": f"{shared.md_name}.md",
    }
    return {**head, **_news_tail(draft, shared)}


def _news_tail(draft: DraftInput, shared: _Shared) -> dict[str, Any]:
    """Seed 002's keys from ``openGraphMetaData`` on."""
    extraction = draft.extraction
    return {
        "openGraphMetaData": _meta_map(extraction.open_graph, OPEN_GRAPH_KEYS),
        "openProjectCustomFields": {
            "cleanUrl": draft.canonical_url,
            "medigyTopics": list(shared.topics),
            "sourceUrl": draft.url,
        },
        "openProjectWorkPackageType": "Curated Content",
        "searchCategory": "News",
        "slug": derive_slug(shared.brand, shared.title),
        "source": DRAFT_SOURCE,
        "status": "",
        "sub": "brief",
        "tags": ["News"],
        "title": shared.title,
        "via": " ",
        "insights_description": None,
        "insights_name": None,
        "viaLink": None,
        "relatedOfferings": offering_entries(draft.offerings),
        "twitterMetaData": _meta_map(extraction.twitter, TWITTER_KEYS),
    }
