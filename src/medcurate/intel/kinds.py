"""The kinds of source an item can be: the labels the classifier gives and editors correct."""

from __future__ import annotations

from enum import StrEnum


class SourceType(StrEnum):
    """The kinds of source an editor of medical news tells apart."""

    RESEARCH = "research"
    PREPRINT = "preprint"
    PRESS_RELEASE = "press-release"
    NEWS = "news"
    OPINION = "opinion"
    GOVERNMENT = "government"
    VENDOR = "vendor"
    EVENT = "event"

    @property
    def label(self) -> str:
        """The name an editor reads."""
        return _LABELS[self]


_LABELS = {
    SourceType.RESEARCH: "Peer-reviewed research",
    SourceType.PREPRINT: "Preprint",
    SourceType.PRESS_RELEASE: "Press release",
    SourceType.NEWS: "News report",
    SourceType.OPINION: "Analysis / opinion",
    SourceType.GOVERNMENT: "Government / regulatory",
    SourceType.VENDOR: "Vendor / marketing",
    SourceType.EVENT: "Event / webinar",
}
