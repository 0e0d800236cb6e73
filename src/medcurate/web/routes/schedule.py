"""Scheduled publishing: "Publish at" on the review page and ``POST /api/items/{id}/schedule``.

The scheduler (``medcurate.scheduler``: the ticker of ``medcurate serve``/``watch``, or the queue's
tick) publishes the item and rebuilds the site once the moment has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Response

from medcurate.errors import InvalidInput
from medcurate.scheduler.publishing import schedule_item
from medcurate.web.deps import ContextDep, EditorUser, RowId
from medcurate.web.pages import redirect
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import SchedulePublic, ScheduleSet

api = APIRouter(tags=["items"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


@api.post("/items/{item_id}/schedule")
def api_schedule(item_id: RowId, body: ScheduleSet, context: ContextDep, user: EditorUser) -> SchedulePublic:
    """Publish the item at ``publish_at`` (with its time zone), or never with null."""
    moment = schedule_item(context.database, item_id=item_id, at=body.publish_at, user=user)
    return SchedulePublic(id=item_id, publish_at=moment)


@pages.post("/items/{item_id}/schedule")
def schedule_form(
    item_id: RowId,
    context: ContextDep,
    user: EditorUser,
    publish_at: Annotated[str, Form(max_length=40)] = "",
    clear: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The review page's "Publish at" form: a ``datetime-local`` value, in UTC."""
    moment = None
    if not clear:
        try:
            moment = datetime.fromisoformat(publish_at).replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput(f"not a date and time: {publish_at!r}") from None
    schedule_item(context.database, item_id=item_id, at=moment, user=user)
    notice = f"Will be published at {moment:%Y-%m-%d %H:%M} UTC." if moment else "No longer scheduled."
    return redirect(f"/items/{item_id}", notice=notice)
