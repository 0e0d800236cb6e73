"""Items: the inbox, the review page, edits, workflow actions, bulk actions (``/items``, ``/api/items``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy.orm import Session

from medcurate.errors import MedcurateError, NotFound
from medcurate.intel.identifiers import identifier_key
from medcurate.publish.preview import live_url
from medcurate.store.desk import top_suggestions
from medcurate.store.listing import about, item_page, item_total
from medcurate.store.queries import item_facets
from medcurate.store.repository import ItemQuery, get_item, item_from_record
from medcurate.store.stories import stories_of_items
from medcurate.stories.primary import inbox_cards
from medcurate.users import User
from medcurate.web.deps import (
    MAX_ROW_ID,
    ContextDep,
    CuratorUser,
    CurrentPrincipal,
    EditorUser,
    FormDep,
    RowId,
    SessionDep,
    ViewerReading,
)
from medcurate.web.forms import edited_text, parse_fields
from medcurate.web.options import WebContext
from medcurate.web.pages import redirect, render
from medcurate.web.reads import ItemListParams, json_answer
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.routes.desk import review_values
from medcurate.web.schemas import (
    BulkAction,
    BulkFailure,
    BulkResult,
    ItemDetail,
    ItemsPublic,
    ItemUpdate,
    item_detail,
    items_public,
)
from medcurate.web.services import (
    ItemChanges,
    bulk_transition,
    publish_items,
    set_featured_image,
    transition,
    update_item,
)

api = APIRouter(tags=["items"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

Action = Literal["approve", "publish", "reject", "draft"]
CURSOR = Query(
    max_length=200, description="A cursor from an earlier answer's next (after=) or prev (before=)"
)
NOTICES = {"approve": "Approved.", "reject": "Rejected.", "draft": "Back to draft.", "publish": "Published."}


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _query(
    *,
    state: str | None,
    brand: str | None,
    topic: str | None,
    community: str | None,
    q: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    identifier: str | None = None,
    assigned_to: str | None = None,
) -> ItemQuery:
    return ItemQuery(
        identifier=identifier_key(identifier) if identifier and identifier.strip() else None,
        assigned_to=assigned_to or None,
        state=state or None,
        brand=brand or None,
        topic=topic or None,
        community=community or None,
        text=(q or "").strip() or None,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


@api.get("/items", response_model=ItemsPublic)
def api_list_items(params: Annotated[ItemListParams, Query()], reading: ViewerReading) -> Response:
    """Items matching the filters, newest first (best matches first with q=), one page at a time."""
    assigned = params.assigned
    query = _query(
        state=params.state,
        brand=params.brand,
        topic=params.topic,
        community=params.community,
        q=params.q,
        since=params.since,
        until=params.until,
        limit=params.limit,
        offset=params.offset,
        identifier=params.identifier,
        assigned_to=reading.user.username if assigned == "me" else assigned,
    )
    session = reading.session
    page = item_page(session, query=query, after=params.after, before=params.before)
    return json_answer(items_public(page, item_total(session, query=query)))


@api.get("/items/{item_id}", response_model=ItemDetail)
def api_get_item(item_id: RowId, reading: ViewerReading) -> Response:
    """One item in full."""
    return json_answer(item_detail(get_item(reading.session, item_id=item_id)))


@api.patch("/items/{item_id}", response_model=ItemDetail)
def api_update_item(
    item_id: RowId, body: ItemUpdate, context: ContextDep, session: SessionDep, user: CuratorUser
) -> Response:
    """Edit an item: named fields, topics, community, offerings, or any front-matter key."""
    front_matter = dict(body.front_matter or {})
    for key in ("title", "description"):
        value = getattr(body, key)
        if value is not None:
            front_matter[key] = value
    changes = ItemChanges(
        front_matter=front_matter or None,
        body=body.body,
        topics=body.topics,
        community=body.community,
        related_offerings=body.related_offerings,
    )
    record = update_item(
        session, item_id=item_id, changes=changes, user=user, config=context.settings.load_site_config()
    )
    # Committed before the answer is built and sent: on SQLite the write lock, which every other
    # writer waits for, was held through that too (4 ms of an 8 ms hold on a loaded machine).
    session.commit()
    return json_answer(item_detail(record))


@api.post("/items/bulk")
def api_bulk(body: BulkAction, context: ContextDep, user: EditorUser) -> BulkResult:
    """Approve, publish, reject or send back to draft many items at once."""
    if body.action == "publish":
        done, failed = publish_items(
            context.database,
            item_ids=body.ids,
            user=user,
            settings=context.settings,
            out_dir=context.site_dir,
        )
    else:
        done, failed = bulk_transition(context.database, item_ids=body.ids, action=body.action, user=user)
    return BulkResult(done=done, failed=[BulkFailure(id=k, reason=str(v)) for k, v in failed.items()])


def _publish_one(item_id: RowId, context: WebContext, user: User) -> None:
    """Publish one item with the same publisher as the CLI; its failure becomes the response."""
    _, failed = publish_items(
        context.database,
        item_ids=[item_id],
        user=user,
        settings=context.settings,
        out_dir=context.site_dir,
    )
    if failed:
        _raise_first(failed)


def _apply(item_id: RowId, action: Action, context: WebContext, user: User) -> ItemDetail:
    if action == "publish":
        _publish_one(item_id, context, user)
    else:
        with context.database.session() as session:
            transition(session, item_id=item_id, action=action, user=user)
    with context.database.session() as session:
        return item_detail(get_item(session, item_id=item_id))


@api.post("/items/{item_id}/approve")
def api_approve(item_id: RowId, context: ContextDep, user: EditorUser) -> ItemDetail:
    """Approve an item."""
    return _apply(item_id, "approve", context, user)


@api.post("/items/{item_id}/publish")
def api_publish(item_id: RowId, context: ContextDep, user: EditorUser) -> ItemDetail:
    """Publish an item and rebuild the site, as ``medcurate site build`` does."""
    return _apply(item_id, "publish", context, user)


@api.post("/items/{item_id}/reject")
def api_reject(item_id: RowId, context: ContextDep, user: EditorUser) -> ItemDetail:
    """Reject an item."""
    return _apply(item_id, "reject", context, user)


@api.post("/items/{item_id}/draft")
def api_back_to_draft(item_id: RowId, context: ContextDep, user: EditorUser) -> ItemDetail:
    """Send an item back to draft."""
    return _apply(item_id, "draft", context, user)


def published_notice(context: WebContext, item_id: int) -> str:
    """What an editor reads after publishing: the live page's address, where the site has one."""
    with context.database.session() as session:
        key = get_item(session, item_id=item_id).md_name
    live = live_url(site_dir=context.site_dir, config=context.settings.load_site_config(), key=key)
    return f"Published: {live}" if live else "Published; the site is rebuilt."


