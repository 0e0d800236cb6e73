"""Keyword-only repository functions over the tables; the only place that writes SQL for items.

Every function takes the session first and everything else by keyword, so call sites read as
sentences and never depend on argument order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.orm import Session, selectinload

from medcurate.errors import InvalidInput, NotFound
from medcurate.frontmatter import detect_variant
from medcurate.intel.identifiers import identifiers_of
from medcurate.models import (
    CuratedItem,
    ItemState,
    Variant,
    content_revision,
    featured_image_href,
    format_timestamp,
    normalize_label,
)
from medcurate.store.models import AuditRecord, ItemIdentifier, ItemRecord, ItemTopic, sort_key, utcnow
from medcurate.store.search import apply_search
from medcurate.validation import item_problems

SaveOutcome = Literal["created", "updated", "unchanged"]
ItemSort = Literal["relevance", "newest"]
DEFAULT_PAGE_SIZE = 50


def item_from_record(record: ItemRecord) -> CuratedItem:
    """The domain item a row holds."""
    front_matter = dict(record.front_matter)
    return CuratedItem(
        front_matter=front_matter,
        body=record.body,
        variant=Variant(record.variant),
        source_path=record.source_path,
    )


def get_item(session: Session, *, item_id: int) -> ItemRecord:
    """The item with this id, or ``NotFound``."""
    record = session.get(ItemRecord, item_id, options=[selectinload(ItemRecord.topics)])
    if record is None:
        raise NotFound(f"no item with id {item_id}; `medcurate items list` shows the ids")
    return record


def find_item(
    session: Session, *, md_name: str | None = None, url_key: str | None = None
) -> ItemRecord | None:
    """The item with this mdName or canonical URL key, if stored."""
    if md_name:
        found = session.scalar(select(ItemRecord).where(ItemRecord.md_name == md_name))
        if found is not None:
            return found
    if url_key:
        return session.scalar(select(ItemRecord).where(ItemRecord.url_key == url_key))
    return None


def _sync_topics(record: ItemRecord, labels: Sequence[str]) -> None:
    wanted: dict[str, tuple[int, str]] = {}
    for position, label in enumerate(labels):
        key = normalize_label(label)[:400]
        if key and key not in wanted:
            wanted[key] = (position, label[:400])
    existing = {topic.label_key: topic for topic in record.topics}
    for key, topic in existing.items():
        if key not in wanted:
            record.topics.remove(topic)
    for key, (position, label) in wanted.items():
        if key in existing:
            existing[key].position = position
            existing[key].label = label
        else:
            record.topics.append(ItemTopic(label_key=key, label=label, position=position))
    for topic in record.topics:
        topic.sort_at = record.sort_at  # a topic's list walks its own index in the item's order


def _sync_identifiers(record: ItemRecord, item: CuratedItem) -> None:
    wanted = {i.key[:300] for i in identifiers_of(item.front_matter)}
    rows = record.identifier_rows
    if {row.identifier for row in rows} == wanted:
        return  # the common case: nothing changed, nothing written
    for row in [row for row in rows if row.identifier not in wanted]:
        rows.remove(row)
    have = {row.identifier for row in rows}
    rows.extend(ItemIdentifier(identifier=key) for key in sorted(wanted - have))


def fill_columns(record: ItemRecord, item: CuratedItem, community: str | None) -> None:
    record.title = item.title
    record.url = item.url
    record.variant = detect_variant(item.front_matter).value
    record.brand = item.brand
    record.source_name = item.source_name if item.source_name != item.brand else None
    record.published_at = item.published
    record.front_matter = dict(item.front_matter)
    record.body = item.body
    record.revision = content_revision(record.variant, record.front_matter, record.body)
    record.featured_image = featured_image_href(record.front_matter)
    record.source_path = item.source_path
    if record.created_at is None:
        record.created_at = utcnow()
    record.sort_at = sort_key(record.published_at, record.created_at)
    if community is not None:
        record.community = community
    _sync_topics(record, item.topics)
    _sync_identifiers(record, item)


def save_item(
    session: Session,
    *,
    item: CuratedItem,
    md_name: str,
    url_key: str | None,
    state: ItemState | None = None,
    community: str | None = None,
    text: str | None = None,
    provenance: dict[str, Any] | None = None,
    item_id: int | None = None,
    touch: bool = True,
) -> tuple[ItemRecord, SaveOutcome]:
    """Insert or update the item with this mdName (or URL key); never a second row for the same one.

    With ``touch``, an item whose front matter or body changes gets a new ``lastMod`` (bookmark
    items only when they already carry one); imports pass ``touch=False`` to keep files as they are.
    """
    refused = item_problems(item)
    if refused:
        raise InvalidInput(f"item not stored: {'; '.join(refused)}")
    record = find_item(session, md_name=md_name, url_key=url_key)
    if record is None:
        # The item's own id when it is free (an import), else the database assigns one.
        wanted_id = item_id if item_id and session.get(ItemRecord, item_id) is None else None
        record = ItemRecord(
            id=wanted_id,
            md_name=md_name,
            url_key=url_key,
            state=(state or ItemState.DRAFT).value,
            community=community,
            text=text or "",
            provenance=provenance,
            topics=[],
        )
        fill_columns(record, item, community)
        session.add(record)
        session.flush()
        if wanted_id is not None:
            advance_item_ids(session, past=wanted_id)
        return record, "created"
    before = (dict(record.front_matter), record.body, record.state, record.community, record.text)
    if touch and _content_changed(record, item) and _carries_last_mod(item):
        item = item.updated({"lastMod": format_timestamp()})
    fill_columns(record, item, community)
    if state is not None:
        record.state = state.value
    if text is not None:
        record.text = text
    if provenance is not None:
        record.provenance = provenance
    if url_key and record.url_key is None:
        record.url_key = url_key
    after = (dict(record.front_matter), record.body, record.state, record.community, record.text)
    if before == after:
        return record, "unchanged"
    record.updated_at = datetime.now(UTC)
    session.flush()
    return record, "updated"


def advance_item_ids(session: Session, *, past: int) -> None:
    """After an item stored with its own id, let the database's ids continue past it (PostgreSQL).

    SQLite's rowid already continues past the largest id; PostgreSQL's identity is moved here, only
    forward, so an id a concurrent writer already holds is never handed out again.
    """
    if _dialect(session) != "postgresql":
        return
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('items', 'id'), :past) "
            "WHERE :past >= (SELECT last_value FROM items_id_seq)"
        ),
        {"past": past},
    )


def _content_changed(record: ItemRecord, item: CuratedItem) -> bool:
    old = {k: v for k, v in record.front_matter.items() if k != "lastMod"}
    new = {k: v for k, v in item.front_matter.items() if k != "lastMod"}
    return old != new or record.body != item.body


def _carries_last_mod(item: CuratedItem) -> bool:
    return item.variant is not Variant.BOOKMARK_2019 or "lastMod" in item.front_matter


def set_state(session: Session, *, item_id: int, state: ItemState, reason: str | None = None) -> ItemRecord:
    """Move an item to another workflow state."""
    record = get_item(session, item_id=item_id)
    record.state = state.value
    record.failure_reason = reason
    record.updated_at = datetime.now(UTC)
    session.flush()
    return record


@dataclass(frozen=True)
class ItemQuery:
    """Filters for listing items; every field optional.

    ``text`` is a full-text search (``medcurate.store.search``): every word must occur in the title,
    description, body or article text, a last word ending in ``*`` may be the start of one. ``sort``
    None means best matches first when searching and newest first otherwise. ``since`` and ``until`` bound the
    item's date (published, else stored: ``sort_at``), which is also what "newest" means.
    """

    state: str | None = None
    community: str | None = None
    topic: str | None = None
    brand: str | None = None
    identifier: str | None = None
    assigned_to: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0
    sort: ItemSort | None = None


def item_conditions(query: ItemQuery) -> list[ColumnElement[bool]]:
    """The conditions of ``query``'s filters on ``items``, full-text search aside."""
    conditions: list[ColumnElement[bool]] = []
    if query.state:
        conditions.append(ItemRecord.state == query.state)
    if query.community:
        conditions.append(ItemRecord.community == query.community)
    if query.brand:
        conditions.append(ItemRecord.brand == query.brand)
    if query.assigned_to:
        conditions.append(ItemRecord.assigned_to == query.assigned_to)
    if query.topic:
        conditions.append(ItemRecord.topics.any(ItemTopic.label_key == normalize_label(query.topic)))
    if query.identifier:
        conditions.append(ItemRecord.identifier_rows.any(ItemIdentifier.identifier == query.identifier))
    if query.since:
        conditions.append(ItemRecord.sort_at >= query.since)
    if query.until:
        conditions.append(ItemRecord.sort_at < query.until)
    return conditions


