"""The review screen's content: the article as a reader sees it, the editor's fields in working order.

Pure functions over an item and its row. ``article_view`` is the reading view (title, byline, date,
source, lead image, text, the original's link); ``desk_fields`` splits the front-matter editor into
the few fields an editor works through (title, brief, description, author, date) and the derived
rest, folded under "Advanced"; ``follow`` says which derived fields still follow the title (or the
brief) and what they become for a new one, so that the form updates them as the editor types and
the server still only changes what the form changed. ``cropped`` cuts a featured image to the
site's shape.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup
from PIL import Image

from medcurate.models import CuratedItem, Variant
from medcurate.publish.sanitize import brief_html
from medcurate.rules import derive_alias, derive_description, derive_slug, plain_text
from medcurate.store.models import ItemRecord
from medcurate.web.forms import PREFIX, FieldSpec, editable_fields

# The fields an editor works through, in that order; everything else is folded under "Advanced".
DESK_KEYS = ("title", "description", "author", "date")
# Open Graph cards (1200 x 630 px): the shape the site's pages announce their featured image in.
FEATURED_RATIO = (1200, 630)
# Meta fields that carry the page's title: they follow the item's title while they equal it.
TITLE_META = ("openGraphMetaData.ogtitle", "twitterMetaData.twittertitle", "htmlMetaData.ogtitle")
_PARAGRAPHS = re.compile(r"\n\s*\n|\n")


@dataclass(frozen=True, kw_only=True)
class Article:
    """The extracted article, as the reading view shows it."""

    title: str
    byline: str
    date: str
    source: str
    paragraphs: list[str]
    original: str | None
    image_alt: str


@dataclass(frozen=True, kw_only=True)
class DeskFields:
    """The review form: the editor's fields by key, the brief (source and as shown), and the folded rest.

    ``brief`` is the stored HTML the textarea edits; ``brief_shown`` is that HTML through the site's
    one sanitiser (``publish.sanitize.brief_html``), the only form in which the page renders it as markup.
    """

    main: dict[str, FieldSpec]
    brief: str
    brief_shown: Markup
    advanced: list[FieldSpec]


def _meta(front_matter: Mapping[str, Any], group: str, key: str) -> str:
    values = front_matter.get(group)
    return str(values.get(key) or "") if isinstance(values, Mapping) else ""


def source_name(item: CuratedItem, brand: str | None) -> str:
    """The publication's name: the page's ``og:site_name``, else the brand (its domain)."""
    front_matter = item.front_matter
    return (
        _meta(front_matter, "openGraphMetaData", "ogsite_name")
        or _meta(front_matter, "htmlMetaData", "ogsite_name")
        or brand
        or ""
    )


def article_view(record: ItemRecord, item: CuratedItem) -> Article:
    """The reading view of the item's article: its own text, else the brief's."""
    text = record.text.strip() or plain_text(item.body)
    authors = item.front_matter.get("author")
    byline = ", ".join(str(a) for a in authors) if isinstance(authors, list) else str(authors or "")
    image = item.front_matter.get("featuredImage")
    alt = str(image.get("alt") or "") if isinstance(image, Mapping) else ""
    moment: Any = item.front_matter.get("date")
    return Article(
        title=item.title,
        byline=byline,
        date=moment.isoformat()[:10] if isinstance(moment, date) else str(moment or "")[:10],
        source=record.source_name or source_name(item, record.brand),
        paragraphs=[p.strip() for p in _PARAGRAPHS.split(text) if p.strip()],
        original=item.url,
        image_alt=alt or item.title,
    )


def desk_fields(item: CuratedItem) -> DeskFields:
    """The editor's fields (title, description, author, date), the brief, and the rest for "Advanced"."""
    main: dict[str, FieldSpec] = {}
    advanced: list[FieldSpec] = []
    for spec in editable_fields(item.front_matter):
        key = spec.name.removeprefix(PREFIX)
        if key in DESK_KEYS:
            main[key] = spec
        else:
            advanced.append(spec)
    return DeskFields(main=main, brief=item.body, brief_shown=Markup(brief_html(item)), advanced=advanced)


def _brand(item: CuratedItem, brand: str | None) -> str:
    link = item.front_matter.get("link")
    return str(link.get("brand") or "") if isinstance(link, Mapping) else (brand or "")


def derived_from_title(item: CuratedItem, *, title: str, brand: str | None) -> dict[str, str]:
    """The form values of the derived fields the item carries, for ``title`` (field name -> text)."""
    front_matter = item.front_matter
    values: dict[str, str] = {}
    if isinstance(front_matter.get("aliases"), str):
        values[PREFIX + "aliases"] = derive_alias(title)
    if isinstance(front_matter.get("slug"), str):
        values[PREFIX + "slug"] = derive_slug(_brand(item, brand), title)
    crumbs = front_matter.get("breadcrumbs")
    if isinstance(crumbs, list) and crumbs:
        values[PREFIX + "breadcrumbs"] = "\n".join([*map(str, crumbs[:-1]), title])
    for dotted in TITLE_META:
        group, _, key = dotted.partition(".")
        if _meta(front_matter, group, key):
            values[PREFIX + dotted] = title
    return values


def description_cut(brief: str, variant: Variant) -> str:
    """The description the brief gives: its first 200 characters, cut the variant's way."""
    return derive_description(brief, variant)


def following(item: CuratedItem, *, brand: str | None) -> dict[str, str]:
    """Which form fields follow what: ``{field name: "title" | "brief"}`` for those that still do."""
    shown = {spec.name: spec.value for spec in editable_fields(item.front_matter)}
    follows = {
        name: "title"
        for name, value in derived_from_title(item, title=item.title, brand=brand).items()
        if shown.get(name, "").strip() == value.strip()
    }
    description = str(item.front_matter.get("description") or "")
    if description and description == description_cut(item.body, item.variant):
        follows[PREFIX + "description"] = "brief"
    return follows


def follow(item: CuratedItem, *, brand: str | None, title: str, brief: str) -> dict[str, Any]:
    """What the derived fields become for a new title and brief, and the description's cut."""
    cut = description_cut(brief, item.variant)
    return {
        "fields": {**derived_from_title(item, title=title, brand=brand), PREFIX + "description": cut},
        "description": cut,
        "length": len(cut),
        "brief_length": len(plain_text(brief)),
    }


def cropped(image: Image.Image, ratio: tuple[int, int]) -> tuple[bytes, str]:
    """The image cut to ``ratio`` around its centre, encoded again (a GIF becomes a PNG)."""
    width, height = image.size
    want = ratio[0] / ratio[1]
    if width / height > want:
        new_width = round(height * want)
        box = ((width - new_width) // 2, 0, (width - new_width) // 2 + new_width, height)
    else:
        new_height = round(width / want)
        box = (0, (height - new_height) // 2, width, (height - new_height) // 2 + new_height)
    image_format = (image.format or "PNG").upper()
    image_format = "PNG" if image_format == "GIF" else image_format
    result = image.crop(box)
    if image_format == "JPEG" and result.mode not in {"RGB", "L"}:
        result = result.convert("RGB")
    out = io.BytesIO()
    result.save(out, format=image_format)
    return out.getvalue(), image_format
