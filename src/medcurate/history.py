"""An item's history as editors read it, and undo: a decision is undone by recording its inverse.

Every decision on an item (a field edit, a topic accepted or rejected, a community or offering, a
featured image, a state change) is one audit event whose ``detail`` says what it changed, whole:

- ``changes``: ``[{"field": key, "before": value, "after": value}]`` for the front-matter keys (and
  ``body``) it changed, dates tagged as the store tags them (``store.codec``), never shortened;
- ``state`` and ``community``: ``{"from": ..., "to": ...}`` when the column changed (the workflow's
  own events keep their top-level ``from``/``to``, as release 0.1.0 wrote them);
- ``decision``: the suggestion decided on (``kind``, ``label``, whether it was a stored suggestion);
- ``image``: the featured image file before and after, kept under ``images/history/``.

``describe`` turns an event into lines for people ("Title: A → B"); ``undo_event`` applies the
inverse through the item repository (so ``lastMod``, the topic index and the revision follow) and
records it as an ``item.undo`` event carrying its own ``changes``: an undo is itself undoable, which
is redo. A decision undone also records a ``withdraw`` decision on the same label, so the
suggestion engine's memory stops counting it (``suggest.service`` reads the newest decision per
label), and its suggestion is pending again.

Written here rather than taken from a versioning library (SQLAlchemy-Continuum, django-reversion's
kind): those version whole rows, while an editor undoes one decision among later ones, and refusing
to undo a field that a later decision changed again needs the field-level record kept here.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from medcurate.errors import InvalidInput, NotFound
from medcurate.models import CuratedItem, ItemState, normalize_label
from medcurate.rules import plain_text
from medcurate.store.codec import tag_dates, untag_dates
from medcurate.store.db import Database
from medcurate.store.desk import UNDO_ACTION, actor_item_events, item_events, undo_of
from medcurate.store.models import AuditRecord, ItemRecord
from medcurate.store.repository import get_item, item_from_record, record_audit, save_item
from medcurate.store.suggestions import add_decision, mark_suggestion

WITHDRAW = "withdraw"
STATE_ACTIONS = frozenset({"item.approve", "item.publish", "item.reject", "item.draft"})
UNDOABLE = frozenset(
    {"item.edit", "item.image", UNDO_ACTION, "suggestion.accept", "suggestion.reject", "suggestion.add"}
    | STATE_ACTIONS
)
FIELD_NAMES = {
    "title": "Title",
    "description": "Description",
    "body": "Brief",
    "author": "Author",
    "date": "Date",
    "communityTopics": "Topics",
    "categories": "Topics",
    "relatedOfferings": "Related offerings",
    "featuredImage": "Featured image",
    "community": "Community",
    "state": "State",
    "aliases": "Aliases",
    "slug": "Slug",
    "breadcrumbs": "Breadcrumbs",
    "breadcrumbLinks": "Breadcrumb links",
}
# Keys that move with another change and would only repeat it in a history line.
QUIET_FIELDS = frozenset(
    {"lastMod", "categorySlug", "categoryUrl", "categoryLabel", "openProjectCustomFields"}
)
ACTION_NAMES = {
    "item.edit": "edited",
    "item.image": "changed the featured image",
    "item.approve": "approved",
    "item.publish": "published",
    "item.reject": "rejected",
    "item.draft": "sent back to draft",
    "item.ingest": "added",
    "item.import": "imported",
    "item.suggest": "asked for suggestions",
    "item.undo": "undid",
    "suggestion.accept": "accepted",
    "suggestion.reject": "rejected",
    "suggestion.add": "added",
    "site.build": "rebuilt the site",
}
SHORT = 80
DECIDED = {"accept": "accepted", "reject": "rejected", "add": "added"}

Publisher = Callable[[], None]


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each key whose value differs, with both values whole (dates tagged for JSON)."""
    keys = [*before, *(k for k in after if k not in before)]
    return [
        {"field": key, "before": tag_dates(before.get(key)), "after": tag_dates(after.get(key))}
        for key in keys
        if before.get(key) != after.get(key)
    ]


