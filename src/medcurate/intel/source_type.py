"""What kind of source a page is: research, preprint, press release, news, opinion, government...

``classify(signals, memory)`` weighs the page's own signals (JSON-LD ``@type``, ``citation_*`` meta
tags, press-release wires, government and journal domains, preprint servers, URL sections, bylines,
tell-tale phrases) and what editors taught it (``SourceTypeMemory``: their corrections per domain
and a small text model over the corrected items), and returns the type with its reason.

Rules are data (the tables below) and each adds a weight to one type; the heaviest type wins, news
being the fallback of an article page with nothing more specific. The weights were set on the
labelled set of ``bench/source_types.py`` (docs/benchmarks.md); no rule names a single site other
than the well-known wires, preprint servers and journal publishers.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from medcurate.intel.identifiers import find_identifiers
from medcurate.intel.kinds import SourceType
from medcurate.intel.signals import PageSignals

WIRES = frozenset(
    {
        "prnewswire.com", "businesswire.com", "globenewswire.com", "accesswire.com", "einpresswire.com",
        "newswire.com", "prweb.com", "newsfilecorp.com", "eurekalert.org", "prlog.org", "openpr.com",
        "newswire.ca", "pressat.co.uk", "issuewire.com", "24-7pressrelease.com",
    }
)  # fmt: skip
PREPRINT_SERVERS = frozenset(
    {
        "biorxiv.org", "medrxiv.org", "arxiv.org", "ssrn.com", "researchsquare.com", "preprints.org",
        "osf.io", "chemrxiv.org", "authorea.com", "psyarxiv.com", "scienceopen.com", "zenodo.org",
    }
)  # fmt: skip
PREPRINT_DOI_PREFIXES = (
    "10.1101/",
    "10.21203/",
    "10.48550/",
    "10.2139/",
    "10.20944/",
    "10.31219/",
    "10.26434/",
)
JOURNAL_PUBLISHERS = frozenset(
    {
        "nejm.org", "jamanetwork.com", "thelancet.com", "bmj.com", "nature.com", "sciencedirect.com",
        "springer.com", "springeropen.com", "biomedcentral.com", "wiley.com", "plos.org", "frontiersin.org",
        "mdpi.com", "cell.com", "oup.com", "tandfonline.com", "sagepub.com", "ahajournals.org",
        "acpjournals.org", "jmir.org", "science.org", "pnas.org", "karger.com", "thieme-connect.com",
        "lww.com", "annfammed.org", "elifesciences.org", "cochranelibrary.com", "hindawi.com",
        "dovepress.com", "bmcmedicine.biomedcentral.com", "aafp.org", "diabetesjournals.org",
    }
)  # fmt: skip
LITERATURE_HOSTS = ("pubmed.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov", "europepmc.org")
GOVERNMENT_SUFFIXES = (".gov", ".mil", ".gov.uk", ".nhs.uk", ".gc.ca", ".gov.au", ".europa.eu", ".gouv.fr")
GOVERNMENT_DOMAINS = frozenset({"who.int", "europa.eu", "canada.ca", "nhs.uk", "gov.uk"})

_SCHOLARLY_TYPES = frozenset({"ScholarlyArticle", "MedicalScholarlyArticle", "Thesis"})
_OPINION_TYPES = frozenset({"OpinionNewsArticle", "AnalysisNewsArticle", "ReviewNewsArticle", "Review"})
_NEWS_TYPES = frozenset({"NewsArticle", "ReportageNewsArticle", "BackgroundNewsArticle"})
_VENDOR_TYPES = frozenset({"Product", "SoftwareApplication", "WebApplication", "Offer", "Service"})
_GOVERNMENT_TYPES = frozenset({"GovernmentOrganization", "GovernmentService", "Legislation"})

_WORD_EDGES = (r"\b(?:", r")\b")


def _words(*alternatives: str, flags: int = 0, edges: tuple[str, str] = _WORD_EDGES) -> re.Pattern[str]:
    """One pattern matching any of the alternatives (regular expressions) between word boundaries."""
    return re.compile(edges[0] + "|".join(alternatives) + edges[1], flags)


_SEGMENT = (r"/(?:", r")(?:/|$)")  # a whole segment of a URL path
_URL_SECTIONS: tuple[tuple[SourceType, re.Pattern[str], float], ...] = (
    (
        SourceType.PRESS_RELEASE,
        _words(r"press[-_]?releases?", r"news[-_]?releases?", "pressroom", "newsroom",
               r"media[-_]?(?:center|centre|room)", edges=_SEGMENT),
        2.5,
    ),
    (
        SourceType.OPINION,
        _words("opinions?", "commentary", "op-?eds?", "columnists?", "columns?", "perspectives?",
               "viewpoints?", "editorials?", "analysis", "voices", "advice", edges=_SEGMENT),
        2.5,
    ),
    (SourceType.EVENT, _words("events?", "webinars?", "conferences?", "summit", "webcasts?", "on-demand",
                              edges=_SEGMENT), 2.0),
    (
        SourceType.VENDOR,
        _words("solutions?", "products?", "platform", "pricing", r"case-stud(?:y|ies)", "white-?papers?",
               "e-?books?", "customers", "demo", edges=_SEGMENT),
        2.0,
    ),
)  # fmt: skip
_EVENT_NAMES = "summit|conference|hackathon|meetup|forum|expo|symposium"
_TITLE_PREFIX: tuple[tuple[SourceType, re.Pattern[str]], ...] = (
    (
        SourceType.OPINION,
        _words("opinion", "op-ed", "commentary", "viewpoint", "perspective", "analysis", "column",
               "editorial", "guest post", "letter", flags=re.I, edges=(r"^(?:", r")\s*[:|\-–—]")),
    ),
    (SourceType.EVENT, _words("webinar", "(?:virtual|live) event", "register now", "webcast", flags=re.I)),
    (SourceType.EVENT, _words(rf"(?:{_EVENT_NAMES}) \d{{4}}", rf"\d{{4}} (?:{_EVENT_NAMES})", flags=re.I)),
    (SourceType.PRESS_RELEASE, _words("announces?", "launch(?:es)?", flags=re.I)),
    (SourceType.OPINION, _words(r"review(?! of\b)", flags=re.I)),
)  # fmt: skip
_OPINION_SECTIONS = re.compile(r"opinion|commentary|editorial|column|analysis|perspective|viewpoint", re.I)
_SECTION_NAMES: tuple[tuple[SourceType, re.Pattern[str]], ...] = (
    (SourceType.OPINION, _OPINION_SECTIONS),
    (SourceType.PRESS_RELEASE, re.compile(r"press release|news release", re.I)),
)
# Phrases that mark a kind of text, each with the weight one occurrence carries (two at most count).
_PHRASES: tuple[tuple[SourceType, re.Pattern[str], float, str], ...] = (
    (
        SourceType.PRESS_RELEASE,
        _words("FOR IMMEDIATE RELEASE", r"/\s*PRNewswire(?:-HISPANIC PR WIRE)?\s*/", r"\(BUSINESS WIRE\)",
               "GLOBE NEWSWIRE", r"/\s*CNW\s*/", "ACCESSWIRE", "EINPresswire", edges=("(?:", ")")),
        3.0,
        "a wire's dateline",
    ),
    (
        SourceType.PRESS_RELEASE,
        _words(r"(?:Media|Press|Investor) (?:Contacts?|Relations|Inquiries)\s*:?",
               "forward-looking statement",
               r"\bAbout [A-Z][\w&.'-]+(?: [A-Z][\w&.'-]+){0,4}\s*\n", flags=re.I, edges=("(?:", ")")),
        1.5,
        "release boilerplate (media contact, 'About ...')",
    ),
    (SourceType.PRESS_RELEASE, _words("(?:today )?announced(?: today)?"), 0.5, "'announced today'"),
    (
        SourceType.EVENT,
        _words("register (?:now|today|here|for free)", "(?:save|reserve) your (?:seat|spot)",
               "join us (?:on|for|at)", "webinar", "agenda", "speakers include", "(?:live|virtual) event",
               "on-demand session", flags=re.I),
        1.2,
        "invites to register",
    ),
    (
        SourceType.EVENT,
        _words(r"\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)\s*(?:[ECMP][SD]?T|GMT|BST|CET)", flags=re.I),
        1.0,
        "a start time with its time zone",
    ),
    (
        SourceType.VENDOR,
        _words("(?:request|book|schedule|get) a demo", "contact (?:our )?sales", "free trial",
               "download (?:the|our|this|your free) (?:e-?book|white ?paper|guide|report|checklist)",
               "our (?:platform|solutions?|customers|software|product)", "talk to an expert", flags=re.I),
        1.2,
        "sales calls to action ('request a demo', 'our platform')",
    ),
    (
        SourceType.OPINION,
        _words("(?i:in my (?:view|opinion|experience))", "I (?:think|believe|argue|would argue)",
               "I have (?:long )?argued", "(?i:we (?:must|should) (?:stop|start|ask))",
               "(?i:the views expressed)",
               "Dear Abby", "is an opinion"),
        1.0,
        "first-person argument",
    ),
    (
        SourceType.RESEARCH,
        _words("Abstract", "Background", "Objectives?", "Methods", "Results", "Conclusions?", "Introduction",
               "Discussion", "Design, Setting, and Participants", "Main Outcomes and Measures",
               flags=re.M, edges=("^(?:", r")\s*:?\s*$")),
        0.8,
        "the sections of a paper (Methods, Results...)",
    ),
    (
        SourceType.PREPRINT,
        _words(r"preprint\b.{0,80}\bnot (?:yet )?(?:been )?(?:certified by )?peer[- ]review",
               "has not been peer[- ]reviewed", flags=re.I | re.S),
        1.2,
        "says it is a preprint not yet peer-reviewed",
    ),
    (
        SourceType.GOVERNMENT,
        _words("Department of Health and Human Services", "Centers for Medicare (?:&|and) Medicaid Services",
               "Food and Drug Administration", "Office for Civil Rights", "(?:interim )?final rule",
               "proposed rule", "notice of proposed rulemaking", "Federal Register"),
        0.6,
        "speaks as a regulator (rules, agencies)",
    ),
)  # fmt: skip

_QUOTED = re.compile(r"[“\"][^”\"]{0,600}[”\"]")
_FIRST_PERSON = re.compile(r"\b(?:I|my|me|I'm|I've)\b")
FIRST_PERSON_SHARE = 0.012  # of the words outside quotations
NEWS_PRIOR = 1.0  # an article page with nothing more specific is a news report
MAX_PHRASE_HITS = 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """A source type, why, and the weight each type received."""

    source_type: SourceType
    reason: str
    scores: dict[str, float] = field(default_factory=dict)
    audience: str | None = None


@dataclass
class _Tally:
    """Weights and reasons per type while the rules run."""

    weights: dict[SourceType, float] = field(default_factory=lambda: defaultdict(float))
    reasons: dict[SourceType, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: SourceType, weight: float, reason: str) -> None:
        self.weights[kind] += weight
        self.reasons[kind].append((weight, reason))


def _in_domains(domain: str, host: str, domains: frozenset[str]) -> bool:
    return domain in domains or host in domains or any(host.endswith("." + d) for d in domains)


def _is_government(domain: str, host: str) -> bool:
    return host.endswith(GOVERNMENT_SUFFIXES) or _in_domains(domain, host, GOVERNMENT_DOMAINS)


def _domain_rules(page: PageSignals, tally: _Tally) -> None:
    domain, host = page.domain, page.host
    if _in_domains(domain, host, WIRES):
        tally.add(SourceType.PRESS_RELEASE, 4.0, f"published on the press-release wire {domain}")
    if _in_domains(domain, host, PREPRINT_SERVERS):
        tally.add(SourceType.PREPRINT, 4.5, f"published on the preprint server {domain}")
    if _in_domains(domain, host, JOURNAL_PUBLISHERS):
        tally.add(SourceType.RESEARCH, 2.5, f"published by the journal publisher {domain}")
    if host.endswith(LITERATURE_HOSTS) and re.search(r"/pmc/|/articles?/|^/\d+", page.path):
        tally.add(SourceType.RESEARCH, 4.0, f"a record of the literature database {host}")
    elif _is_government(domain, host):
        tally.add(SourceType.GOVERNMENT, 3.5, f"a government site ({host})")


def _meta_rules(page: PageSignals, tally: _Tally) -> None:
    meta, types = page.meta, page.jsonld_types
    doi = meta.get("citation_doi", "") or meta.get("dc.identifier", "")
    if any(doi.lower().removeprefix("https://doi.org/").startswith(p) for p in PREPRINT_DOI_PREFIXES):
        tally.add(SourceType.PREPRINT, 4.0, f"its DOI {doi} is a preprint server's")
    if meta.get("citation_journal_title") or (meta.get("citation_title") and doi):
        journal = meta.get("citation_journal_title") or "a journal"
        tally.add(SourceType.RESEARCH, 3.0, f"citation meta tags of {journal}")
    if scholarly := types & _SCHOLARLY_TYPES:
        tally.add(SourceType.RESEARCH, 3.0, f"JSON-LD @type {sorted(scholarly)[0]}")
    if opinion := types & _OPINION_TYPES:
        tally.add(SourceType.OPINION, 3.5, f"JSON-LD @type {sorted(opinion)[0]}")
    if news := types & _NEWS_TYPES:
        tally.add(SourceType.NEWS, 1.5, f"JSON-LD @type {sorted(news)[0]}")
    if events := {t for t in types if t.endswith("Event")}:
        tally.add(SourceType.EVENT, 3.5, f"JSON-LD @type {sorted(events)[0]}")
    if vendor := types & _VENDOR_TYPES:
        tally.add(SourceType.VENDOR, 2.5, f"JSON-LD @type {sorted(vendor)[0]}")
    if government := types & _GOVERNMENT_TYPES:
        tally.add(SourceType.GOVERNMENT, 2.0, f"JSON-LD @type {sorted(government)[0]}")
    section = meta.get("articlesection", "") or meta.get("ogarticlesection", "")
    for kind, pattern in _SECTION_NAMES:
        if pattern.search(section):
            tally.add(kind, 2.5, f"filed under the section '{section}'")
    if page.authors:
        tally.add(SourceType.NEWS, 0.5, "a byline")
    if meta.get("ogtype", "").lower() == "article" or meta.get("articlepublished_time"):
        tally.add(SourceType.NEWS, 0.5, "an article's meta tags")


def _text_rules(page: PageSignals, tally: _Tally) -> None:
    for kind, pattern, weight in _URL_SECTIONS:
        if match := pattern.search(page.path):
            tally.add(kind, weight, f"its address is in {match.group(0).rstrip('/')}/")
    for kind, pattern in _TITLE_PREFIX:
        if match := pattern.search(page.title):
            weight = 0.7 if kind is SourceType.PRESS_RELEASE else 1.5
            tally.add(kind, weight, f"its title says '{match.group(0).strip(' :|-')}'")
    head = page.text[:6000]
    # Quotations are the people a report quotes, not its author speaking.
    unquoted = _QUOTED.sub(" ", head)
    for kind, pattern, weight, reason in _PHRASES:
        hits = len(pattern.findall(unquoted if kind is SourceType.OPINION else head))
        if hits:
            tally.add(kind, weight * min(hits, MAX_PHRASE_HITS), reason)
    first_person = len(_FIRST_PERSON.findall(unquoted))
    words = max(len(head.split()), 1)
    if first_person / words > FIRST_PERSON_SHARE and words > 150:
        tally.add(SourceType.OPINION, 1.5, "written in the first person")
    if any(i.scheme == "frdoc" for i in find_identifiers(head)):
        tally.add(SourceType.GOVERNMENT, 1.0, "a Federal Register document number")


_PATIENT_CUES = re.compile(
    r"\b(?:talk (?:to|with) your (?:doctor|health ?care provider|pharmacist)|ask your (?:doctor|pharmacist)|"
    r"see (?:a|your) doctor|your symptoms|if you (?:have|think you have|are experiencing)|call 911|"
    r"what you can do|when to see a doctor|protect yourself|your (?:child|baby)'s)\b",
    re.I,
)


def audience_of(page: PageSignals, source_type: SourceType) -> str | None:
    """``patients`` when a page addresses patients (its JSON-LD says so, or it speaks to them)."""
    if "MedicalWebPage" in page.jsonld_types or "Patient" in page.jsonld_types:
        return "patients"
    if source_type in (SourceType.RESEARCH, SourceType.PREPRINT, SourceType.PRESS_RELEASE):
        return None
    return "patients" if len(_PATIENT_CUES.findall(page.text[:8000])) >= 2 else None


Predictor = Callable[[str], tuple[SourceType, float] | None]


@dataclass(frozen=True)
class Correction:
    """An editor's word on one item's source type, and what the item was."""

    domain: str
    text: str
    source_type: SourceType


@dataclass(frozen=True)
class SourceTypeMemory:
    """What editors taught: their corrections per domain, and a text model over the corrected items."""

    by_domain: dict[str, Counter[SourceType]] = field(default_factory=dict)
    predict_text: Predictor | None = None
    size: int = 0

    def apply(self, page: PageSignals, tally: _Tally) -> None:
        """Add the editors' evidence for this page to the tally."""
        votes = self.by_domain.get(page.domain)
        if votes:
            kind, count = votes.most_common(1)[0]
            noun = "item" if count == 1 else "items"
            tally.add(
                kind,
                min(2.5 + (count - 1), 5.0),
                f"editors classed {count} {noun} from {page.domain} as {kind.label.lower()}",
            )
        if self.predict_text is not None and page.text:
            predicted = self.predict_text(page.text)
            if predicted is not None:
                kind, probability = predicted
                tally.add(
                    kind,
                    2.0 * probability,
                    f"reads like the items editors classed as {kind.label.lower()} ({probability:.0%})",
                )


