"""Identifier extraction: real-world spellings in, normalised keys out; no numbers that only look alike."""

from __future__ import annotations

import pytest

from medcurate.intel.identifiers import (
    Identifier,
    find_identifiers,
    identifiers_of,
    link_out,
    parse_identifier,
    shared_identifiers,
)

FOUND_IN_TEXT = [
    ("The study (doi:10.1056/NEJMoa2034577).", ["doi:10.1056/nejmoa2034577"]),
    ("Published in JAMA, DOI: 10.1001/jama.2020.1585.", ["doi:10.1001/jama.2020.1585"]),
    (
        "See https://doi.org/10.1016/S0140-6736(20)30183-5, the Lancet's report",
        ["doi:10.1016/s0140-6736(20)30183-5"],
    ),
    ("(https://doi.org/10.1038/s41586-020-2012-7)", ["doi:10.1038/s41586-020-2012-7"]),
    ("available at 10.2196/12345; accessed May 2", ["doi:10.2196/12345"]),
    ("PMID: 32015507", ["pmid:32015507"]),
    ("PMID 123 and PubMed ID #4567", ["pmid:123", "pmid:4567"]),
    ("full text in PMC7092803.", ["pmcid:PMC7092803"]),
    ("The trial (NCT01234567) enrolled", ["nct:NCT01234567"]),
    ("registered as nct04368728", ["nct:NCT04368728"]),
    ("FDA cleared the device under 510(k) K123456.", ["fda510k:K123456"]),
    ("The FDA granted De Novo DEN200012 to the app", ["fdadenovo:DEN200012"]),
    ("DEN200012", ["fdadenovo:DEN200012"]),
    ("The FDA approved PMA P200001 for the valve", ["fdapma:P200001"]),
    ("the FDA approved supplement P200001/S012", ["fdapma:P200001/S012"]),
    ("published at 86 FR 12345 on March 1", ["fr:86 FR 12345"]),
    ("see 85 Fed. Reg. 25642 (May 1, 2020)", ["fr:85 FR 25642"]),
    ("[FR Doc. 2021-12345 Filed 6-3-21; 8:45 am]", ["frdoc:2021-12345"]),
    ("Document Number: 2020-07419", ["frdoc:2020-07419"]),
    ("HIPAA's 45 CFR 164.312 technical safeguards", ["cfr:45 CFR 164.312"]),
    ("under 45 C.F.R. § 164.502(e)", ["cfr:45 CFR 164.502"]),
    ("Part 11 (21 CFR Part 11) and 42 CFR part 2", ["cfr:21 CFR 11", "cfr:42 CFR 2"]),
]

FOUND_IN_LINKS = [
    ("https://www.nejm.org/doi/full/10.1056/NEJMoa2034577?query=featured_home", "doi:10.1056/nejmoa2034577"),
    ("https://onlinelibrary.wiley.com/doi/abs/10.1002/jmv.25678", "doi:10.1002/jmv.25678"),
    ("https://www.frontiersin.org/articles/10.3389/fpubh.2020.00154/full", "doi:10.3389/fpubh.2020.00154"),
    ("https://dx.doi.org/10.1136%2Fbmj.m1091", "doi:10.1136/bmj.m1091"),
    ("https://pubmed.ncbi.nlm.nih.gov/32015507/", "pmid:32015507"),
    ("https://www.ncbi.nlm.nih.gov/pubmed/31978945", "pmid:31978945"),
    ("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7092803/", "pmcid:PMC7092803"),
    ("https://clinicaltrials.gov/ct2/show/NCT04280705", "nct:NCT04280705"),
    ("https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpmn/pmn.cfm?ID=K201234", "fda510k:K201234"),
    ("https://www.accessdata.fda.gov/cdrh_docs/pdf20/DEN200012.pdf", "fdadenovo:DEN200012"),
    ("https://www.federalregister.gov/documents/2021/06/04/2021-11767/some-rule", "frdoc:2021-11767"),
    ("https://www.federalregister.gov/d/2020-07419", "frdoc:2020-07419"),
    (
        "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/section-164.312",
        "cfr:45 CFR 164.312",
    ),
]

NOT_IDENTIFIERS = [
    "Call (202) 555-0123 or 1-800-555-1234, fax 301.796.8910.",
    "Dates: 2021-06-04, 06/04/2021, 4 June 2021, 2020-2021 season, FY2021-2022.",
    "It costs $12,345.00, or $10.50/month; revenue rose to $1.5 billion (10.5%).",
    "FDA offices: 10903 New Hampshire Ave, Silver Spring, MD 20993-0002; zip 20852.",
    "FDA says the dose is 10.5 mg/kg; ISBN 978-3-16-148410-0; order no. 2021-1234.",
    "Room K12 and product P12345 shipped; model K1234567 (seven digits)",
    "Part number K123456 and P200001 with no regulator in sight",
    "an unlabelled number 32015507 and a year range 2019-12345 without its label",
    "Pages 45 to 164 of the CFO report; 86 for 12345 reasons",
]


