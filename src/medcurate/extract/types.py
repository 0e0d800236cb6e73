"""The dataclasses at the EXTRACT stage's seams: its input, its options and its result."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Focus = Literal["precision", "balanced", "recall"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PageInput:
    """One fetched or saved page: its HTML (text or raw bytes) and where it came from."""

    html: str | bytes
    url: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractOptions:
    """How the EXTRACT stage reads a page."""

    focus: Focus = "recall"
    fast: bool = True
    include_tables: bool = True
    drop_boilerplate: bool = True
    merge_split_body: bool = True
    brief_min_chars: int = 600
    brief_max_chars: int = 1000
    description_max_chars: int = 300
    min_image_side: int = 200
    max_images: int = 10


DEFAULT_EXTRACT_OPTIONS = ExtractOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class Extraction:
    """What one page yields: article text, brief, and metadata."""

    url: str | None
    canonical_url: str | None
    title: str | None
    description: str | None
    authors: tuple[str, ...]
    date: str | None
    site_name: str | None
    brand: str | None
    language: str | None
    image: str | None
    images: tuple[str, ...]
    favicon: str | None
    text: str
    brief_html: str
    html_meta: dict[str, str] = field(default_factory=dict)
    open_graph: dict[str, str] = field(default_factory=dict)
    twitter: dict[str, str] = field(default_factory=dict)
    # What the page says about itself beyond its text: its JSON-LD ``@type`` names and the addresses
    # its article links to (read by ``medcurate.intel`` for the source type and the identifiers).
    jsonld_types: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as plain JSON-ready Python values."""
        data = asdict(self)
        data["authors"] = list(self.authors)
        data["images"] = list(self.images)
        data["jsonld_types"] = list(self.jsonld_types)
        data["links"] = list(self.links)
        for name in ("html_meta", "open_graph", "twitter"):
            data[name] = dict(getattr(self, name))
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise to JSON (UTF-8 characters kept as they are)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=indent)
