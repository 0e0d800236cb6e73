"""MeSH vocabulary and term matching."""

from __future__ import annotations

import pytest

from medcurate.suggest.mesh import (
    Descriptor,
    build_index,
    default_index,
    load_descriptors,
    mesh_label,
    mesh_words,
)


def test_vocabulary_is_the_bundled_mesh_list() -> None:
    descriptors = load_descriptors()
    assert len(descriptors) > 30_000
    names = {d.name for d in descriptors}
    assert {"Hospitals", "Computer Security", "Telemedicine", "Artificial Intelligence"} <= names
    assert all(d.identifier.startswith("https://id.nlm.nih.gov/mesh/") for d in descriptors[:100])


def test_labels_follow_seed_002() -> None:
    assert mesh_label("Health Facilities") == "Medical Subject Headings (MeSH): Health Facilities"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hospitals fight back", ["hospital", "fight", "back"]),
        ("class access status", ["class", "access", "status"]),
        ("HIMSS19 in Orlando", ["himss19", "in", "orlando"]),
    ],
)
def test_tokens_fold_case_and_plurals(text: str, expected: list[str]) -> None:
    assert mesh_words(text) == expected


def test_longest_name_wins_and_specific_matches_rank_first() -> None:
    index = default_index()
    matches = index.match(
        "Ransomware hits two hospitals",
        "Computer security teams at the hospital restored electronic health records after the attack.",
    )
    names = [m.descriptor.name for m in matches]
    assert (
        names.index("Electronic Health Records") < names.index("Computer Security") < names.index("Hospitals")
    )
    hospitals = next(m for m in matches if m.descriptor.name == "Hospitals")
    assert hospitals.count == 2 and hospitals.in_title
    # "computer security" is one match, not also "Computers".
    assert "Computers" not in names


def test_inverted_names_match_in_natural_order_and_short_words_are_skipped() -> None:
    index = build_index(
        [Descriptor(identifier="x:1", name="Insurance, Dental"), Descriptor(identifier="x:2", name="Hand")]
    )
    matches = index.match("", "Dental insurance rarely covers hand surgery.")
    assert [m.descriptor.name for m in matches] == ["Insurance, Dental"]
    assert matches[0].words == 2