def _raise_first(failed: dict[int, MedcurateError]) -> None:
    raise next(iter(failed.values()))


@pages.get("/")
def home(principal: CurrentPrincipal) -> Response:
    """The inbox is the home page."""
    del principal
    return redirect("/items")


@pages.get("/items")
def inbox(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(max_length=16)] = "draft",
    brand: Annotated[str | None, Query(max_length=255)] = None,
    topic: Annotated[str | None, Query(max_length=400)] = None,
    community: Annotated[str | None, Query(max_length=120)] = None,
    identifier: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    assigned: Annotated[str | None, Query(max_length=120)] = None,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
    after: Annotated[str | None, CURSOR] = None,
    before: Annotated[str | None, CURSOR] = None,
) -> Response:
    """The inbox: items (drafts by default) with filters, full-text search and bulk actions."""
    until_day = _day_start(until)
    query = _query(
        state=state,
        brand=brand,
        topic=topic,
        community=community,
        q=q,
        since=_day_start(since),
        until=until_day + timedelta(days=1) if until_day else None,
        limit=context.options.page_size,
        offset=0,
        identifier=identifier,
        assigned_to=principal.user.username if assigned == "me" else assigned,
    )
    page = item_page(session, query=query, after=after, before=before)
    total = item_total(session, query=query)
    row_ids = [r.id for r in page.rows]
    stories = inbox_cards(row_ids, stories_of_items(session, item_ids=row_ids))
    chosen: dict[str, str | date | None] = {"state": state, "brand": brand, "topic": topic, "q": q}
    chosen |= {"community": community, "identifier": identifier, "assigned": assigned}
    chosen |= {"since": since, "until": until}
    filters = {k: v.isoformat() if isinstance(v, date) else v or "" for k, v in chosen.items()}
    # Links carry the filters set (and state, whose absence means drafts): an empty date is a 422.
    linked = {k: v for k, v in filters.items() if v or k == "state"}
    here = {"after": after} if after else {"before": before} if before else {}
    return render(
        request,
        context,
        "inbox.html",
        principal=principal,
        **_rows_with_top_suggestions(session, page.rows),
        total=total,
        total_text=about(total),
        next_page=page.next,
        prev_page=page.prev,
        here=here,
        linked=linked,
        filters=filters,
        facets=item_facets(session),
        stories=stories,
    )


