"""The review page's generic front-matter editor: fields out, form in, types kept, the rest unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from medcurate.errors import InvalidInput
from medcurate.web.forms import editable_fields, parse_fields

FRONT_MATTER: dict[str, Any] = {
    "title": "A title",
    "author": ["A. Writer", "B. Reporter"],
    "id": 42,
    "mdName": "abc",
    "date": date(2022, 11, 11),
    "lastMod": "2022-11-11T09:24:17Z",
    "categories": ["Healthcare IT News: Cybersecurity"],
    "link": {"brand": "example.org", "href": "https://example.org/a"},
    "featuredImage": {"href": "x.jpeg"},
    "valid": True,
    "score": 1.5,
    "institution": None,
    "htmlMetaData": {"nested": {"deep": 1}},
    "description": "x" * 150,
}


def kinds() -> dict[str, str]:
    return {spec.name: spec.kind for spec in editable_fields(FRONT_MATTER)}


def test_every_key_gets_a_field_except_managed_ones() -> None:
    assert kinds() == {
        "fm.title": "text",
        "fm.author": "lines",
        "fm.id": "readonly",
        "fm.mdName": "readonly",
        "fm.date": "text",
        "fm.link.brand": "text",
        "fm.link.href": "text",
        "fm.valid": "bool",
        "fm.score": "number",
        "fm.institution": "text",
        "fm.htmlMetaData.nested": "yaml",
        "fm.description": "textarea",
    }


def test_an_untouched_form_changes_nothing() -> None:
    form = {spec.name: spec.value for spec in editable_fields(FRONT_MATTER)}
    assert parse_fields(FRONT_MATTER, form) == {}


@pytest.mark.parametrize(
    ("field", "value", "changes"),
    [
        ("fm.title", "  New title ", {"title": "New title"}),
        ("fm.author", "One\r\n\r\nTwo\n", {"author": ["One", "Two"]}),
        ("fm.date", "2023-01-02", {"date": date(2023, 1, 2)}),
        (
            "fm.link.href",
            "https://example.org/b",
            {"link": {"brand": "example.org", "href": "https://example.org/b"}},
        ),
        ("fm.valid", "false", {"valid": False}),
        ("fm.score", "2", {"score": 2.0}),
        ("fm.institution", "Mayo", {"institution": "Mayo"}),
        ("fm.htmlMetaData.nested", "deep: 2", {"htmlMetaData": {"nested": {"deep": 2}}}),
        ("fm.id", "7", {}),
    ],
)
def test_changes_keep_their_types(field: str, value: str, changes: dict[str, Any]) -> None:
    assert parse_fields(FRONT_MATTER, {field: value}) == changes


def test_datetimes_round_trip() -> None:
    moment = datetime(2020, 12, 15, 11, 25, 20, tzinfo=UTC)
    (spec,) = editable_fields({"date": moment})
    assert parse_fields({"date": moment}, {spec.name: spec.value}) == {}
    assert parse_fields({"date": moment}, {spec.name: "2021-01-01T00:00:00+00:00"}) == {
        "date": datetime(2021, 1, 1, tzinfo=UTC)
    }


@pytest.mark.parametrize(
    ("field", "value"), [("fm.date", "yesterday"), ("fm.score", "many"), ("fm.htmlMetaData.nested", "[")]
)
def test_bad_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_fields(FRONT_MATTER, {field: value})
