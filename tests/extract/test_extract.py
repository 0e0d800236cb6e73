"""The EXTRACT stage on small healthcare-security pages written for these tests."""

from __future__ import annotations

import json
import re

import pytest

import paths
from medcurate.errors import ExtractionError
from medcurate.extract import (
    DEFAULT_EXTRACT_OPTIONS,
    Extraction,
    ExtractOptions,
    PageInput,
    decode_page,
    extract,
    meta_key,
)

FIXTURES = paths.FIXTURES / "extract"
HEALTHTECH_URL = (
    "https://healthtechmagazine.net/article/2022/11/why-hospitals-must-rehearse-ransomware-response"
)


def _page(name: str, url: str | None = None) -> Extraction:
    return extract(PageInput(html=(FIXTURES / name).read_bytes(), url=url))


@pytest.fixture(scope="module")
def healthtech() -> Extraction:
    return _page("healthtech-ransomware.html", HEALTHTECH_URL)


def _paragraphs(brief: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"<(p|ul|ol|blockquote)>.*?</\1>", brief)]


# meta maps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("og:description", "ogdescription"),
        ("article:published_time", "articlepublished_time"),
        ("twitter:title", "twittertitle"),
        ("fb:app_id", "fbapp_id"),
        ("msvalidate.01", "msvalidate.01"),
        ("Google-Site-Verification", "google-site-verification"),
    ],
)
def test_meta_keys_follow_the_seed_style(name: str, key: str) -> None:
    assert meta_key(name) == key


def test_meta_maps_hold_every_tag_under_seed_keys(healthtech: Extraction) -> None:
    meta = healthtech.html_meta
    assert meta["description"].startswith("Tabletop exercises and offline backups")
    assert meta["author"] == "Dana Whitfield"
    assert meta["ogtitle"] == "Why Hospitals Must Rehearse Their Ransomware Response"
    assert meta["articlepublished_time"] == "2022-11-09T08:30:00-05:00"
    assert meta["fbapp_id"] == "1234567890"
    assert meta["google-site-verification"] == "abc123verification"
    assert meta["twittercard"] == "summary_large_image"


def test_open_graph_and_twitter_maps_hold_only_their_own_tags(healthtech: Extraction) -> None:
    assert set(healthtech.open_graph) == {
        "ogtype",
        "ogtitle",
        "ogdescription",
        "ogurl",
        "ogsite_name",
        "ogimage",
        "oglocale",
    }
    assert set(healthtech.twitter) == {"twittercard", "twittertitle", "twitterdescription", "twitterimage"}
    assert healthtech.open_graph["ogsite_name"] == "HealthTech Magazine"


# metadata ------------------------------------------------------------------------------------------


def test_metadata_of_a_full_page(healthtech: Extraction) -> None:
    assert healthtech.url == HEALTHTECH_URL
    assert healthtech.canonical_url == HEALTHTECH_URL
    assert healthtech.site_name == "HealthTech Magazine"
    assert healthtech.brand == "healthtechmagazine.net"
    assert healthtech.authors == ("Dana Whitfield",)
    assert healthtech.date == "2022-11-09"
    assert healthtech.language == "en"
    assert healthtech.description == healthtech.open_graph["ogdescription"]
    assert healthtech.favicon == "https://healthtechmagazine.net/themes/custom/htm/favicon-32x32.png"


@pytest.mark.parametrize(
    ("name", "url", "title"),
    [
        # " | Site" where Site is og:site_name
        (
            "healthtech-ransomware.html",
            HEALTHTECH_URL,
            "Why Hospitals Must Rehearse Their Ransomware Response",
        ),
        # " – Site" where Site is the brand's name (healthleadersmedia.com), in a page without og tags
        (
            "cp1252-no-charset.html",
            "https://www.healthleadersmedia.com/technology/patients-data-at-risk",
            "Patients’ data at risk as clinics delay security updates",
        ),
        # "Site | " in front
        (
            "no-meta.html",
            "https://www.healthleadersmedia.com/technology/telehealth-checklists",
            "Telehealth security checklists for rural hospitals",
        ),
        # " - Site" with mojibake in the title itself
        (
            "mojibake.html",
            "https://www.beckershospitalreview.com/cybersecurity/data-breaches-cost-hospitals.html",
            "Data breaches cost hospitals $5.6B a year, Becker’s finds",
        ),
    ],
)
def test_title_loses_the_site_suffix(name: str, url: str, title: str) -> None:
    assert _page(name, url).title == title


def test_title_keeps_a_suffix_that_is_not_the_site() -> None:
    html = (
        "<html><head><title>Zero trust - a primer | Example News</title>"
        '<meta property="og:site_name" content="Example News"></head><body><article>'
        + "<p>Zero trust assumes that no device or user is trusted by default, inside or outside.</p>" * 5
        + "</article></body></html>"
    )
    assert extract(PageInput(html=html, url="https://news.example.org/a")).title == "Zero trust - a primer"


