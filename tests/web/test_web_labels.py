"""Topic chips group labels by taxonomy and print the taxonomy once."""

from __future__ import annotations

from medcurate.web.labels import TopicChip, by_taxonomy, split_label


def test_labels_split_at_their_taxonomy() -> None:
    assert split_label("Gartner: Cybersecurity") == ("Gartner", "Cybersecurity")
    assert split_label("telehealth") == ("", "telehealth")
    assert split_label(": odd") == ("", ": odd")
    assert split_label("KLAS: Internet of Medical Things (IoMT): Security") == (
        "KLAS",
        "Internet of Medical Things (IoMT): Security",
    )


def test_groups_keep_the_order_of_first_appearance() -> None:
    mesh = "Medical Subject Headings (MeSH)"
    groups = by_taxonomy([f"{mesh}: Telemedicine", "Gartner: Cybersecurity", f"{mesh}: Ransomware", "news"])
    assert [g.taxonomy for g in groups] == [mesh, "Gartner", ""]
    assert groups[0].topics == [
        TopicChip(f"{mesh}: Telemedicine", "Telemedicine"),
        TopicChip(f"{mesh}: Ransomware", "Ransomware"),
    ]
    assert groups[2].topics == [TopicChip("news", "news")]
