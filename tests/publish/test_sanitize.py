"""Text from the web made safe to publish: control characters, URLs by scheme, briefs by allow-list."""

from __future__ import annotations

import pytest

from medcurate.publish.sanitize import clean_html, clean_text, safe_http_url


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  Zero  trust\tin\nhospitals ", "Zero trust in hospitals"),
        ("Bell\x07 and\x00 null\x1f", "Bell and null"),
        ("Form\x0cfeed and\x0b tab", "Formfeed and tab"),
        ("Non-characters \ufffe\uffff and delete\x7f", "Non-characters and delete"),
        ("Lone \ud800surrogates\udfff", "Lone surrogates"),
        ("Ünïcode — kept · as is", "Ünïcode — kept · as is"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text_drops_what_xml_forbids_and_folds_white_space(text: str | None, cleaned: str) -> None:
    assert clean_text(text) == cleaned


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=c", "https://example.org/a?b=c"),
        ("  http://example.org/  ", "http://example.org/"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//example.org/no-scheme", None),
        ("https:///no-host", None),
        ('https://example.org/"onmouseover="x', None),
        ("https://exa mple.org/", None),
        ("https://example.org/\x00x", "https://example.org/x"),
        ("https://example.org/\udc80x", "https://example.org/x"),
        ("http://[::1", None),
        (None, None),
    ],
)
def test_only_absolute_http_urls_are_kept(url: str | None, safe: str | None) -> None:
    assert safe_http_url(url) == safe


def test_briefs_lose_lone_surrogates() -> None:
    assert clean_html("<p>One\ud800 two</p>") == "<p>One two</p>"


def test_briefs_keep_the_allow_list_only() -> None:
    html = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> <a href="https://e.org/">good</a></p>'
        "<script>alert(1)</script><svg onload=alert(1)><text>svg text</text></svg>"
        "<img src=x onerror=alert(1)>"
    )
    cleaned = clean_html(html)
    assert "<p>Hi " in cleaned
    assert '<a href="https://e.org/" rel="nofollow noopener noreferrer">good</a>' in cleaned
    for gone in ("onclick", "javascript:", "<script", "alert", "<svg", "svg text", "<img", "onerror"):
        assert gone not in cleaned


@pytest.mark.parametrize(
    ("description", "text", "shown"),
    [
        # The news variant's 200-character cut, mid-word: back to the word, with an ellipsis.
        (
            "Hospitals across the state rep",
            "Hospitals across the state reported attacks.",
            "Hospitals across the state…",
        ),
        # A cut that ends at a word keeps the word.
        ("Hospitals across the", "Hospitals across the state reported attacks.", "Hospitals across the…"),
        ("Hospitals, clinics,", "Hospitals, clinics, and labs.", "Hospitals, clinics…"),
        # The whole text, or a description of its own: shown as it is.
        ("Hospitals reported attacks.", "Hospitals reported attacks.", "Hospitals reported attacks."),
        ("Hospitals reported.", "Hospitals reported. More later.", "Hospitals reported."),
        ("A summary of its own.", "Hospitals reported attacks on Monday.", "A summary of its own."),
        ("", "Short text.", "Short text."),
    ],
)
def test_excerpts_are_cut_at_a_word_with_an_ellipsis(description: str, text: str, shown: str) -> None:
    from medcurate.publish.sanitize import excerpt

    assert excerpt(description, text) == shown