def test_brand_is_the_registrable_domain() -> None:
    html = (
        "<html><head><title>NHS trust hit by outage</title></head><body><p>"
        + "Text. " * 60
        + "</p></body></html>"
    )
    assert (
        extract(PageInput(html=html, url="https://www.digitalhealth.co.uk/news/x")).brand
        == "digitalhealth.co.uk"
    )
    assert extract(PageInput(html=html)).brand is None


def test_description_falls_back_to_the_first_prose_sentences() -> None:
    extraction = _page("no-meta.html", "https://www.healthleadersmedia.com/technology/telehealth-checklists")
    assert extraction.description is not None
    # the byline before the first paragraph is not a description
    assert extraction.description.startswith("Rural hospitals expanded telehealth quickly")
    assert len(extraction.description) <= DEFAULT_EXTRACT_OPTIONS.description_max_chars
    assert extraction.date == "2021-06-14"


# images --------------------------------------------------------------------------------------------


def test_image_prefers_og_image_made_absolute(healthtech: Extraction) -> None:
    assert (
        healthtech.image
        == "https://healthtechmagazine.net/sites/default/files/articles/2022/11/ransomware-drill.jpg"
    )
    assert healthtech.images[1].endswith("ransomware-drill-twitter.jpg")
    assert (
        "https://healthtechmagazine.net/sites/default/files/articles/2022/11/ransomware-drill-inline.jpg"
        in (healthtech.images)
    )
    assert not any(image.endswith(".svg") for image in healthtech.images)


def test_image_without_meta_is_the_first_large_article_image() -> None:
    extraction = _page("no-meta.html", "https://www.healthleadersmedia.com/technology/telehealth-checklists")
    # the 60x60 author avatar comes first in the page but is not a featured image
    assert extraction.image == "https://cdn.example-media.com/photos/rural-hospital-telehealth.jpg"
    assert extraction.favicon == "https://www.healthleadersmedia.com/favicon.ico"


# text and brief ------------------------------------------------------------------------------------


def test_text_is_the_article_in_paragraphs(healthtech: Extraction) -> None:
    paragraphs = healthtech.text.split("\n\n")
    assert paragraphs[0].startswith("When the electronic health record goes dark")
    assert "Segment the network before the attack" in paragraphs
    assert paragraphs[-1].endswith("when its digital systems are offline.")
    for furniture in ("Related:", "Five Questions to Ask", "Copyright", "Subscribe", "tracking pixel"):
        assert furniture not in healthtech.text
    # the headline is the title, not the body's first line
    assert not healthtech.text.startswith("Why Hospitals Must Rehearse")


def test_brief_is_the_lead_paragraphs_at_a_paragraph_boundary(healthtech: Extraction) -> None:
    brief = healthtech.brief_html
    assert DEFAULT_EXTRACT_OPTIONS.brief_min_chars <= len(brief) <= DEFAULT_EXTRACT_OPTIONS.brief_max_chars
    assert brief.startswith("<p>When the electronic health record goes dark")
    assert brief.endswith("</p>")
    assert "".join(_paragraphs(brief)) == brief


def test_brief_is_sanitised_with_absolute_links(healthtech: Extraction) -> None:
    brief = healthtech.brief_html
    assert '<a href="https://healthtechmagazine.net/article/2022/06/downtime-procedures">' in brief
    assert "javascript:" not in brief
    assert "Most teams discover" in brief  # the script link's words stay, its anchor goes
    tags = set(re.findall(r"</?([a-z0-9]+)", brief))
    assert tags <= {"p", "br", "a", "em", "strong", "ul", "ol", "li", "blockquote"}
    assert not re.search(r"<a (?!href=)", brief)


def test_brief_drops_scripts_and_event_handlers() -> None:
    options = ExtractOptions(brief_min_chars=2000, brief_max_chars=3000)
    brief = extract(
        PageInput(html=(FIXTURES / "healthtech-ransomware.html").read_bytes(), url=HEALTHTECH_URL), options
    ).brief_html
    assert "Offline, immutable backups" in brief  # the paragraph with the onerror image is in
    for bad in ("onerror", "alert(", "<script", "<img", "tracking pixel"):
        assert bad not in brief


def test_brief_of_a_single_long_paragraph_is_cut_at_a_sentence() -> None:
    sentence = "Hospitals that rehearse their incident response recover faster from ransomware attacks. "
    html = f"<html><head><title>Drills</title></head><body><article><p>{sentence * 30}</p></article></body>"
    brief = extract(PageInput(html=html, url="https://example.org/drills")).brief_html
    assert brief.startswith("<p>Hospitals") and brief.endswith("attacks.</p>")
    assert len(brief) <= DEFAULT_EXTRACT_OPTIONS.brief_max_chars


