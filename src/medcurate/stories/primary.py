"""Which item of a story to publish, and the "also covered by" links the published item carries.

The suggested primary is the primary source or the original reporting: a government page, a journal
article or preprint before a press release, a press release before a news write-up, a write-up before
opinion, vendor and event pages (the ``sourceType`` that ``medcurate.intel`` gave each item and
editors corrected). Among equals, the item stored first: syndicated copies and follow-ups come later.

When the primary is published, the story's other items become its ``alsoCoveredBy`` front-matter
field, a field of medcurate's own: a list of mappings ``{title, url, brand}`` in the story's order
(``brand`` the outlet's registrable domain, possibly empty). The Hugo layout and the static site
print it as "Also covered by". Items in no story never get the field, so their files stay as they
were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from medcurate.intel.kinds import SourceType
from medcurate.store import stories as store

FRONT_MATTER_KEY = "alsoCoveredBy"
_RANK = {
    SourceType.GOVERNMENT.value: 0,
    SourceType.RESEARCH.value: 0,
    SourceType.PREPRINT.value: 1,
    SourceType.PRESS_RELEASE.value: 2,
    SourceType.NEWS.value: 3,
}
_OTHER_RANK = 4


def suggested_primary(items: Sequence[store.StoryItem]) -> int | None:
    """The id of the item to publish: the primary source or original reporting, the earliest on ties."""
    if not items:
        return None
    return min(items, key=lambda i: (_RANK.get(i.source_type, _OTHER_RANK), i.id)).id


def also_covered_by(view: store.StoryView, primary: int) -> list[dict[str, str]]:
    """The ``alsoCoveredBy`` entries of ``primary``: every other item of the story with a URL."""
    return [
        {"title": item.title, "url": item.url, "brand": item.brand}
        for item in view.items
        if item.id != primary and item.url and item.state != "rejected"
    ]


def publishing_changes(session: Session, *, item_id: int) -> dict[str, Any]:
    """Front-matter changes for publishing ``item_id``: its ``alsoCoveredBy`` when it heads a story.

    Publishing an item of a story whose primary nobody chose makes it the primary; publishing another
    item than the chosen primary adds nothing (the editor chose the other one).
    """
    stories = store.stories_of_items(session, item_ids=[item_id])
    view = stories.get(item_id)
    if view is None:
        return {}
    if view.primary_item_id is None:
        store.set_primary(session, story_id=view.id, item_id=item_id)
    elif view.primary_item_id != item_id:
        return {}
    entries = also_covered_by(view, item_id)
    return {FRONT_MATTER_KEY: entries} if entries else {}


@dataclass(frozen=True)
class InboxCards:
    """How an inbox page shows stories: a card in place of a story's first row, its other rows hidden."""

    cards: Mapping[int, store.StoryView]
    hidden: frozenset[int]
    suggested: Mapping[int, int | None]


def inbox_cards(row_ids: Sequence[int], stories: Mapping[int, store.StoryView]) -> InboxCards:
    """The cards of the stories of ``row_ids`` (the page's item ids, in order)."""
    cards: dict[int, store.StoryView] = {}
    hidden: set[int] = set()
    seen: set[int] = set()
    for item_id in row_ids:
        view = stories.get(item_id)
        if view is None:
            continue
        if view.id in seen:
            hidden.add(item_id)
        else:
            seen.add(view.id)
            cards[item_id] = view
    suggested = {view.id: suggested_primary(view.items) for view in cards.values()}
    return InboxCards(cards, frozenset(hidden), suggested)
