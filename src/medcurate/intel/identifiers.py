"""Identifiers of the studies, trials, devices and rules an article is about: find, normalise, link out.

Each identifier is kept as one text key, ``scheme:value`` (``doi:10.1056/nejmoa2034577``,
``nct:NCT01234567``, ``cfr:45 CFR 164.312``), in the item's ``identifiers`` front-matter field: a
plain list of strings, which every front-matter variant writes and reads back unchanged.

Written by hand because no library covers the set: DOI finders exist alone (and keep the trailing
full stop of a sentence), the rest are US health-regulatory numbers with no Python package. The
rules that keep false positives out (phone numbers, dates, prices, zip codes) are:

- a PubMed id is only a number labelled ``PMID`` or found in a PubMed link; a bare number never is;
- a 510(k) ``K123456`` or PMA ``P200001`` number counts only in a text that speaks of the FDA or
  of device clearance (``K123456`` is also a part number), a De Novo ``DEN200012`` anywhere;
- a Federal Register document number (``2021-12345``) only after its label (``FR Doc.``,
  ``Document Number``) or in a federalregister.gov link: alone it is a range of numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

FRONT_MATTER_KEY = "identifiers"
MAX_IDENTIFIERS = 25  # a paper's reference list would otherwise bury the page's own identifiers

# The schemes whose identifiers name one study, trial, device or rule document: two items sharing
# one are about the same thing. A CFR section (HIPAA's 45 CFR 164.312) is cited by many stories.
STORY_SCHEMES = frozenset({"doi", "pmid", "pmcid", "nct", "fda510k", "fdapma", "fdadenovo", "fr", "frdoc"})

_SCHEME_NAMES = {
    "doi": "DOI",
    "pmid": "PMID",
    "pmcid": "PMCID",
    "nct": "ClinicalTrials.gov",
    "fda510k": "FDA 510(k)",
    "fdapma": "FDA PMA",
    "fdadenovo": "FDA De Novo",
    "fr": "Federal Register",
    "frdoc": "Federal Register document",
    "cfr": "CFR",
}

_FDA_CDRH = "https://www.accessdata.fda.gov/scripts/cdrh/cfdocs"


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    """One normalised identifier: its scheme (``doi``, ``nct``...) and its canonical value."""

    scheme: str
    value: str

    @property
    def key(self) -> str:
        """The stored form, ``scheme:value``."""
        return f"{self.scheme}:{self.value}"

    @property
    def name(self) -> str:
        """What an editor calls the scheme (``DOI``, ``FDA 510(k)``)."""
        return _SCHEME_NAMES.get(self.scheme, self.scheme)

    @property
    def url(self) -> str | None:
        """Where the identified record lives on its registry's own site."""
        return link_out(self)


# Registry pages; ``head``/``tail`` are a citation's volume or title and its page, part or section.
_LINKS = {
    "doi": "https://doi.org/{value}",
    "pmid": "https://pubmed.ncbi.nlm.nih.gov/{value}/",
    "pmcid": "https://www.ncbi.nlm.nih.gov/pmc/articles/{value}/",
    "nct": "https://clinicaltrials.gov/study/{value}",
    "fda510k": _FDA_CDRH + "/cfpmn/pmn.cfm?ID={value}",
    "fdapma": _FDA_CDRH + "/cfpma/pma.cfm?id={base}",  # a supplement (/S012) is on its PMA's page
    "fdadenovo": _FDA_CDRH + "/cfpmn/denovo.cfm?id={value}",
    "fr": "https://www.federalregister.gov/citation/{head}-FR-{tail}",
    "frdoc": "https://www.federalregister.gov/d/{value}",
    "cfr": "https://www.ecfr.gov/current/title-{head}/{unit}-{tail}",
}


def link_out(identifier: Identifier) -> str | None:
    """The registry page of an identifier (doi.org, PubMed, ClinicalTrials.gov, FDA, FR, eCFR)."""
    template = _LINKS.get(identifier.scheme)
    if template is None:
        return None
    value = identifier.value
    head, _, tail = value.partition(" FR " if identifier.scheme == "fr" else " CFR ")
    unit = "section" if "." in tail else "part"
    return template.format(value=value, base=value.split("/")[0], head=head, tail=tail, unit=unit)


# --- the patterns -----------------------------------------------------------------------------