MIN_TEXT_MODEL_EXAMPLES = 8


def learn(corrections: Sequence[Correction]) -> SourceTypeMemory:
    """Build the memory from editors' corrections (the newest per item, oldest first)."""
    by_domain: dict[str, Counter[SourceType]] = {}
    for correction in corrections:
        if correction.domain:
            by_domain.setdefault(correction.domain, Counter())[correction.source_type] += 1
    labelled = [c for c in corrections if c.text.strip()]
    kinds = {c.source_type for c in labelled}
    predictor = (
        _text_model(labelled) if len(labelled) >= MIN_TEXT_MODEL_EXAMPLES and len(kinds) >= 2 else None
    )
    return SourceTypeMemory(by_domain=by_domain, predict_text=predictor, size=len(corrections))


def _text_model(examples: Sequence[Correction]) -> Predictor:
    """A TF-IDF and logistic-regression model of the corrected items' texts (scikit-learn)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1, max_features=20000)
    matrix = vectorizer.fit_transform([c.text[:6000] for c in examples])
    model = LogisticRegression(max_iter=500, C=4.0)
    model.fit(matrix, [c.source_type.value for c in examples])
    classes: list[Any] = list(model.classes_)

    def predict(text: str) -> tuple[SourceType, float] | None:
        probabilities = model.predict_proba(vectorizer.transform([text[:6000]]))[0]
        best = int(probabilities.argmax())
        probability = float(probabilities[best])
        return (SourceType(classes[best]), probability) if probability >= 0.5 else None

    return predict


def classify(page: PageSignals, memory: SourceTypeMemory | None = None) -> Verdict:
    """The source type of a page, with the reasons that decided it.

    Args:
        page: the page's signals (``page_signals`` or ``item_signals``).
        memory: what editors' corrections taught (``learn``), if any.

    Returns:
        The heaviest type; its reason names its two strongest pieces of evidence.
    """
    tally = _Tally()
    tally.add(SourceType.NEWS, NEWS_PRIOR, "an article with no more specific signal")
    _domain_rules(page, tally)
    _meta_rules(page, tally)
    _text_rules(page, tally)
    if memory is not None:
        memory.apply(page, tally)
    # A tie goes to the more specific type: news is what a page is when nothing else is.
    order = [kind for kind in SourceType if kind is not SourceType.NEWS] + [SourceType.NEWS]
    best = max(tally.weights, key=lambda kind: (tally.weights[kind], -order.index(kind)))
    evidence = sorted(tally.reasons[best], key=lambda pair: -pair[0])
    specific = [reason for weight, reason in evidence if reason != "an article with no more specific signal"]
    reason = "; ".join((specific or [evidence[0][1]])[:2])
    return Verdict(
        source_type=best,
        reason=reason,
        scores={kind.value: round(weight, 2) for kind, weight in tally.weights.items()},
        audience=audience_of(page, best),
    )