def test_standfirst_dateline_and_teasers_are_not_article_text() -> None:
    raw = (FIXTURES / "standfirst-teasers.html").read_bytes()
    extraction = extract(PageInput(html=raw, url="https://news.example.org/phishing-drills"))
    paragraphs = extraction.text.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("A regional health system that sends its employees")
    assert paragraphs[-1].endswith("recognized in the staff newsletter each quarter.")
    # the same page without the clean-up keeps all of it: each rule above did something
    raw_text = extract(PageInput(html=raw), ExtractOptions(drop_boilerplate=False)).text
    for removed in (
        "Monthly simulated phishing emails",
        "Updated at 1:23",
        "You may also like",
        "Five questions",
    ):
        assert removed in raw_text
        assert removed not in extraction.text


def test_a_first_paragraph_that_is_also_the_description_stays() -> None:
    lead = "Hospitals that rehearse ransomware attacks recover days sooner than others, a study found."
    html = (
        f'<html><head><title>Rehearsal pays</title><meta name="description" content="{lead}"></head><body>'
        f"<article><h1>Rehearsal pays</h1><p>{lead}</p>"
        + "<p>The study followed forty health systems over three years and their incident reports.</p>" * 3
        + "</article></body></html>"
    )
    assert extract(PageInput(html=html, url="https://example.org/a")).text.startswith(lead)


def test_an_article_split_into_sibling_chunks_is_read_whole() -> None:
    raw = (FIXTURES / "split-body.html").read_bytes()
    merged = extract(PageInput(html=raw, url="https://news.example.org/segmentation")).text.split("\n\n")
    assert len(merged) == 6
    assert merged[0].startswith("Hospital networks are adding segmentation")
    assert merged[-1].startswith("Vendors are responding with tools")
    assert "Advertisement" not in "\n".join(merged)
    first_chunk_only = extract(PageInput(html=raw), ExtractOptions(merge_split_body=False)).text
    assert len(first_chunk_only.split("\n\n")) == 2


# encodings and repair ------------------------------------------------------------------------------


def test_mojibake_is_repaired_in_title_description_and_text() -> None:
    extraction = _page("mojibake.html")
    assert extraction.title == "Data breaches cost hospitals $5.6B a year, Becker’s finds"
    assert extraction.description is not None
    assert extraction.description.endswith("according to Becker’s Hospital Review.")
    assert "it’s growing every year" in extraction.text
    assert "â€" not in extraction.text + extraction.brief_html + (extraction.title or "")


def test_windows_1252_page_without_charset_decodes_right() -> None:
    raw = (FIXTURES / "cp1252-no-charset.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    extraction = extract(PageInput(html=raw, url="https://www.healthleadersmedia.com/technology/x"))
    assert "the vendor’s instructions are unclear" in extraction.text
    assert "“We patch when something breaks,”" in extraction.text
    assert "café-style" in extraction.text
    assert "network — and into patients’ records" in extraction.text


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("<meta charset='iso-8859-1'><p>Caf\u00e9 \u201cquoted\u201d</p>", None, "cp1252"),
        (
            "<meta http-equiv='Content-Type' content='text/html; charset=windows-1252'><p>\u201cq\u201d</p>",
            None,
            "cp1252",
        ),
        ("<p>Caf\u00e9 \u2013 na\u00efve</p>", "text/html; charset=utf-8", "utf-8"),
        ("\ufeff<p>Caf\u00e9 with a byte-order mark</p>", None, "utf-8"),
    ],
)
def test_decode_page_follows_bom_header_and_meta(body: str, content_type: str | None, expected: str) -> None:
    decoded = decode_page(body.encode(expected), content_type)
    assert decoded.lstrip("\ufeff") == body.lstrip("\ufeff")


def test_text_input_passes_through_decoding() -> None:
    assert decode_page("<p>déjà</p>") == "<p>déjà</p>"


# errors and serialisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"just some plain words, no markup at all",
        b"%PDF-1.7\n%\xe2\xe3",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00",
    ],
)
def test_not_html_raises_extraction_error(body: bytes) -> None:
    with pytest.raises(ExtractionError):
        extract(PageInput(html=body, url="https://example.org/x"))


def test_metadata_only_page_still_yields_a_title() -> None:
    html = "<html><head><title>Portal login</title></head><body><p>Sign in</p></body></html>"
    extraction = extract(PageInput(html=html, url="https://example.org/login"))
    assert extraction.title == "Portal login"
    assert extraction.brand == "example.org"


def test_json_round_trip(healthtech: Extraction) -> None:
    data = json.loads(healthtech.to_json())
    assert data == healthtech.as_dict()
    assert data["authors"] == ["Dana Whitfield"]
    assert data["open_graph"]["ogsite_name"] == "HealthTech Magazine"
    assert set(data) >= {"url", "canonical_url", "title", "brief_html", "html_meta", "twitter", "favicon"}
