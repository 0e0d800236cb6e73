"""Scheduled publishing: an editor sets "Publish at", the scheduler's tick publishes and rebuilds the site.

The tick claims the due items in the database (``store.subscriptions.claim_due_publications``
clears ``publish_at`` in a conditional UPDATE, so each item is published by one tick however many
processes tick) and publishes them through ``web.services.publish_items``, the function the
Publish button runs, so the site is rebuilt and the audit trail written the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from medcurate.errors import InvalidInput, PermissionDenied
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import record_audit
from medcurate.store.subscriptions import claim_due_publications, schedule_publication
from medcurate.users import Role, User

LOGGER = logging.getLogger(__name__)
# Who publishes a scheduled item in the audit trail; the editor who scheduled it is audited apart.
SCHEDULER_USER = User(
    id=0, username="scheduler", role=Role.EDITOR, disabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC)
)


def schedule_item(database: Database, *, item_id: int, at: datetime | None, user: User) -> datetime | None:
    """Set an item's "Publish at" (editors), or clear it with None; returns the stored moment in UTC."""
    if not user.role.allows(Role.EDITOR):
        raise PermissionDenied(f"only editors may schedule publishing; {user.username} is {user.role.value}")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("a publishing time needs a time zone (or use UTC)")
    moment = at.astimezone(UTC) if at is not None else None
    with database.session() as session:
        item = schedule_publication(session, item_id, at=moment)
        if item.state in ("published", "rejected") and moment is not None:
            raise InvalidInput(
                f"item {item_id} is {item.state}; only drafts and approved items are scheduled"
            )
        record_audit(
            session,
            actor=user.username,
            action="item.schedule",
            entity_type="item",
            entity_id=item_id,
            detail={"publish_at": moment.isoformat() if moment else None},
        )
    return moment


def publish_due(
    database: Database, settings: Settings, *, now: datetime, out_dir: Path | None = None
) -> list[int]:
    """Publish every item whose "Publish at" has passed and rebuild the site once; returns their ids."""
    due = claim_due_publications(database, now=now)
    if not due:
        return []
    from medcurate.publish.service import site_dir
    from medcurate.web.services import publish_items

    done, failed = publish_items(
        database,
        item_ids=due,
        user=SCHEDULER_USER,
        settings=settings,
        out_dir=out_dir or site_dir(settings),
    )
    for item_id, error in failed.items():
        LOGGER.warning("scheduled publishing of item %d refused: %s", item_id, error)
    return done
