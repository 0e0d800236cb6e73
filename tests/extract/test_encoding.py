"""Encoding guesses for pages that declare none: windows-1252 for Western text, the detector otherwise."""

from __future__ import annotations

import pytest

from medcurate.charset import guess_encoding
from medcurate.extract import PageInput, extract

WESTERN = (
    "<html><head><title>Risk analysis</title></head><body><article><p>“Small practices,” said Hélène "
    "Marchetti, “keep stumbling over the HIPAA risk analysis — it’s the step everyone skips.”</p>"
    "<p>Her clinic’s café-sized server closet held a décor of unpatched machines.</p></article></body></html>"
)


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (WESTERN, "cp1252", "cp1252"),
        (WESTERN, "utf-8", "utf-8"),
        ("Привет, как дела? Это тест кодировки текста на русском языке для проверки.", "cp1251", "cp1251"),
        ("Καλημέρα, αυτό είναι ένα δοκιμαστικό κείμενο στα ελληνικά.", "cp1253", "cp1253"),
    ],
)
def test_undeclared_encodings(text: str, codec: str, expected: str) -> None:
    assert guess_encoding(text.encode(codec)) == expected


def test_extract_reads_an_undeclared_windows_1252_page() -> None:
    result = extract(PageInput(html=WESTERN.encode("cp1252"), url="https://example.org/a"))
    assert "Hélène Marchetti" in result.text
    assert "it’s the step" in result.text
