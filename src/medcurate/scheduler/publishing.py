"""Scheduled publishing: an editor sets "Publish at", the scheduler's tick publishes and rebuilds the site.

The tick claims the due items in the database (``store.subscriptions.claim_due_publications``
clears ``publish_at`` in a conditional UPDATE, so each item is published by one tick however many
processes tick), publishes them as the Publish button does (state, ``lastMod``, the audit trail)
and rebuilds the site once with ``publish.service.publish_site``. (The button's own function lives
in the web app's services, which the scheduler, below the shells, may not import.)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from medcurate.errors import InvalidInput, PermissionDenied
from medcurate.models import ItemState, format_timestamp
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import get_item, item_from_record, record_audit, save_item
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


# The states an item may be published from (as the Publish button allows).
_PUBLISHABLE = frozenset({ItemState.DRAFT, ItemState.APPROVED, ItemState.DUPLICATE})


def _publish(database: Database, item_id: int) -> bool:
    """Publish one claimed item, as the Publish button does; False (logged) if its state forbids it."""
    with database.session() as session:
        record = get_item(session, item_id=item_id)
        current = ItemState(record.state)
        if current not in _PUBLISHABLE:
            LOGGER.warning("scheduled publishing of item %d refused: it is %s", item_id, current.value)
            return False
        record.state = ItemState.PUBLISHED.value
        item = item_from_record(record).updated({"lastMod": format_timestamp()})
        save_item(session, item=item, md_name=record.md_name, url_key=record.url_key)
        record_audit(
            session,
            actor=SCHEDULER_USER.username,
            action="item.publish",
            entity_type="item",
            entity_id=item_id,
            detail={"from": current.value, "to": ItemState.PUBLISHED.value, "scheduled": True},
        )
    return True


def publish_due(
    database: Database, settings: Settings, *, now: datetime, out_dir: Path | None = None
) -> list[int]:
    """Publish every item whose "Publish at" has passed and rebuild the site once; returns their ids."""
    due = claim_due_publications(database, now=now)
    done = [item_id for item_id in due if _publish(database, item_id)]
    if not done:
        return []
    from medcurate.history import audit_site_build
    from medcurate.ops.metrics import record_site_build
    from medcurate.publish.service import publish_site, site_dir

    target = out_dir or site_dir(settings)
    report = publish_site(database, settings, out_dir=target)
    record_site_build(seconds=report.seconds, written=report.written)
    audit_site_build(database, actor=SCHEDULER_USER.username, out_dir=target, detail={"published": done})
    return done
