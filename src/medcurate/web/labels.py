"""Topic labels as editors read them: grouped by taxonomy, the taxonomy's name said once per group.

Labels carry their taxonomy as a prefix (``Medical Subject Headings (MeSH): Emergency Medical
Services``); a chip that repeats the prefix is mostly prefix. The full label stays the chip's
value, link and title; only what is printed is shortened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

SEPARATOR = ": "


@dataclass(frozen=True)
class TopicChip:
    """One topic: its full label (the value forms and links use) and the name printed on the chip."""

    label: str
    name: str


@dataclass
class TopicGroup:
    """The topics of one taxonomy ("" for labels without one), in the order they came."""

    taxonomy: str
    topics: list[TopicChip] = field(default_factory=list)


def split_label(label: str) -> tuple[str, str]:
    """``("Gartner", "Cybersecurity")`` for ``"Gartner: Cybersecurity"``; ``("", label)`` without a prefix."""
    taxonomy, separator, name = label.partition(SEPARATOR)
    if not separator or not taxonomy.strip() or not name.strip():
        return "", label
    return taxonomy.strip(), name.strip()


def by_taxonomy(labels: Iterable[str]) -> list[TopicGroup]:
    """The labels grouped by taxonomy, groups in the order of their first label."""
    groups: dict[str, TopicGroup] = {}
    for label in labels:
        taxonomy, name = split_label(label)
        groups.setdefault(taxonomy, TopicGroup(taxonomy)).topics.append(TopicChip(label, name))
    return list(groups.values())