# A DOI runs to the first white space or quote; the end is trimmed below (sentence punctuation).
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>\]\[{}|\\^`]+)", re.I)
_DOI_URL_TAIL = re.compile(r"(?:/(?:full|abstract|fulltext|pdf|epdf|html|meta|suppl_file))+$|\.pdf$", re.I)
_PMID = re.compile(r"\b(?:PMID|PubMed\s+ID)\s*[:#]?\s*(\d{1,9})\b", re.I)
_PUBMED_URL = re.compile(
    r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/(?:\?term=)?)(\d{1,9})\b", re.I
)
_PMCID = re.compile(r"\bPMC\s?(\d{4,9})\b")
_PMC_URL = re.compile(r"/(?:pmc/)?articles/PMC(\d{4,9})\b", re.I)
_NCT = re.compile(r"\bNCT\s?(\d{8})\b", re.I)
_K510 = re.compile(r"\b(K\d{6})\b")
_PMA = re.compile(r"\b(P\d{6})(?:/(S\d{3}))?\b")
_DENOVO = re.compile(r"\b(DEN\d{6})\b", re.I)
_FDA_CONTEXT = re.compile(
    r"\bFDA\b|510\s?\(k\)|\bpremarket\b|\bpre-market\b|\bPMA\b|\bDe Novo\b|Food and Drug Administration", re.I
)
_FR_CITATION = re.compile(r"\b(\d{1,3})\s*(?:FR|Fed\.\s?Reg\.)\s*(\d{1,6})\b")
_FR_DOC = re.compile(
    r"(?:\bFR\s+Doc\.?\s*(?:No\.?)?|\bDocument\s+(?:Number|No\.?)\s*:?|\bDocket\s+No\.?\s*:?)\s*(\d{4}-\d{5})\b",
    re.I,
)
_FR_DOC_URL = re.compile(r"federalregister\.gov/(?:d|documents/\d{4}/\d{2}/\d{2})/(\d{4}-\d{5})\b", re.I)
_CFR = re.compile(
    r"\b(\d{1,2})\s*(?:CFR|C\.F\.R\.)\s*(?:§{1,2}\s*|[Pp]arts?\s+|[Ss]ections?\s+|[Ss]ec\.\s*)?"
    r"(\d{1,4}(?:\.\d{1,5}[a-z]?)?)\b"
)
_ECFR_SECTION_URL = re.compile(r"ecfr\.gov/current/title-(\d{1,2})/(?:.*/)?section-(\d{1,4}\.\d{1,5})", re.I)
_ECFR_PART_URL = re.compile(r"ecfr\.gov/current/title-(\d{1,2})/(?:.*/)?part-(\d{1,4})\b", re.I)


def _trim_doi(doi: str) -> str:
    """Drop the sentence's punctuation after a DOI, keeping balanced brackets (``(20)30183-5``)."""
    doi = unquote(doi)
    while doi:
        last = doi[-1]
        if last in ".,;:!?'\"*" or (last == ")" and doi.count("(") < doi.count(")")):
            doi = doi[:-1]
        else:
            break
    return doi


def _dois(text: str, *, from_url: bool) -> Iterable[Identifier]:
    for match in _DOI.finditer(text):
        doi = match.group(1)
        if from_url:
            doi = _DOI_URL_TAIL.sub("", doi.split("?")[0].split("#")[0])
        doi = _trim_doi(doi)
        if "/" in doi and not doi.endswith("/"):
            yield Identifier("doi", doi.lower())


def _pattern_ids(text: str, *, fda_context: bool) -> Iterable[Identifier]:
    """Every identifier of a text but its DOIs, in the order of the schemes."""
    for match in _PMID.finditer(text):
        yield Identifier("pmid", str(int(match.group(1))))
    for match in _PMCID.finditer(text):
        yield Identifier("pmcid", f"PMC{match.group(1)}")
    for match in _NCT.finditer(text):
        yield Identifier("nct", f"NCT{match.group(1)}")
    if fda_context:
        for match in _K510.finditer(text):
            yield Identifier("fda510k", match.group(1))
        for match in _PMA.finditer(text):
            supplement = match.group(2)
            yield Identifier("fdapma", f"{match.group(1)}/{supplement}" if supplement else match.group(1))
    for match in _DENOVO.finditer(text):
        yield Identifier("fdadenovo", match.group(1).upper())
    for match in _FR_CITATION.finditer(text):
        yield Identifier("fr", f"{int(match.group(1))} FR {int(match.group(2))}")
    for match in _FR_DOC.finditer(text):
        yield Identifier("frdoc", match.group(1))
    for match in _CFR.finditer(text):
        yield Identifier("cfr", f"{int(match.group(1))} CFR {match.group(2)}")


def _link_ids(link: str) -> Iterable[Identifier]:
    """The identifiers a link's address names (doi.org, PubMed, PMC, registries)."""
    decoded = unquote(link)
    yield from _dois(decoded, from_url=True)
    for match in _PUBMED_URL.finditer(decoded):
        yield Identifier("pmid", str(int(match.group(1))))
    for match in _PMC_URL.finditer(decoded):
        yield Identifier("pmcid", f"PMC{match.group(1)}")
    for match in _NCT.finditer(decoded):
        yield Identifier("nct", f"NCT{match.group(1)}")
    if "accessdata.fda.gov" in decoded.lower():
        yield from _pattern_ids(decoded.split("?", 1)[-1], fda_context=True)
    for match in _FR_DOC_URL.finditer(decoded):
        yield Identifier("frdoc", match.group(1))
    ecfr = _ECFR_SECTION_URL.search(decoded) or _ECFR_PART_URL.search(decoded)
    if ecfr is not None:
        yield Identifier("cfr", f"{int(ecfr.group(1))} CFR {ecfr.group(2)}")


def find_identifiers(
    text: str,
    links: Iterable[str] = (),
    *,
    meta: Mapping[str, str] | None = None,
    limit: int = MAX_IDENTIFIERS,
) -> tuple[Identifier, ...]:
    """The identifiers of an article, each once, the page's own first.

    Args:
        text: the article's text (and title); identifiers are found where it spells them.
        links: the addresses the article links to.
        meta: the page's meta tags keyed as ``extract`` keys them (``citation_doi``, ``citation_pmid``,
            ``dc.identifier``): the identifiers a journal page declares for itself come first.
        limit: at most this many.

    Returns:
        Normalised identifiers in the order first seen: meta tags, then text, then links.
    """
    found: dict[Identifier, None] = {}
    meta = meta or {}
    own = " ".join(
        meta.get(key, "") for key in ("citation_doi", "dc.identifier", "prism.doi", "bepress_citation_doi")
    )
    for identifier in _dois(own, from_url=True):
        found.setdefault(identifier)
    pmid = meta.get("citation_pmid", "").strip()
    if pmid.isdigit():
        found.setdefault(Identifier("pmid", str(int(pmid))))
    for identifier in _dois(text, from_url=False):
        found.setdefault(identifier)
    for identifier in _pattern_ids(text, fda_context=bool(_FDA_CONTEXT.search(text))):
        found.setdefault(identifier)
    for link in links:
        for identifier in _link_ids(link):
            found.setdefault(identifier)
    return tuple(found)[:limit]


def parse_identifier(text: str) -> Identifier | None:
    """An identifier as stored (``doi:10.1/x``) or as an editor types it (``NCT01234567``, ``PMID 1``)."""
    text = " ".join(text.split())
    scheme, sep, value = text.partition(":")
    if sep and scheme.lower() in _SCHEME_NAMES and value.strip():
        scheme, text = scheme.lower(), value.strip()
    else:
        scheme = ""
    # The finder's context rules guard running text; a typed identifier is taken at its word.
    for spelled in (f"{text} FDA", f"FR Doc. {text}", f"PMID {text}"):
        for identifier in find_identifiers(spelled, (text,)):
            if not scheme or identifier.scheme == scheme:
                return identifier
    return Identifier(scheme, text) if scheme else None


def identifier_key(text: str) -> str:
    """The stored key an editor's search for an identifier means (as typed when it reads as none)."""
    parsed = parse_identifier(text)
    return parsed.key if parsed is not None else " ".join(text.split())


def identifiers_of(source: Mapping[str, Any] | Iterable[str | Identifier]) -> tuple[Identifier, ...]:
    """The identifiers an item carries: from its front matter, or from keys or identifiers."""
    if isinstance(source, Mapping):
        raw = source.get(FRONT_MATTER_KEY)
        entries: Iterable[Any] = raw if isinstance(raw, list) else ()
    else:
        entries = source
    kept: dict[Identifier, None] = {}
    for entry in entries:
        if isinstance(entry, Identifier):
            kept.setdefault(entry)
        elif isinstance(entry, str):
            scheme, sep, value = entry.partition(":")
            if sep and scheme in _SCHEME_NAMES and value:
                kept.setdefault(Identifier(scheme, value))
    return tuple(kept)


def identifier_keys(identifiers: Iterable[Identifier]) -> list[str]:
    """The front-matter value: the keys, in order."""
    return [identifier.key for identifier in identifiers]


def shared_identifiers(
    a: Mapping[str, Any] | Iterable[str | Identifier], b: Mapping[str, Any] | Iterable[str | Identifier]
) -> tuple[Identifier, ...]:
    """The identifiers two items share that name one study, trial, device or rule: same-story evidence.

    Args:
        a: an item's front matter, or its identifier keys or identifiers.
        b: the other item's, in any of those forms.

    Returns:
        The shared identifiers of ``STORY_SCHEMES`` (CFR sections, cited by many unrelated stories,
        never count), in ``a``'s order; empty when the items share none.
    """
    theirs = set(identifiers_of(b))
    return tuple(i for i in identifiers_of(a) if i in theirs and i.scheme in STORY_SCHEMES)
