"""The desk's workflow around an item: preview as the site shows it, assignment, editors' notes.

``/items/{id}/preview`` is the site's own page of the item (``medcurate.publish.preview``), its
files under ``/items/{id}/preview/files/``; ``/items/{id}/assign`` and ``/items/{id}/notes`` keep
who has a draft and what the editors said about it, never published (``medcurate.store.workflow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from medcurate.models import ItemState
from medcurate.publish.preview import live_url, preview_file, render_preview
from medcurate.store.repository import get_item, item_from_record
from medcurate.store.workflow import (
    MAX_NOTE_CHARS,
    Note,
    add_note,
    assign_item,
    assignable_users,
    item_notes,
)
from medcurate.web.deps import ContextDep, CuratorUser, CurrentPrincipal, RowId, SessionDep, ViewerUser
from medcurate.web.options import WebContext
from medcurate.web.pages import redirect
from medcurate.web.routes import ERROR_RESPONSES

api = APIRouter(tags=["workflow"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

# The site's own policy (its pages carry it as a meta tag): images from anywhere, nothing else.
PREVIEW_POLICY = (
    "default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class WorkflowView:
    """What the review page's workflow panel shows (``templates/partials/item_workflow.html``)."""

    item_id: int
    assigned_to: str | None
    assignees: tuple[str, ...]
    notes: tuple[Note, ...]
    preview_url: str
    live_url: str | None


def workflow_view(context: WebContext, item_id: int) -> WorkflowView:
    """The workflow panel of an item: the ``item_workflow(id)`` global of the app's templates.

    A global rather than a value each review route passes, so that any review page can include the
    panel (``{% include "partials/item_workflow.html" ignore missing %}``) with only ``record`` at hand.
    """
    with context.database.session() as session:
        record = get_item(session, item_id=item_id)
        published = record.state == ItemState.PUBLISHED.value
        key = record.md_name
        assigned = record.assigned_to
        notes = tuple(item_notes(session, item_id=item_id))
        assignees = tuple(assignable_users(session))
    live = (
        live_url(site_dir=context.site_dir, config=context.settings.load_site_config(), key=key)
        if published
        else None
    )
    return WorkflowView(
        item_id=item_id,
        assigned_to=assigned,
        assignees=assignees,
        notes=notes,
        preview_url=f"/items/{item_id}/preview",
        live_url=live,
    )


class Assignment(BaseModel):
    """Who a draft is given to: a curator's, editor's or admin's username, or null for nobody."""

    assignee: str | None = Field(default=None, max_length=120)


class NoteCreate(BaseModel):
    """An editor's note on an item: kept in its history, never published."""

    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class NotePublic(BaseModel):
    """A note as the API shows it."""

    id: int
    author: str
    text: str
    at: datetime


@pages.get("/items/{item_id}/preview")
def preview(
    item_id: RowId, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The item's page exactly as the site will show it (the site's templates), in any state."""
    del principal
    record = get_item(session, item_id=item_id)
    page = render_preview(
        item_from_record(record),
        item_id=item_id,
        key=record.md_name,
        community=record.community,
        settings=context.settings,
        config=context.settings.load_site_config(),
        served_at=f"/items/{item_id}/preview/files/",
    )
    return HTMLResponse(page.html, headers={"Content-Security-Policy": PREVIEW_POLICY})


@pages.get("/items/{item_id}/preview/files/{relative:path}")
def preview_files(
    item_id: RowId, relative: str, context: ContextDep, principal: CurrentPrincipal
) -> Response:
    """A file of the item's preview site: its stylesheet, its image, the pages it links to."""
    del principal
    return FileResponse(
        preview_file(context.settings, item_id, relative), headers={"Content-Security-Policy": PREVIEW_POLICY}
    )


@pages.post("/items/{item_id}/assign")
def assign_page(
    item_id: RowId,
    session: SessionDep,
    user: CuratorUser,
    assignee: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Give the item to a curator or editor (empty: to nobody)."""
    given = assign_item(session, item_id=item_id, assignee=assignee, actor=user.username)
    return redirect(f"/items/{item_id}", notice=f"Assigned to {given}." if given else "Unassigned.")


@pages.post("/items/{item_id}/notes")
def note_page(
    item_id: RowId,
    session: SessionDep,
    user: CuratorUser,
    text: Annotated[str, Form(max_length=MAX_NOTE_CHARS)],
) -> Response:
    """Add an editor's note to the item."""
    add_note(session, item_id=item_id, author=user.username, text=text)
    return redirect(f"/items/{item_id}#workflow", notice="Note added.")


@api.put("/items/{item_id}/assignee")
def api_assign(item_id: RowId, body: Assignment, session: SessionDep, user: CuratorUser) -> Assignment:
    """Give the item to a curator, editor or admin (``null``: to nobody)."""
    return Assignment(
        assignee=assign_item(session, item_id=item_id, assignee=body.assignee, actor=user.username)
    )


@api.get("/items/{item_id}/notes")
def api_notes(item_id: RowId, session: SessionDep, user: ViewerUser) -> list[NotePublic]:
    """The editors' notes on an item, oldest first."""
    del user
    get_item(session, item_id=item_id)
    return [
        NotePublic(id=n.id, author=n.author, text=n.text, at=n.at)
        for n in item_notes(session, item_id=item_id)
    ]


@api.post("/items/{item_id}/notes", status_code=201)
def api_add_note(item_id: RowId, body: NoteCreate, session: SessionDep, user: CuratorUser) -> NotePublic:
    """Add an editor's note to the item: kept in its history, never published."""
    note = add_note(session, item_id=item_id, author=user.username, text=body.text)
    return NotePublic(id=note.id, author=note.author, text=note.text, at=note.at)