@pytest.mark.parametrize(("text", "expected"), FOUND_IN_TEXT)
def test_identifiers_found_in_text(text: str, expected: list[str]) -> None:
    assert [i.key for i in find_identifiers(text)] == expected


@pytest.mark.parametrize(("link", "expected"), FOUND_IN_LINKS)
def test_identifiers_found_in_links(link: str, expected: str) -> None:
    assert [i.key for i in find_identifiers("", [link])] == [expected]


@pytest.mark.parametrize("text", NOT_IDENTIFIERS)
def test_no_false_positives(text: str) -> None:
    assert find_identifiers(text) == ()


def test_meta_tags_come_first_and_each_identifier_once() -> None:
    found = find_identifiers(
        "Cited: doi:10.1234/other. Our DOI 10.1056/NEJMoa2034577.",
        ["https://doi.org/10.1056/nejmoa2034577"],
        meta={"citation_doi": "10.1056/NEJMoa2034577", "citation_pmid": "33301246"},
    )
    assert [i.key for i in found] == ["doi:10.1056/nejmoa2034577", "pmid:33301246", "doi:10.1234/other"]


def test_limit_keeps_the_first() -> None:
    text = " ".join(f"NCT{n:08d}" for n in range(40))
    assert len(find_identifiers(text)) == 25
    assert find_identifiers(text, limit=2)[1].key == "nct:NCT00000001"


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("doi:10.1056/nejmoa2034577", "https://doi.org/10.1056/nejmoa2034577"),
        ("pmid:32015507", "https://pubmed.ncbi.nlm.nih.gov/32015507/"),
        ("pmcid:PMC7092803", "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7092803/"),
        ("nct:NCT01234567", "https://clinicaltrials.gov/study/NCT01234567"),
        ("fda510k:K123456", "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpmn/pmn.cfm?ID=K123456"),
        (
            "fdapma:P200001/S012",
            "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpma/pma.cfm?id=P200001",
        ),
        (
            "fdadenovo:DEN200012",
            "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs/cfpmn/denovo.cfm?id=DEN200012",
        ),
        ("fr:86 FR 12345", "https://www.federalregister.gov/citation/86-FR-12345"),
        ("frdoc:2021-12345", "https://www.federalregister.gov/d/2021-12345"),
        ("cfr:45 CFR 164.312", "https://www.ecfr.gov/current/title-45/section-164.312"),
        ("cfr:42 CFR 2", "https://www.ecfr.gov/current/title-42/part-2"),
    ],
)
def test_link_out(key: str, url: str) -> None:
    (identifier,) = identifiers_of([key])
    assert link_out(identifier) == url == identifier.url


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("10.1056/NEJMoa2034577", "doi:10.1056/nejmoa2034577"),
        ("https://doi.org/10.1056/NEJMoa2034577", "doi:10.1056/nejmoa2034577"),
        ("doi:10.1056/nejmoa2034577", "doi:10.1056/nejmoa2034577"),
        ("NCT01234567", "nct:NCT01234567"),
        ("PMID: 123", "pmid:123"),
        ("32015507", "pmid:32015507"),
        ("K123456", "fda510k:K123456"),
        ("P200001", "fdapma:P200001"),
        ("2021-12345", "frdoc:2021-12345"),
        ("45 CFR 164.312", "cfr:45 CFR 164.312"),
        ("86 FR 12345", "fr:86 FR 12345"),
    ],
)
def test_parse_identifier_as_typed(typed: str, key: str) -> None:
    parsed = parse_identifier(typed)
    assert parsed is not None and parsed.key == key


def test_parse_identifier_refuses_words() -> None:
    assert parse_identifier("hospital") is None
    assert parse_identifier("") is None


def test_shared_identifiers_are_story_evidence_but_cfr_is_not() -> None:
    a = {"identifiers": ["doi:10.1/x", "cfr:45 CFR 164.312", "nct:NCT01234567"]}
    b = ["cfr:45 CFR 164.312", "nct:NCT01234567", Identifier("doi", "10.1/x")]
    assert [i.key for i in shared_identifiers(a, b)] == ["doi:10.1/x", "nct:NCT01234567"]
    assert shared_identifiers(a, {"identifiers": ["cfr:45 CFR 164.312"]}) == ()
    assert shared_identifiers({}, a) == ()


def test_identifiers_of_ignores_what_is_not_a_key() -> None:
    assert identifiers_of({"identifiers": "doi:10.1/x"}) == ()
    assert identifiers_of({"identifiers": ["nonsense", 5, "doi:10.1/x", "unknown:1"]}) == (
        Identifier("doi", "10.1/x"),
    )
