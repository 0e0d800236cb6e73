"""The editor's desk: the review screen's context, undo, derived fields, image candidates, bulk accept.

The review screen itself is served by ``routes.items`` (``GET /items/{id}``) with ``review_values``;
the routes here are what the screen and its keys post to. Every action goes through a library
function (``web.services``, ``medcurate.history``) and is audited there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from medcurate.errors import InvalidInput, MedcurateError
from medcurate.history import item_history
from medcurate.intel.service import review_facts
from medcurate.models import normalize_label
from medcurate.store.desk import queue_neighbours, top_suggestions
from medcurate.store.queries import suggestions_for
from medcurate.store.repository import get_item, item_from_record
from medcurate.web.deps import MAX_ROW_ID, ContextDep, CuratorUser, RowId, SessionDep
from medcurate.web.desk import undo
from medcurate.web.options import WebContext
from medcurate.web.pages import redirect
from medcurate.web.review import FEATURED_RATIO, article_view, desk_fields, follow, following
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.services import decide, set_featured_image

api = APIRouter(tags=["history"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

MAX_BRIEF = 200_000


def review_values(session: Session, context: WebContext, *, item_id: int) -> dict[str, Any]:
    """Everything the review screen shows about one item."""
    record = get_item(session, item_id=item_id)
    item = item_from_record(record)
    config = context.settings.load_site_config()
    suggestions = suggestions_for(session, item_id=item_id)
    names = {c.key: c.name for c in config.communities}
    image = item.fields.featured_image
    newer, older = queue_neighbours(session, item=record, state=record.state)
    candidates = (record.provenance or {}).get("image_candidates") or []
    return {
        "record": record,
        "item": item,
        "article": article_view(record, item),
        "desk": desk_fields(item),
        "follows": following(item, brand=record.brand),
        "suggestions": suggestions,
        "topic_suggestions": [s for s in suggestions if s.kind == "topic"],
        "community_names": names,
        "communities": config.communities,
        "offerings": config.offerings,
        "chosen_offerings": {normalize_label(o.label) for o in item.fields.related_offerings or []},
        "history": item_history(session, item_id=item_id),
        "has_image": bool(getattr(image, "href", None)),
        "image_alt": getattr(image, "alt", "") or "",
        "image_candidates": [str(c) for c in candidates if isinstance(c, str)][:8],
        "featured_ratio": FEATURED_RATIO,
        "known_topics": [t.label for t in config.topics],
        "intel": review_facts(item, text=record.text),
        "queue": {"newer": newer, "older": older},
    }


def _undo_notice(lines: list[str]) -> str:
    return "Undone. " + "; ".join(lines[1:4] or lines[:1])


@pages.post("/items/{item_id}/undo")
def page_undo(
    item_id: RowId,
    context: ContextDep,
    user: CuratorUser,
    event: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """Undo one decision on the item (from the history panel), else the user's newest one there (`u`)."""
    result = undo(
        context.database,
        user=user,
        settings=context.settings,
        out_dir=context.site_dir,
        event_id=event,
        item_id=None if event else item_id,
    )
    return redirect(f"/items/{result.item_id}#history", notice=_undo_notice(result.lines))


@pages.post("/undo")
def page_undo_last(
    context: ContextDep, user: CuratorUser, back: Annotated[str, Form(max_length=2000)] = "/items"
) -> Response:
    """Undo the user's newest decision on any item (`u` in the lists and on the review screen)."""
    result = undo(context.database, user=user, settings=context.settings, out_dir=context.site_dir)
    return redirect(back, notice=_undo_notice(result.lines) + f" (item #{result.item_id})")


class UndoCreate(BaseModel):
    """Which decision to undo: an audit event's id, or none for the caller's newest."""

    event_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class UndoPublic(BaseModel):
    """What an undo did."""

    event_id: int
    undid: int
    item_id: int
    summary: list[str]


@api.post("/items/{item_id}/undo")
def api_undo(item_id: RowId, body: UndoCreate, context: ContextDep, user: CuratorUser) -> UndoPublic:
    """Undo a decision on the item (by its audit event id), else the caller's newest one on it."""
    result = undo(
        context.database,
        user=user,
        settings=context.settings,
        out_dir=context.site_dir,
        event_id=body.event_id,
        item_id=None if body.event_id else item_id,
    )
    if result.item_id != item_id:
        raise InvalidInput(f"event {body.event_id} is on item {result.item_id}, not {item_id}")
    return UndoPublic(
        event_id=result.event_id, undid=result.undid, item_id=result.item_id, summary=result.lines
    )


@pages.post("/items/{item_id}/derived")
def page_derived(
    item_id: RowId,
    session: SessionDep,
    user: CuratorUser,
    title: Annotated[str, Form(max_length=2000)] = "",
    brief: Annotated[str, Form(max_length=MAX_BRIEF)] = "",
) -> Response:
    """The derived fields for a title and brief being typed: the form updates those that follow."""
    del user
    record = get_item(session, item_id=item_id)
    item = item_from_record(record)
    values = follow(item, brand=record.brand, title=" ".join(title.split()), brief=brief)
    return JSONResponse(values)


@pages.post("/items/{item_id}/image/candidate")
def page_image_candidate(
    item_id: RowId,
    context: ContextDep,
    session: SessionDep,
    user: CuratorUser,
    url: Annotated[str, Form(max_length=2048)],
    alt: Annotated[str, Form(max_length=500)] = "",
    crop: Annotated[bool, Form()] = False,
) -> Response:
    """Use one of the page's image candidates as the featured image, cropped to the site's ratio."""
    from medcurate.ingest.fetch import fetch_image
    from medcurate.pipeline import default_options

    record = get_item(session, item_id=item_id)
    if url not in ((record.provenance or {}).get("image_candidates") or []):
        raise InvalidInput("that image is not one of the page's; upload it instead")
    try:
        fetched = fetch_image(url, default_options(context.settings).fetch)
    except MedcurateError as exc:
        raise InvalidInput(f"could not fetch {url}: {exc}") from exc
    set_featured_image(
        session,
        item_id=item_id,
        data=fetched.body,
        alt=alt.strip() or None,
        user=user,
        images_dir=context.settings.images_dir,
        max_bytes=context.options.max_upload_bytes,
        config=context.settings.load_site_config(),
        crop_to=FEATURED_RATIO if crop else None,
    )
    return redirect(f"/items/{item_id}#image", notice="Featured image replaced.")


@pages.post("/items/bulk/accept-top")
def page_bulk_accept_top(
    context: ContextDep,
    user: CuratorUser,
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    """Accept the best pending topic suggestion of every ticked item."""
    if not ids:
        return redirect(back, notice="Tick some items first.")
    with context.database.session() as session:
        best = {k: s.label for k, s in top_suggestions(session, item_ids=ids).items()}
    config = context.settings.load_site_config()
    done, refused = 0, []
    for item_id in ids:
        label = best.get(item_id)
        if label is None:
            continue
        try:
            decide(
                context.database,
                item_id=item_id,
                kind="topic",
                label=label,
                action="accept",
                user=user,
                config=config,
            )
            done += 1
        except MedcurateError as exc:
            refused.append(f"#{item_id}: {exc}")
    notice = f"Top suggestion accepted on {done} item{'s' if done != 1 else ''}"
    return redirect(back, notice=notice + (f"; refused: {'; '.join(refused[:3])}" if refused else "."))
