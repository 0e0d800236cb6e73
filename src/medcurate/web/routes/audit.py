"""The audit trail: who changed what and when (``/audit``, ``/api/audit``, ``/api/items/{id}/audit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from medcurate.store.queries import audit_page
from medcurate.store.repository import get_item
from medcurate.web.deps import ContextDep, CurrentPrincipal, RowId, SessionDep, ViewerUser
from medcurate.web.pages import render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import AuditPublic, audit_public

api = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

MAX_AUDIT_PAGE = 500
AUDIT_PAGE_SIZE = 100


@api.get("/audit")
def api_audit(
    session: SessionDep,
    user: ViewerUser,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = AUDIT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPublic:
    """Audit events, newest first, optionally for one entity or actor."""
    del user
    events, count = audit_page(
        session, entity_type=entity_type, entity_id=entity_id, actor=actor, limit=limit, offset=offset
    )
    return AuditPublic(data=[audit_public(e) for e in events], count=count)


@api.get("/items/{item_id}/audit")
def api_item_audit(
    item_id: RowId,
    session: SessionDep,
    user: ViewerUser,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = AUDIT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPublic:
    """One item's audit trail, newest first."""
    del user
    get_item(session, item_id=item_id)
    events, count = audit_page(
        session, entity_type="item", entity_id=str(item_id), limit=limit, offset=offset
    )
    return AuditPublic(data=[audit_public(e) for e in events], count=count)


@pages.get("/audit")
def audit_log(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The whole audit trail, newest first."""
    events, count = audit_page(
        session,
        actor=actor or None,
        entity_type=entity_type or None,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    return render(
        request,
        context,
        "audit.html",
        principal=principal,
        events=events,
        count=count,
        page=page,
        pages=max(1, -(-count // AUDIT_PAGE_SIZE)),
        actor=actor or "",
        entity_type=entity_type or "",
    )