def _rows_with_top_suggestions(session: Session, rows: Sequence[Any]) -> dict[str, Any]:
    """The page's rows and each one's best pending topic suggestion (what the inbox's `a` accepts)."""
    return {"items": rows, "top": top_suggestions(session, item_ids=[r.id for r in rows])}


@pages.post("/items/bulk")
def inbox_bulk(
    context: ContextDep,
    user: EditorUser,
    action: Annotated[Action, Form()],
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    """Apply a workflow action to the ticked items."""
    if not ids:
        return redirect(back, notice="Tick some items first.")
    if action == "publish":
        done, failed = publish_items(
            context.database, item_ids=ids, user=user, settings=context.settings, out_dir=context.site_dir
        )
    else:
        done, failed = bulk_transition(context.database, item_ids=ids, action=action, user=user)
    notice = f"{action}: {len(done)} done" + (
        f", {len(failed)} refused ({next(iter(failed.values()))})" if failed else ""
    )
    return redirect(back, notice=notice)


@pages.get("/items/{item_id}")
def review(
    item_id: RowId, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The review screen: the article beside the editor's fields, topics and history (``routes.desk``)."""
    values = review_values(session, context, item_id=item_id)
    values["story"] = stories_of_items(session, item_ids=[item_id]).get(item_id)
    return render(request, context, "item.html", principal=principal, **values)


@pages.post("/items/{item_id}")
def review_save(
    item_id: RowId,
    context: ContextDep,
    session: SessionDep,
    user: CuratorUser,
    form: FormDep,
    offerings: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Save the review page's fields, body and topics."""
    record = get_item(session, item_id=item_id)
    front_matter = parse_fields(record.front_matter, form)
    topics = form.get("topics")
    changes = ItemChanges(
        front_matter=front_matter or None,
        body=edited_text(record.body, form.get("body")),
        topics=[line for line in topics.splitlines() if line.strip()] if topics is not None else None,
        community=form["community"] if form.get("community") not in (None, "", record.community) else None,
        related_offerings=offerings if "offerings_shown" in form else None,
    )
    update_item(
        session, item_id=item_id, changes=changes, user=user, config=context.settings.load_site_config()
    )
    return redirect(f"/items/{item_id}", notice="Saved.")  # only the fields edited changed


@pages.post("/items/{item_id}/community")
def review_community(
    item_id: RowId,
    context: ContextDep,
    session: SessionDep,
    user: CuratorUser,
    community: Annotated[str, Form(max_length=120)],
    offerings: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Set the item's community and related offerings."""
    changes = ItemChanges(community=community, related_offerings=offerings or [])
    update_item(
        session, item_id=item_id, changes=changes, user=user, config=context.settings.load_site_config()
    )
    return redirect(f"/items/{item_id}", notice="Community and offerings saved.")


@pages.post("/items/{item_id}/image")
async def review_image(
    item_id: RowId,
    context: ContextDep,
    session: SessionDep,
    user: CuratorUser,
    image: Annotated[UploadFile, File()],
    alt: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Replace the featured image with an uploaded one."""
    data = await image.read(context.options.max_upload_bytes + 1)
    set_featured_image(
        session,
        item_id=item_id,
        data=data,
        alt=alt.strip() or None,
        user=user,
        images_dir=context.settings.images_dir,
        max_bytes=context.options.max_upload_bytes,
        config=context.settings.load_site_config(),
    )
    return redirect(f"/items/{item_id}", notice="Featured image replaced.")


@pages.get("/items/{item_id}/image")
def review_image_file(
    item_id: RowId, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The item's featured image file."""
    del principal
    record = get_item(session, item_id=item_id)
    image = item_from_record(record).fields.featured_image
    href = getattr(image, "href", None) or ""
    path = context.settings.images_dir / href
    if not href or "/" in href or "\\" in href or not path.is_file():
        raise NotFound(f"item {item_id} has no stored featured image")
    return FileResponse(path)


@pages.post("/items/{item_id}/state/{action}")
def review_transition(
    item_id: RowId,
    action: Action,
    context: ContextDep,
    user: EditorUser,
    next_item: Annotated[int | None, Form(alias="next", ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """Approve, publish, reject or send back to draft from the review page; then the next item, if given."""
    target = f"/items/{next_item or item_id}"
    if action == "publish":
        _publish_one(item_id, context, user)
        if next_item:
            return redirect(target, notice=published_notice(context, item_id) + f" Now #{next_item}.")
        return redirect(target, notice=published_notice(context, item_id))
    with context.database.session() as session:
        transition(session, item_id=item_id, action=action, user=user)
    return redirect(target, notice=f"#{item_id}: {NOTICES[action]}" if next_item else NOTICES[action])