def decision_detail(
    before: CuratedItem,
    after: CuratedItem,
    *,
    kind: str,
    label: str,
    suggested: bool,
    community: tuple[str | None, str | None],
) -> dict[str, Any]:
    """The audit detail of a suggestion decision: what was decided, every field it changed, whole."""
    detail: dict[str, Any] = {
        "decision": {"kind": kind, "label": label, "suggested": suggested},
        "changes": [
            c for c in field_changes(before.front_matter, after.front_matter) if c["field"] != "lastMod"
        ],
    }
    if community[1] is not None and community[0] != community[1]:
        detail["community"] = {"from": community[0], "to": community[1]}
    return detail


def field_name(key: str) -> str:
    """The name people know a front-matter key by (``title`` -> ``Title``)."""
    return FIELD_NAMES.get(key, key)


def readable(value: Any) -> str:
    """A value as one short line: lists joined, offerings and images by their label, never a dict."""
    value = untag_dates(value)
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return _short(", ".join(readable(v) for v in value))
    if isinstance(value, Mapping):
        for key in ("label", "alt", "href", "name", "title"):
            if value.get(key):
                return _short(str(value[key]))
        return _short("; ".join(f"{k}: {readable(v)}" for k, v in value.items()))
    return _short(" ".join(str(value).split()))


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1].rstrip() + "…"


