"""Followed sources (``/sources``, ``/api/sources``): subscriptions, their health, pause and resume.

The rules (an http(s) location, a kind the scheduler refreshes, the interval, the community) are
``medcurate.scheduler.follow``'s, which ``medcurate sources`` calls too; these routes check the role
and translate. "Check now" reads a source at once and ingests its links as a job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from medcurate.scheduler.follow import (
    FOLLOWED_KINDS,
    follow_source,
    pause_source,
    resume_source,
    unfollow_source,
)
from medcurate.store.queries import list_sources
from medcurate.store.subscriptions import SourceHealth, get_subscription, source_health
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
from medcurate.web.schemas import SourceCreate, SourceKindName, SourcePause, SourcePublic, SourcesPublic
from medcurate.web.services import feed_links

api = APIRouter(tags=["sources"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands moments back without their zone: they are UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _public(health: SourceHealth, items: int) -> SourcePublic:
    source = health.source
    return SourcePublic(
        id=source.id,
        kind=source.kind,
        location=source.location,
        title=source.title,
        created_at=_utc(source.created_at) or datetime.now(UTC),
        last_checked_at=_utc(source.last_checked_at),
        last_error=source.last_error,
        items=items,
        refresh_minutes=source.refresh_minutes,
        community=source.community,
        topics=list(source.topics or []),
        enabled=source.enabled,
        paused_reason=source.paused_reason,
        consecutive_failures=source.consecutive_failures,
        next_refresh_at=_utc(source.next_refresh_at),
        last_success_at=_utc(source.last_success_at),
        last_new_entry_at=_utc(source.last_new_entry_at),
        entries_seen=source.entries_seen,
        drafts_30d=health.drafts_30d,
        published_30d=health.published_30d,
        median_delay_seconds=health.median_delay.total_seconds() if health.median_delay else None,
    )


def _all(session: SessionDep) -> list[SourcePublic]:
    items = {source.id: n for source, n in list_sources(session)}
    return [_public(h, items.get(h.source.id, 0)) for h in source_health(session, now=datetime.now(UTC))]


def _one(context: ContextDep, source_id: int) -> SourcePublic:
    with context.database.session() as session:
        get_subscription(session, source_id)
        return next(s for s in _all(session) if s.id == source_id)


@api.get("/sources")
def api_sources(session: SessionDep, user: ViewerUser) -> SourcesPublic:
    """Followed sources with their health, and how many stored items came from each one's host."""
    del user
    data = _all(session)
    return SourcesPublic(data=data, count=len(data))


@api.post("/sources", status_code=201)
def api_add_source(body: SourceCreate, context: ContextDep, user: CuratorUser) -> SourcePublic:
    """Follow a source; the scheduler refreshes it at once, then every ``refresh_minutes``."""
    source = follow_source(
        context.database,
        location=body.location,
        actor=user.username,
        now=datetime.now(UTC),
        config=context.settings.load_site_config(),
        kind=body.kind,
        title=body.title,
        refresh_minutes=body.refresh_minutes,
        community=body.community,
        topics=body.topics,
    )
    return _one(context, source.id)


@api.post("/sources/{source_id}/pause")
def api_pause_source(
    source_id: RowId, context: ContextDep, user: CuratorUser, body: SourcePause | None = None
) -> SourcePublic:
    """Stop refreshing a source, with a reason."""
    pause_source(
        context.database, source_id=source_id, actor=user.username, reason=body.reason if body else ""
    )
    return _one(context, source_id)


@api.post("/sources/{source_id}/resume")
def api_resume_source(source_id: RowId, context: ContextDep, user: CuratorUser) -> SourcePublic:
    """Refresh a paused source again, at once."""
    resume_source(context.database, source_id=source_id, actor=user.username, now=datetime.now(UTC))
    return _one(context, source_id)


@api.delete("/sources/{source_id}", status_code=204)
def api_remove_source(source_id: RowId, context: ContextDep, user: EditorUser) -> Response:
    """Stop following a source."""
    unfollow_source(context.database, source_id=source_id, actor=user.username)
    return Response(status_code=204)


@pages.get("/sources")
def sources_page(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Followed sources with their health."""
    return render(
        request,
        context,
        "sources.html",
        principal=principal,
        sources=_all(session),
        kinds=[k.value for k in FOLLOWED_KINDS],
        communities=[c.key for c in context.settings.load_site_config().communities],
    )


@pages.post("/sources")
def sources_add(
    context: ContextDep,
    user: CuratorUser,
    location: Annotated[str, Form(min_length=1, max_length=2048)],
    kind: Annotated[SourceKindName, Form()] = "feed",
    title: Annotated[str, Form(max_length=500)] = "",
    refresh_minutes: Annotated[int, Form(ge=1, le=10_080)] = 30,
    community: Annotated[str, Form(max_length=120)] = "",
    topics: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Follow a new source."""
    follow_source(
        context.database,
        location=location,
        actor=user.username,
        now=datetime.now(UTC),
        config=context.settings.load_site_config(),
        kind=kind,
        title=title,
        refresh_minutes=refresh_minutes,
        community=community or None,
        topics=[t for t in topics.replace("\n", ",").split(",") if t.strip()],
    )
    return redirect("/sources", notice="Source added.")


@pages.post("/sources/{source_id}/pause")
def sources_pause(
    source_id: RowId,
    context: ContextDep,
    user: CuratorUser,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Pause a source."""
    pause_source(context.database, source_id=source_id, actor=user.username, reason=reason)
    return redirect("/sources", notice="Source paused.")


@pages.post("/sources/{source_id}/resume")
def sources_resume(source_id: RowId, context: ContextDep, user: CuratorUser) -> Response:
    """Resume a source."""
    resume_source(context.database, source_id=source_id, actor=user.username, now=datetime.now(UTC))
    return redirect("/sources", notice="Source resumed.")


@pages.post("/sources/{source_id}/delete")
def sources_remove(source_id: RowId, context: ContextDep, user: EditorUser) -> Response:
    """Stop following a source."""
    unfollow_source(context.database, source_id=source_id, actor=user.username)
    return redirect("/sources", notice="Source removed.")


@pages.post("/sources/{source_id}/check")
def sources_check(source_id: RowId, context: ContextDep, user: CuratorUser) -> Response:
    """Read a source now and ingest its links; follow the progress on the job page."""
    links = feed_links(context.database, source_id=source_id, settings=context.settings, user=user)
    if not links:
        return redirect("/sources", notice="No links in that source right now.")
    job = context.jobs.submit(links, actor=user.username)
    return redirect(f"/jobs/{job.id}")
