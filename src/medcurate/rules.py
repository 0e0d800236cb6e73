"""Derivation rules: how a new item's front matter is filled in, read off the seeds.

Every rule is a pure function and is unit-tested against the five seeds; where a rule and a seed
disagree, the seed wins and the rule follows it:

- ``slug``: the brand's stem, a dash, the slugified title
  (``healthtechmagazine-improve-healthcare-security-with-these-five-steps``).
- ``aliases``: ``/news/<slugified title>``, for both variants.
- ``description``: the first 200 characters of the brief's plain text. The 2020 community items
  drop a word cut in half (seeds 001, 003); the 2022 news item cuts at 200 exactly (seed 002).
- ``mdName``: a UUIDv5 of the canonical URL under medcurate's own namespace, stable across runs and
  machines; the 2022 variant writes it with a ``.md`` suffix (seed 002).
- ``featuredImage.href``: ``<mdName>-featuredImage.<ext>``, the extension from the image format.
- ``breadcrumbs`` and ``breadcrumbLinks``: from the community's base path and title.
- ``link.brand``: the registrable domain; ``cleanUrl`` and ``sourceUrl``: the cleaned URL.
- ``id``: one more than the largest id in the store; ``lastMod``: set on every change.
- Topics are written the way each variant carries them (``communityTopics`` plus ``medigyTopics`` as
  JSON text in 2020; ``categories``, ``categorySlug``, ``categoryUrl``, ``categoryLabel`` and a
  ``medigyTopics`` list in 2022; plain ``categories`` for bookmarks).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from medcurate.models import Community, CuratedItem, Offering, Variant

MEDCURATE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://medcurate.org/ns/curated-item")
DESCRIPTION_LENGTH = 200
# Where an item with no basePath is laid out (Hugo tree and static site alike).
DEFAULT_SECTION = "posts"
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_ENDS = re.compile(r"</(p|li|blockquote|h\d)>|<br\s*/?>", re.I)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['’‘`]")


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by dashes (``3 ways ... IT security`` -> ``3-ways-...-it-security``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = _APOSTROPHES.sub("", ascii_text.lower())
    return _NOT_SLUG.sub("-", ascii_text).strip("-")


def brand_stem(brand: str) -> str:
    """The first label of a registrable domain (``healthtechmagazine.net`` -> ``healthtechmagazine``)."""
    return brand.lower().removeprefix("www.").split(".")[0]


def derive_slug(brand: str, title: str) -> str:
    """The item's slug: brand stem and slugified title."""
    stem = brand_stem(brand)
    title_slug = slugify(title)
    return f"{stem}-{title_slug}" if stem else title_slug


def derive_alias(title: str) -> str:
    """The item's alias under ``/news/``."""
    return f"/news/{slugify(title)}"


def plain_text(html_text: str) -> str:
    """The text of an HTML fragment, white space folded."""
    text = _TAGS.sub("", _BLOCK_ENDS.sub(" ", html_text))
    return " ".join((html.unescape(text) if "&" in text else text).split())


def derive_description(brief_html: str, variant: Variant) -> str:
    """The first 200 characters of the brief's plain text, cut the way the variant cuts."""
    text = plain_text(brief_html)
    if len(text) <= DESCRIPTION_LENGTH:
        return text
    cut = text[:DESCRIPTION_LENGTH]
    if variant is Variant.NEWS_2022:
        return cut
    if text[DESCRIPTION_LENGTH] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip()


def derive_md_name(canonical_url: str) -> str:
    """A UUIDv5 of the canonical URL under medcurate's namespace."""
    return str(uuid.uuid5(MEDCURATE_NAMESPACE, canonical_url))


def featured_image_filename(md_name: str, image_format: str) -> str:
    """The stored image's file name, ``<mdName>-featuredImage.<ext>`` (also its ``featuredImage.href``).

    The extension is the lower-cased format name; ``models.featured_image_href`` reads it back.
    """
    ext = {"JPG": "jpeg"}.get(image_format.upper(), image_format.lower())
    return f"{md_name.removesuffix('.md')}-featuredImage.{ext}"


def derive_breadcrumbs(community: Community, title: str) -> tuple[list[str], list[str]]:
    """Breadcrumb titles and links from the community's base path (seeds 000 and 002)."""
    parts = [p for p in community.base_path.strip("/").split("/") if p]
    titles = ["Home", *community.breadcrumb_titles, title]
    if community.variant is Variant.NEWS_2022:
        links = ["/", *[f"/{'/'.join(parts[: i + 1])}/" for i in range(len(parts))], ""]
    else:
        prefixes = [f"/{'/'.join(parts[: i + 1])}" for i in range(len(parts))]
        links = ["/", *[p + "/" for p in prefixes[:-1]], prefixes[-1] if prefixes else "/", "#"]
    return titles, links


def topic_fields(labels: Sequence[str], variant: Variant) -> dict[str, Any]:
    """The front-matter keys that carry topics, in the variant's own shape."""
    labels = list(labels)
    if variant is Variant.NEWS_2022:
        return {
            "categories": labels,
            "categorySlug": [label.lower() for label in labels],
            "categoryUrl": [f"topic/{slugify(label)}" for label in labels],
            "categoryLabel": [label.partition(": ")[2] or label for label in labels],
        }
    if variant is Variant.COMMUNITY_2020:
        return {"communityTopics": labels}
    return {"categories": labels}


def with_topics(item: CuratedItem, labels: Sequence[str]) -> CuratedItem:
    """A copy of ``item`` carrying exactly ``labels`` as its topics, written the variant's way."""
    changes: dict[str, Any] = topic_fields(labels, item.variant)
    custom = item.front_matter.get("openProjectCustomFields")
    if isinstance(custom, Mapping):
        medigy: Any = list(labels)
        if item.variant is Variant.COMMUNITY_2020:
            medigy = json.dumps(list(labels), ensure_ascii=False, separators=(",", ":"))
        changes["openProjectCustomFields"] = {**custom, "medigyTopics": medigy}
    return item.updated(changes)


def offering_entries(offerings: Sequence[Offering]) -> list[dict[str, Any]]:
    """``relatedOfferings`` entries in seed 002's key order."""
    return [
        {
            "label": o.label,
            "permalink": o.permalink,
            "categories": list(o.categories),
            "offeringId": o.offering_id,
        }
        for o in offerings
    ]
