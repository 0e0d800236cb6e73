"""RESOLVE stage: URL normalisation, tracking removal, dedupe keys, registrable domains."""

from __future__ import annotations

import pytest

from medcurate.ingest.resolve import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_key,
    normalize_url,
    registrable_domain,
    strip_tracking,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM/Path/Page.html", "http://www.example.com/Path/Page.html"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a/../b/./c", "https://example.com/b/c"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("  https://example.com/a  ", "https://example.com/a"),
        # The query is kept as given: order, blank values and keys like "source" can matter.
        ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),
        ("https://example.com/p?print&source=rss&id=", "https://example.com/p?print&source=rss&id="),
        ("https://example.com/p?q=a+b%20c", "https://example.com/p?q=a+b%20c"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://ex.com/a?utm_source=tw&utm_medium=social&utm_campaign=x&id=7",
            "https://ex.com/a?id=7",
        ),
        ("https://ex.com/a?fbclid=IwAR0&gclid=abc&dclid=1&msclkid=2", "https://ex.com/a"),
        ("https://ex.com/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&igshid=5&yclid=6", "https://ex.com/a"),
        ("https://ex.com/a?ref_src=twsrc&spm=a2g0o&p=1", "https://ex.com/a?p=1"),
        ("https://ex.com/a?UTM_Source=X&Page=2", "https://ex.com/a?Page=2"),
        ("https://ex.com/a?utm%5Fsource=x&k=v", "https://ex.com/a?k=v"),
        ("https://ex.com/a?ref=home&source=rss", "https://ex.com/a?ref=home&source=rss"),
        ("https://ex.com/a?x=1#frag", "https://ex.com/a?x=1#frag"),
        ("https://ex.com/a", "https://ex.com/a"),
    ],
)
def test_strip_tracking(url: str, expected: str) -> None:
    assert strip_tracking(url) == expected


def test_tracking_list_is_lower_case_data() -> None:
    assert all(p == p.lower() for p in TRACKING_PARAMS)
    assert {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"} <= TRACKING_PARAMS
    assert {"igshid", "yclid", "ref_src", "spm"} <= TRACKING_PARAMS
    assert "utm_" in TRACKING_PREFIXES


@pytest.mark.parametrize(
    "variants",
    [
        [
            "https://www.healthleadersmedia.com/strategy/article-1?utm_source=newsletter",
            "http://www.healthleadersmedia.com/strategy/article-1/",
            "HTTPS://WWW.HEALTHLEADERSMEDIA.COM:443/strategy/article-1#comments",
            "https://www.healthleadersmedia.com/strategy/article-1?fbclid=xyz",
        ],
        ["https://ex.com/", "http://ex.com", "https://ex.com/?utm_medium=email"],
    ],
)
def test_canonical_key_merges_variants(variants: list[str]) -> None:
    assert len({canonical_key(v) for v in variants}) == 1


def test_canonical_key_keeps_what_changes_meaning() -> None:
    assert canonical_key("https://ex.com/a?id=1") != canonical_key("https://ex.com/a?id=2")
    assert canonical_key("https://ex.com/A") != canonical_key("https://ex.com/a")
    assert canonical_key("https://ex.com/a") != canonical_key("https://ex.org/a")
    assert canonical_key("https://ex.com/a?utm_source=x") == "ex.com/a"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.healthleadersmedia.com/strategy", "healthleadersmedia.com"),
        ("http://news.bbc.co.uk/1/hi/health", "bbc.co.uk"),
        ("https://healthtechmagazine.net/article/2020/12/x", "healthtechmagazine.net"),
        ("https://www.beckershospitalreview.com", "beckershospitalreview.com"),
        ("https://a.b.nhs.uk/x", "b.nhs.uk"),
        ("https://someone.github.io/blog", "someone.github.io"),  # private suffixes count
        ("WWW.Example.COM", "example.com"),
        ("http://127.0.0.1:8000/x", "127.0.0.1"),
        ("http://localhost/x", "localhost"),
        ("", ""),
    ],
)
def test_registrable_domain(url: str, expected: str) -> None:
    assert registrable_domain(url) == expected