def _filtered(statement: Select[Any], query: ItemQuery) -> Select[Any]:
    return statement.where(*item_conditions(query))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def list_items(session: Session, *, query: ItemQuery | None = None) -> list[ItemRecord]:
    """Items matching ``query``: best matches first when searching (``sort`` None), else newest first."""
    query = query or ItemQuery()
    statement = _filtered(select(ItemRecord), query).options(selectinload(ItemRecord.topics))
    if query.text:
        statement = apply_search(
            statement,
            text=query.text,
            dialect=_dialect(session),
            rank=query.sort in (None, "relevance"),
            window=query.offset + query.limit,
        )
    statement = (
        statement.order_by(ItemRecord.sort_at.desc(), ItemRecord.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    return list(session.scalars(statement))


def count_items(session: Session, *, query: ItemQuery | None = None) -> int:
    """How many items match ``query`` (ignoring its limit and offset)."""
    query = query or ItemQuery()
    statement = _filtered(select(func.count(ItemRecord.id)), query)
    if query.text:
        statement = apply_search(statement, text=query.text, dialect=_dialect(session), rank=False)
    return int(session.scalar(statement) or 0)


def all_items(session: Session, *, states: Sequence[ItemState] | None = None) -> list[ItemRecord]:
    """Every item (in the given states), oldest id first."""
    statement = select(ItemRecord).options(selectinload(ItemRecord.topics)).order_by(ItemRecord.id)
    if states:
        statement = statement.where(ItemRecord.state.in_([s.value for s in states]))
    return list(session.scalars(statement))


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one event to the audit trail."""
    event = AuditRecord(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        detail=detail or {},
    )
    session.add(event)
    session.flush()
    return event


def audit_trail(
    session: Session, *, entity_type: str | None = None, entity_id: str | int | None = None, limit: int = 200
) -> list[AuditRecord]:
    """The newest audit events, for one entity or for all."""
    statement = select(AuditRecord).order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(limit)
    if entity_type:
        statement = statement.where(AuditRecord.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditRecord.entity_id == str(entity_id))
    return list(session.scalars(statement))
