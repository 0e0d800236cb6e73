"""The site build's two reads: every item's revision, then the content of the items it needs.

Plain SQL through a ``direct.Reader``, so that the same functions serve ``medcurate site build`` in
a new process (a bare driver connection, no SQLAlchemy loaded) and the web app (a pooled connection
of its engine). The columns are those of ``store.models.ItemRecord``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from medcurate.models import CuratedItem, ItemState, Variant, content_revision, featured_image_href
from medcurate.store.codec import untag_dates
from medcurate.store.direct import Reader


@dataclass(frozen=True, slots=True)
class ItemRevisionRow:
    """An item's identity and content revision, without its content (``item_revisions``)."""

    id: int
    md_name: str
    community: str | None
    revision: str
    featured_image: str | None


CONTENT_BATCH = 500  # ids per query: far below every database's limit on bound parameters


def item_revisions(reader: Reader, *, states: Sequence[ItemState]) -> list[ItemRevisionRow]:
    """The revision of every item in ``states``, oldest id first: five narrow columns, no content."""
    found = reader.rows(
        "SELECT id, md_name, community, revision, featured_image FROM items "
        f"WHERE state IN ({reader.placeholders(len(states))}) ORDER BY id",
        [state.value for state in states],
    )
    rows = [ItemRevisionRow(*row) for row in found]
    unknown = [row.id for row in rows if row.revision is None]
    if not unknown:
        return rows
    # Rows written around the application (by hand, by an older release before its migration ran):
    # their content is read once to tell their revision.
    contents = item_contents(reader, ids=unknown)
    return [
        row
        if row.revision is not None
        else ItemRevisionRow(
            row.id,
            row.md_name,
            row.community,
            contents[row.id][1],
            featured_image_href(contents[row.id][0].front_matter),
        )
        for row in rows
        if row.revision is not None or row.id in contents
    ]


def item_contents(reader: Reader, *, ids: Sequence[int]) -> dict[int, tuple[CuratedItem, str]]:
    """The items with these ids, each with its stored revision (to check against an earlier read)."""
    found: dict[int, tuple[CuratedItem, str]] = {}
    for start in range(0, len(ids), CONTENT_BATCH):
        batch = ids[start : start + CONTENT_BATCH]
        for item_id, front_matter, body, variant, source_path, revision in reader.rows(
            "SELECT id, front_matter, body, variant, source_path, revision FROM items "
            f"WHERE id IN ({reader.placeholders(len(batch))})",
            batch,
        ):
            matter = untag_dates(reader.json_value(front_matter))
            text = body or ""
            item = CuratedItem(
                front_matter=matter, body=text, variant=Variant(variant), source_path=source_path
            )
            found[item_id] = (item, revision or content_revision(variant, matter, text))
    return found
