"""Sources and feeds the editors follow (``/sources``, ``/api/sources``); "check now" ingests a feed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response

from medcurate.store.models import SourceRecord
from medcurate.store.queries import list_sources
from medcurate.web.deps import (
    ContextDep,
    CuratorUser,
    CurrentPrincipal,
    EditorUser,
    RowId,
    SessionDep,
    ViewerUser,
)
from medcurate.web.pages import redirect, render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import SourceCreate, SourcePublic, SourcesPublic
from medcurate.web.services import add_source, feed_links, remove_source

api = APIRouter(tags=["sources"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

SourceKind = Literal["feed", "opml", "bookmarks", "urls", "page"]


def _public(source: SourceRecord, items: int) -> SourcePublic:
    return SourcePublic(
        id=source.id,
        kind=source.kind,
        location=source.location,
        title=source.title,
        created_at=source.created_at,
        last_checked_at=source.last_checked_at,
        last_error=source.last_error,
        items=items,
    )


@api.get("/sources")
def api_sources(session: SessionDep, user: ViewerUser) -> SourcesPublic:
    """Followed sources, with how many stored items came from each one's host."""
    del user
    data = [_public(s, n) for s, n in list_sources(session)]
    return SourcesPublic(data=data, count=len(data))


@api.post("/sources", status_code=201)
def api_add_source(body: SourceCreate, session: SessionDep, user: CuratorUser) -> SourcePublic:
    """Follow a source."""
    source = add_source(session, kind=body.kind, location=body.location, title=body.title, user=user)
    return _public(source, 0)


@api.delete("/sources/{source_id}", status_code=204)
def api_remove_source(source_id: RowId, session: SessionDep, user: EditorUser) -> Response:
    """Stop following a source."""
    remove_source(session, source_id=source_id, user=user)
    return Response(status_code=204)


@pages.get("/sources")
def sources_page(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Followed sources and feeds."""
    return render(request, context, "sources.html", principal=principal, sources=list_sources(session))


@pages.post("/sources")
def sources_add(
    session: SessionDep,
    user: CuratorUser,
    location: Annotated[str, Form(min_length=1, max_length=2048)],
    kind: Annotated[SourceKind, Form()] = "feed",
    title: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Follow a new source."""
    add_source(session, kind=kind, location=location, title=title, user=user)
    return redirect("/sources", notice="Source added.")


@pages.post("/sources/{source_id}/delete")
def sources_remove(source_id: RowId, session: SessionDep, user: EditorUser) -> Response:
    """Stop following a source."""
    remove_source(session, source_id=source_id, user=user)
    return redirect("/sources", notice="Source removed.")


@pages.post("/sources/{source_id}/check")
def sources_check(source_id: RowId, context: ContextDep, user: CuratorUser) -> Response:
    """Read a feed now and ingest its links; follow the progress on the job page."""
    links = feed_links(context.database, source_id=source_id, settings=context.settings, user=user)
    if not links:
        return redirect("/sources", notice="No links in that source right now.")
    job = context.jobs.submit(links, actor=user.username)
    return redirect(f"/jobs/{job.id}")
