"""What kind of source an item is: an editor's correction of the classifier (``/items/{id}/source-type``).

The correction is stored as a decision (``medcurate.intel.service.correct_source_type``); the next
classification of a page from the same site, or of a text like it, learns from it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from medcurate.intel.kinds import SourceType
from medcurate.store.repository import get_item
from medcurate.web.deps import ContextDep, CuratorUser, RowId
from medcurate.web.pages import redirect
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import ItemDetail, item_detail
from medcurate.web.services import check_can_edit

api = APIRouter(tags=["items"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


class SourceTypeCorrection(BaseModel):
    """An editor's word on what kind of source an item is."""

    source_type: SourceType = Field(description="research, preprint, press-release, news, opinion, ...")


def _correct(context: ContextDep, user: CuratorUser, item_id: int, source_type: SourceType) -> None:
    from medcurate.intel.service import correct_source_type

    with context.database.session() as session:
        check_can_edit(user, get_item(session, item_id=item_id))
    correct_source_type(context.database, item_id=item_id, source_type=source_type.value, actor=user.username)


@api.post("/items/{item_id}/source-type")
def api_correct_source_type(
    item_id: RowId, body: SourceTypeCorrection, context: ContextDep, user: CuratorUser
) -> ItemDetail:
    """Set an item's source type; the classifier learns from the correction."""
    _correct(context, user, item_id, body.source_type)
    with context.database.session() as session:
        return item_detail(get_item(session, item_id=item_id))


@pages.post("/items/{item_id}/source-type")
def page_correct_source_type(
    item_id: RowId,
    context: ContextDep,
    user: CuratorUser,
    source_type: Annotated[SourceType, Form()],
) -> Response:
    """The review page's source-type form."""
    _correct(context, user, item_id, source_type)
    return redirect(f"/items/{item_id}#source", notice=f"Source type: {source_type.label}.")
