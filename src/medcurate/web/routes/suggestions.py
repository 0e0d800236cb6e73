"""Suggestions and decisions: accept or reject a suggested topic in one click, add one, suggest again.

The review page's topic panel is a fragment: a decision made from the page with JavaScript gets
the re-rendered panel back and swaps it in place; without JavaScript the form posts and redirects.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from medcurate.models import DecisionAction, SuggestionKind
from medcurate.store.queries import suggestions_for
from medcurate.store.repository import get_item, item_from_record
from medcurate.web.deps import ContextDep, CuratorUser, CurrentPrincipal, RowId, SessionDep, ViewerUser
from medcurate.web.pages import redirect, render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import (
    DecisionCreate,
    ItemDetail,
    SuggestionsPublic,
    item_detail,
    suggestion_public,
)
from medcurate.web.services import decide, refresh_suggestions

api = APIRouter(tags=["suggestions"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

FRAGMENT_HEADER = "X-Fragment"


@api.get("/items/{item_id}/suggestions")
def api_suggestions(item_id: RowId, session: SessionDep, user: ViewerUser) -> SuggestionsPublic:
    """An item's stored suggestions (topics, community, offerings), best first."""
    del user
    get_item(session, item_id=item_id)
    data = [suggestion_public(s) for s in suggestions_for(session, item_id=item_id)]
    return SuggestionsPublic(data=data, count=len(data))


@api.post("/items/{item_id}/suggestions/refresh")
def api_refresh(item_id: RowId, context: ContextDep, user: CuratorUser) -> SuggestionsPublic:
    """Compute fresh suggestions for an item and return them."""
    refresh_suggestions(context.database, item_id=item_id, settings=context.settings, user=user)
    with context.database.session() as session:
        data = [suggestion_public(s) for s in suggestions_for(session, item_id=item_id)]
    return SuggestionsPublic(data=data, count=len(data))


@api.post("/items/{item_id}/decisions")
def api_decide(item_id: RowId, body: DecisionCreate, context: ContextDep, user: CuratorUser) -> ItemDetail:
    """Accept, reject or add a topic, community or offering; the item is updated and the decision kept."""
    decide(
        context.database,
        item_id=item_id,
        kind=body.kind,
        label=body.label,
        action=body.action,
        user=user,
        config=context.settings.load_site_config(),
    )
    with context.database.session() as session:
        return item_detail(get_item(session, item_id=item_id))


def topics_panel(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal, item_id: RowId
) -> Response:
    """The review page's topic panel alone."""
    record = get_item(session, item_id=item_id)
    config = context.settings.load_site_config()
    return render(
        request,
        context,
        "_topics.html",
        principal=principal,
        record=record,
        item=item_from_record(record),
        suggestions=suggestions_for(session, item_id=item_id),
        known_topics=[t.label for t in config.topics],
    )


@pages.post("/items/{item_id}/decisions")
def page_decide(
    item_id: RowId,
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    user: CuratorUser,
    kind: Annotated[SuggestionKind, Form()],
    label: Annotated[str, Form(min_length=1, max_length=400)],
    action: Annotated[DecisionAction, Form()],
) -> Response:
    """One click on accept, reject or add."""
    decide(
        context.database,
        item_id=item_id,
        kind=kind,
        label=label,
        action=action,
        user=user,
        config=context.settings.load_site_config(),
    )
    if request.headers.get(FRAGMENT_HEADER):
        return topics_panel(request, context, session, principal, item_id)
    return redirect(f"/items/{item_id}#topics", notice=f"{kind} {label!r}: {action}ed.")


@pages.post("/items/{item_id}/suggest")
def page_refresh(item_id: RowId, context: ContextDep, user: CuratorUser) -> Response:
    """Ask for fresh suggestions."""
    refresh_suggestions(context.database, item_id=item_id, settings=context.settings, user=user)
    return redirect(f"/items/{item_id}#topics", notice="Suggestions refreshed.")
