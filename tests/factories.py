"""Factories for the objects tests build again and again: items, a draft's inputs, stores with items, a PDF.

Each builds a small, valid object with named defaults; a test passes only what it is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from medcurate.config import load_config
from medcurate.drafts import DraftInput, StoredImage
from medcurate.extract import Extraction
from medcurate.models import Community, CuratedItem, ItemState, Variant
from medcurate.rules import derive_md_name, topic_fields
from medcurate.store.db import Database
from medcurate.store.repository import record_audit, save_item

DEFAULT_BRAND = "healthitnews.example"
DEFAULT_DATE = "2024-03-04"
DEFAULT_BODY = "<p>Hospitals report ransomware attacks.</p>"
DEFAULT_NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def news_item(
    n: int,
    *,
    title: str | None = None,
    brand: str = DEFAULT_BRAND,
    topics: Sequence[str] = (),
    date: str = DEFAULT_DATE,
    body: str = DEFAULT_BODY,
) -> CuratedItem:
    """Item ``n`` of the news section, in seed 002's shape, small."""
    title = title or f"Item number {n}"
    url = f"https://{brand}/articles/{n}"
    front_matter: dict[str, Any] = {
        "aliases": f"/news/item-{n}",
        "archetype": "curated-content",
        "author": ["A. Writer"],
        "basePath": "/news/",
        **topic_fields(list(topics), Variant.NEWS_2022),
        "date": date,
        "description": f"About {title}",
        "id": n,
        "layOut": "single",
        "link": {"brand": brand, "href": url, "original": url},
        "mdName": derive_md_name(url) + ".md",
        "slug": f"item-{n}",
        "title": title,
        "openProjectCustomFields": {"cleanUrl": url, "medigyTopics": list(topics), "sourceUrl": url},
    }
    return CuratedItem(front_matter=front_matter, body=body, variant=Variant.NEWS_2022)


def store_item(
    database: Database,
    item: CuratedItem,
    *,
    state: ItemState = ItemState.DRAFT,
    community: str | None = "news",
    text: str | None = None,
    md_name: str | None = None,
    url_key: str | None = None,
    audit: bool = True,
) -> int:
    """Store an item as the app would (with its audit event) and return its id.

    ``md_name`` and ``url_key`` default to the item's URL's; ``text`` to its body.
    """
    url = item.url or ""
    with database.session() as session:
        record, _ = save_item(
            session,
            item=item,
            md_name=md_name or derive_md_name(url),
            url_key=url_key if url_key is not None else url,
            state=state,
            community=community,
            text=item.body if text is None else text,
            item_id=item.item_id,
        )
        if audit:
            record_audit(session, actor="test", action="item.create", entity_type="item", entity_id=record.id)
        return record.id


def stored_news_items(
    database: Database, count: int, *, state: ItemState = ItemState.DRAFT, first: int = 1
) -> list[int]:
    """A store holding ``count`` news items (``news_item(first)`` on); their ids, in order."""
    return [store_item(database, news_item(n), state=state) for n in range(first, first + count)]


def page_extraction(**overrides: Any) -> Extraction:
    """What ``extract`` gives for a small news page; ``overrides`` replace fields."""
    fields: dict[str, Any] = {
        "url": "https://healthitnews.example/articles/1",
        "canonical_url": "https://healthitnews.example/articles/1",
        "title": "Ransomware hits a hospital",
        "description": "A hospital's systems were down for a week.",
        "authors": ("A. Writer",),
        "date": "2024-03-04",
        "site_name": "Health IT News",
        "brand": "healthitnews.example",
        "language": "en",
        "image": None,
        "images": (),
        "favicon": "https://healthitnews.example/favicon.ico",
        "text": "A hospital's systems were down for a week.\n\nThe attackers asked for a ransom.",
        "brief_html": "<p>A hospital's systems were down for a week.</p>",
    }
    fields.update(overrides)
    return Extraction(**fields)


def draft_input(
    *, community: Community | str | None = None, image: StoredImage | None = None, **overrides: Any
) -> DraftInput:
    """The inputs of a draft for ``page_extraction()`` in a community of the default configuration.

    ``community`` is a key of the default configuration (its default community when None).
    """
    config = load_config(None)
    if community is None:
        community = config.default_community
    elif isinstance(community, str):
        community = config.community(community)
    extraction = overrides.pop("extraction", None) or page_extraction()
    fields: dict[str, Any] = {
        "extraction": extraction,
        "url": f"{extraction.url}?utm_source=newsletter",
        "canonical_url": extraction.canonical_url or extraction.url,
        "community": community,
        "item_id": 1,
        "now": DEFAULT_NOW,
        "curator": "editor",
        "image": image,
        "pdf_url": None,
    }
    fields.update(overrides)
    return DraftInput(**fields)


def make_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica, with a correct cross-reference table."""
    content = b"BT /F1 18 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out
