"""The desk's library function beside ``web.services``: undo, through ``medcurate.history``."""

from __future__ import annotations

from pathlib import Path

from medcurate.errors import InvalidInput, PermissionDenied
from medcurate.history import UndoResult, audit_site_build, last_undoable, undo_event
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord
from medcurate.users import Role, User
from medcurate.web.services import Publisher, check_can_edit, rebuild_site


def undo(
    database: Database,
    *,
    user: User,
    settings: Settings,
    out_dir: Path,
    event_id: int | None = None,
    item_id: int | None = None,
    publisher: Publisher = rebuild_site,
) -> UndoResult:
    """Undo one decision (``event_id``), else the user's newest one (on ``item_id`` when given).

    The inverse is recorded and audited (``medcurate.history``); undoing a publish, or a change to a
    published item, rebuilds the site as publishing does.
    """

    def allow(record: ItemRecord, moves_state: bool) -> None:
        if moves_state and not user.role.allows(Role.EDITOR):
            raise PermissionDenied(
                f"only editors may undo a state change; {user.username} is {user.role.value}"
            )
        check_can_edit(user, record)

    with database.session() as session:
        if event_id is None:
            event_id = last_undoable(session, actor=user.username, item_id=item_id)
        if event_id is None:
            raise InvalidInput("nothing of yours to undo here")
        result = undo_event(
            session, event_id=event_id, actor=user.username, images_dir=settings.images_dir, allow=allow
        )
    if result.rebuild:
        publisher(database, settings, out_dir)
        audit_site_build(database, actor=user.username, out_dir=out_dir, detail={"undo": result.event_id})
    return result