def _change_lines(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    lines = []
    for change in changes:
        key = str(change.get("field", ""))
        if key in QUIET_FIELDS:
            continue
        before, after = change.get("before"), change.get("after")
        if key == "body":  # the brief is HTML: its words are what an editor reads
            before, after = plain_text(str(before or "")), plain_text(str(after or ""))
        lines.append(f"{field_name(key)}: {readable(before)} → {readable(after)}")
    return lines


def describe(action: str, detail: Mapping[str, Any] | None) -> list[str]:
    """What an audit event did, as lines for people ("Title: A → B"); never a raw dictionary."""
    detail = detail or {}
    lines: list[str] = []
    decision = detail.get("decision")
    if isinstance(decision, Mapping) or action.startswith("suggestion."):
        source = decision if isinstance(decision, Mapping) else detail
        kind, label = source.get("kind", "topic"), source.get("label", "")
        done = DECIDED.get(action.rpartition(".")[2], "withdrawn")
        lines.append(f"{str(kind).capitalize()} {label!s} {done}")
    if action in STATE_ACTIONS and "from" in detail:
        lines.append(f"State: {detail.get('from')} → {detail.get('to')}")
    for key in ("state", "community"):
        moved = detail.get(key)
        if isinstance(moved, Mapping):
            lines.append(f"{field_name(key)}: {readable(moved.get('from'))} → {readable(moved.get('to'))}")
    changes = detail.get("changes")
    if isinstance(changes, list):
        lines.extend(_change_lines(c for c in changes if isinstance(c, Mapping)))
    elif action == "item.edit":  # events written before changes were kept whole: {key: {from, to}}
        lines.extend(
            f"{field_name(k)}: {readable(v.get('from'))} → {readable(v.get('to'))}"
            for k, v in detail.items()
            if isinstance(v, Mapping) and k not in QUIET_FIELDS
        )
    if action == UNDO_ACTION and detail.get("undoes"):
        lines.insert(0, f"Undid {detail.get('undone_action_name', 'a change')} (event #{detail['undoes']})")
    if action == "site.build" and detail.get("published"):
        lines.append("Published: " + ", ".join(f"#{n}" for n in detail["published"]))
    if not lines:
        lines = _plain_lines(detail)
    return lines


def _plain_lines(detail: Mapping[str, Any]) -> list[str]:
    """Any other event's detail, one "Name: value" line a key (a move as "A → B")."""
    if "from" in detail and "to" in detail:
        return [f"{readable(detail['from'])} → {readable(detail['to'])}"]
    return [
        f"{str(key).replace('_', ' ').capitalize()}: {readable(value)}"
        for key, value in detail.items()
        if value not in (None, "", [], {})
    ]


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One event of an item's history, as the history panel shows it."""

    id: int
    at: Any
    actor: str
    action: str
    verb: str
    lines: list[str]
    undoable: bool
    undone: bool


def item_history(session: Session, *, item_id: int, limit: int = 100) -> list[HistoryEntry]:
    """The item's events, newest first, each with its readable lines and whether it can be undone."""
    events = item_events(session, item_id=item_id, limit=limit)
    undone = {int(e.detail["undoes"]) for e in events if e.action == UNDO_ACTION and e.detail.get("undoes")}
    return [
        HistoryEntry(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            verb=ACTION_NAMES.get(e.action, e.action),
            lines=describe(e.action, e.detail),
            undoable=_can_undo(e) and e.id not in undone,
            undone=e.id in undone,
        )
        for e in events
    ]


def _can_undo(event: AuditRecord) -> bool:
    detail = event.detail or {}
    if event.action not in UNDOABLE:
        return False
    if event.action in STATE_ACTIONS:
        return "from" in detail
    return any(k in detail for k in ("changes", "state", "community", "decision"))


def last_undoable(session: Session, *, actor: str, item_id: int | None = None) -> int | None:
    """The id of ``actor``'s newest decision that is not undone yet (on one item, or on any)."""
    undone: set[int] = set()
    for event in actor_item_events(session, actor=actor, item_id=item_id):
        if event.action == UNDO_ACTION and event.detail.get("undoes"):
            undone.add(int(event.detail["undoes"]))
            continue  # `u` undoes decisions; an undo is redone from the history panel
        if event.id not in undone and _can_undo(event):
            return event.id
    return None


def audit_site_build(database: Database, *, actor: str, out_dir: Path, detail: Mapping[str, Any]) -> None:
    """Record a rebuild of the site: who, where (the folder's last 64 characters), what it followed."""
    with database.session() as session:
        record_audit(
            session,
            actor=actor,
            action="site.build",
            entity_type="site",
            entity_id=str(out_dir)[-64:],
            detail=dict(detail),
        )


def keep_image(images_dir: Path, href: str | None) -> str | None:
    """Copy the featured image file ``href`` under ``history/`` by its content hash; its name there."""
    if not href or "/" in href or "\\" in href or not (images_dir / href).is_file():
        return None
    data = (images_dir / href).read_bytes()
    name = f"{hashlib.sha256(data).hexdigest()[:24]}{Path(href).suffix}"
    kept = images_dir / "history" / name
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(data)
    return name


@dataclass(frozen=True, kw_only=True)
class UndoResult:
    """What an undo did: its own event, the event it undid, and whether the site must be rebuilt."""

    event_id: int
    undid: int
    item_id: int
    lines: list[str]
    rebuild: bool


def _inverse_changes(current: Mapping[str, Any], changes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The front matter and body values that undo ``changes``; refused when one was changed again since."""
    restored: dict[str, Any] = {}
    for change in changes:
        key = str(change["field"])
        if key == "lastMod":
            continue
        after, before = untag_dates(change.get("after")), untag_dates(change.get("before"))
        if current.get(key) != after:
            raise InvalidInput(f"{field_name(key)} was changed again after this; undo the later change first")
        restored[key] = before
    return restored


def undo_event(
    session: Session,
    *,
    event_id: int,
    actor: str,
    images_dir: Path | None = None,
    allow: Callable[[ItemRecord, bool], None] | None = None,
) -> UndoResult:
    """Undo one decision on an item by recording its inverse (see the module's docstring).

    Args:
        session: the transaction to write in.
        event_id: the audit event to undo.
        actor: who undoes it.
        images_dir: the site's images (to put a replaced featured image back).
        allow: raises when the actor may not undo on this item (its record; whether the state moves).

    Returns:
        The undo's own event id, the item, its readable lines and whether published content changed.
    """
    event = _undoable(session, event_id)
    detail = event.detail or {}
    record = get_item(session, item_id=int(event.entity_id))
    item, state_before = item_from_record(record), record.state
    current: dict[str, Any] = {**item.front_matter, "body": item.body}
    restored = _inverse_changes(current, detail.get("changes") or [])
    state_from = _state_move(detail, event.action)
    _check_undo_allowed(record, state_from, allow)
    community = detail.get("community") if isinstance(detail.get("community"), Mapping) else None
    body = restored.pop("body", None)
    after = item.updated(restored, body=body) if restored or body is not None else item
    new_state = ItemState(state_from[0]) if state_from else None
    saved, _ = save_item(
        session,
        item=after,
        md_name=record.md_name,
        url_key=record.url_key,
        state=new_state,
        community=str(community["from"]) if community and community.get("from") else None,
    )
    if community and not community.get("from"):
        saved.community = None
    _restore_image(images_dir, detail.get("image"))
    _withdraw_decision(session, item_id=saved.id, decision=detail.get("decision"), actor=actor)
    inverse = _inverse_detail(item.front_matter, item.body, after, detail, state_from, community)
    inverse.update({"undoes": event_id, "undone_action_name": ACTION_NAMES.get(event.action, event.action)})
    own = record_audit(
        session, actor=actor, action=UNDO_ACTION, entity_type="item", entity_id=saved.id, detail=inverse
    )
    touched_site = ItemState.PUBLISHED.value in {state_before, saved.state}
    lines = describe(UNDO_ACTION, inverse)
    return UndoResult(event_id=own.id, undid=event_id, item_id=saved.id, lines=lines, rebuild=touched_site)


def _check_undo_allowed(
    record: ItemRecord,
    state_from: tuple[str, str] | None,
    allow: Callable[[ItemRecord, bool], None] | None,
) -> None:
    """Refuse an undo the actor may not make, or one a later state change has overtaken."""
    if allow is not None:
        allow(record, state_from is not None)
    if state_from is not None and record.state != state_from[1]:
        raise InvalidInput(
            f"the item is {record.state} now, not {state_from[1]}; undo the later change first"
        )


def _undoable(session: Session, event_id: int) -> AuditRecord:
    """The audit event, if it is a decision on an item that can be undone and is not undone yet."""
    event = session.get(AuditRecord, event_id)
    if event is None or event.entity_type != "item":
        raise NotFound(f"no decision on an item with event id {event_id}")
    if not _can_undo(event):
        raise InvalidInput(f"{ACTION_NAMES.get(event.action, event.action)} cannot be undone")
    if undo_of(session, event=event) is not None:
        raise InvalidInput(f"event #{event_id} is already undone")
    return event


def _state_move(detail: Mapping[str, Any], action: str) -> tuple[str, str] | None:
    """(state to go back to, state the item must be in now) for an event that moved the item."""
    moved = detail.get("state") if isinstance(detail.get("state"), Mapping) else None
    if moved is None and action in STATE_ACTIONS and "from" in detail:
        moved = detail
    if moved is None:
        return None
    return str(moved["from"]), str(moved["to"])


def _inverse_detail(
    before_fm: Mapping[str, Any],
    before_body: str,
    after: Any,
    detail: Mapping[str, Any],
    state_from: tuple[str, str] | None,
    community: Mapping[str, Any] | None,
) -> dict[str, Any]:
    inverse: dict[str, Any] = {
        "changes": field_changes(
            {**before_fm, "body": before_body}, {**after.front_matter, "body": after.body}
        )
    }
    if state_from is not None:
        inverse["state"] = {"from": state_from[1], "to": state_from[0]}
    if community is not None:
        inverse["community"] = {"from": community.get("to"), "to": community.get("from")}
    image = detail.get("image")
    if isinstance(image, Mapping):
        inverse["image"] = {
            "href": image.get("href_before"),
            "kept": image.get("kept_before"),
            "href_before": image.get("href"),
            "kept_before": image.get("kept"),
        }
    decision = detail.get("decision")
    if isinstance(decision, Mapping):
        inverse["decision"] = {**decision, "withdrawn": True}
    return inverse


def _restore_image(images_dir: Path | None, image: Any) -> None:
    """Put the featured image file kept before the change back in place."""
    if images_dir is None or not isinstance(image, Mapping):
        return
    href, kept = image.get("href_before"), image.get("kept_before")
    if not href or not kept or "/" in str(href) or "/" in str(kept):
        return
    source = images_dir / "history" / str(kept)
    if source.is_file():
        shutil.copyfile(source, images_dir / str(href))


def _withdraw_decision(session: Session, *, item_id: int, decision: Any, actor: str) -> None:
    """Record a ``withdraw`` decision on the label and make its suggestion pending again."""
    if not isinstance(decision, Mapping) or decision.get("withdrawn"):
        return
    from datetime import UTC, datetime

    kind, label = str(decision.get("kind", "topic")), str(decision.get("label", ""))
    key = normalize_label(label)[:400]
    add_decision(
        session,
        item_id=item_id,
        kind=kind,
        label=label[:400],
        label_key=key,
        action=WITHDRAW,
        actor=actor,
        at=datetime.now(UTC),
    )
    if decision.get("suggested"):
        mark_suggestion(session, item_id=item_id, kind=kind, label_key=key, status="pending")
