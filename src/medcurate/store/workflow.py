"""The desk's own records of an item: who it is assigned to, and the editors' notes on it.

Both are part of the item's history (each change is an audit event) and neither is ever
published: they live in their own column and table, outside the front matter that the exports
and the site are made from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from medcurate.errors import InvalidInput
from medcurate.store.models import ItemNote, UserRecord
from medcurate.store.repository import get_item, record_audit

MAX_NOTE_CHARS = 5_000
# Who may be given a draft: the roles that can edit one.
ASSIGNABLE_ROLES = ("curator", "editor", "admin")


@dataclass(frozen=True)
class Note:
    """An editor's note on an item."""

    id: int
    author: str
    text: str
    at: datetime


def assignable_users(session: Session) -> list[str]:
    """The usernames a draft can be given to: enabled curators, editors and admins."""
    statement = (
        select(UserRecord.username)
        .where(UserRecord.disabled.is_(False), UserRecord.role.in_(ASSIGNABLE_ROLES))
        .order_by(UserRecord.username)
    )
    return list(session.scalars(statement))


def assign_item(session: Session, *, item_id: int, assignee: str | None, actor: str) -> str | None:
    """Give the item to ``assignee`` (a curator, editor or admin), or to nobody; the new assignee."""
    record = get_item(session, item_id=item_id)
    wanted = (assignee or "").strip() or None
    if wanted is not None and wanted not in assignable_users(session):
        raise InvalidInput(
            f"cannot assign to {wanted!r}: give drafts to an enabled curator, editor or admin "
            "(see `medcurate users list`)"
        )
    before = record.assigned_to
    if before == wanted:
        return wanted
    record.assigned_to = wanted
    record_audit(
        session,
        actor=actor,
        action="assign",
        entity_type="item",
        entity_id=item_id,
        detail={"assigned to": {"before": before, "after": wanted}},
    )
    return wanted


def add_note(session: Session, *, item_id: int, author: str, text: str) -> Note:
    """Keep an editor's note on the item (and in its history); never published."""
    get_item(session, item_id=item_id)
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise InvalidInput("the note is empty: write something first")
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidInput(f"the note has {len(cleaned)} characters; keep it under {MAX_NOTE_CHARS}")
    note = ItemNote(item_id=item_id, author=author, text=cleaned)
    session.add(note)
    session.flush()
    record_audit(
        session, actor=author, action="note", entity_type="item", entity_id=item_id, detail={"note": cleaned}
    )
    return Note(id=note.id, author=note.author, text=note.text, at=note.created_at)


def item_notes(session: Session, *, item_id: int) -> list[Note]:
    """The item's notes, oldest first."""
    statement = select(ItemNote).where(ItemNote.item_id == item_id).order_by(ItemNote.id)
    return [Note(id=n.id, author=n.author, text=n.text, at=n.created_at) for n in session.scalars(statement)]
