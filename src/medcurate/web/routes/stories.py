"""Stories: list, pick the item to publish, split, merge (``/stories``, ``/api/stories``).

Every action is audited and learned from (``medcurate.stories.service``); these routes only parse
and hand over.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from medcurate.store.stories import StoryView
from medcurate.stories import service
from medcurate.web.deps import MAX_ROW_ID, ContextDep, EditorUser, RowId, ViewerUser
from medcurate.web.pages import redirect
from medcurate.web.routes import ERROR_RESPONSES

api = APIRouter(tags=["stories"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)
ItemIds = list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]]


class StoryItemPublic(BaseModel):
    """One item of a story."""

    id: int
    url: str = Field(description="The item's link href")
    title: str
    brand: str
    state: str
    source_type: str = Field(description="The item's sourceType (research, government, news...), if known")


class StoryPublic(BaseModel):
    """A story: its items, the editor's primary item and the suggested one."""

    id: int
    primary: int | None = Field(description="The item the editor chose to publish, if any")
    suggested_primary: int | None = Field(description="The primary source or original reporting")
    outlets: int
    items: list[StoryItemPublic]


class PrimaryChoice(BaseModel):
    """The item of the story to publish."""

    item_id: int = Field(ge=1, le=MAX_ROW_ID)


class SplitRequest(BaseModel):
    """The items to take out of the story."""

    item_ids: ItemIds = Field(min_length=1, max_length=500)


class MergeRequest(BaseModel):
    """The story merged into this one."""

    other_story_id: int = Field(ge=1, le=MAX_ROW_ID)


def story_public(view: StoryView) -> StoryPublic:
    """The API form of a story."""
    from medcurate.stories.primary import suggested_primary

    return StoryPublic(
        id=view.id,
        primary=view.primary_item_id,
        suggested_primary=suggested_primary(view.items),
        outlets=view.outlets,
        items=[
            StoryItemPublic(
                id=i.id, url=i.url, title=i.title, brand=i.brand, state=i.state, source_type=i.source_type
            )
            for i in view.items
        ],
    )


def _one(context: ContextDep, story_id: int) -> StoryPublic:
    from medcurate.errors import NotFound
    from medcurate.store.stories import story_view

    with context.database.session() as session:
        view = story_view(session, story_id=story_id)
    if view is None:
        raise NotFound(f"no story {story_id}")
    return story_public(view)


@api.get("/stories")
def api_list_stories(context: ContextDep, user: ViewerUser) -> list[StoryPublic]:
    """Every story of two or more items, newest first."""
    del user
    return [story_public(v) for v in service.all_stories(context.database)]


@api.get("/stories/{story_id}")
def api_get_story(story_id: RowId, context: ContextDep, user: ViewerUser) -> StoryPublic:
    """One story."""
    del user
    return _one(context, story_id)


@api.post("/stories/{story_id}/primary")
def api_choose_primary(
    story_id: RowId, body: PrimaryChoice, context: ContextDep, user: EditorUser
) -> StoryPublic:
    """Choose the item to publish; the others become its "also covered by" links."""
    service.choose_primary(context.database, story_id=story_id, item_id=body.item_id, actor=user.username)
    return _one(context, story_id)


@api.post("/stories/{story_id}/split")
def api_split(story_id: RowId, body: SplitRequest, context: ContextDep, user: EditorUser) -> StoryPublic:
    """Take items out of a wrong story (into a story of their own when two or more); the rest is returned."""
    service.split(context.database, story_id=story_id, item_ids=body.item_ids, actor=user.username)
    return _one(context, story_id)


@api.post("/stories/{story_id}/merge")
def api_merge(story_id: RowId, body: MergeRequest, context: ContextDep, user: EditorUser) -> StoryPublic:
    """Merge another story into this one."""
    kept = service.merge(
        context.database, story_id=story_id, other_story_id=body.other_story_id, actor=user.username
    )
    return _one(context, kept)


@pages.post("/stories/{story_id}/primary")
def page_choose_primary(
    story_id: RowId,
    context: ContextDep,
    user: EditorUser,
    item_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    back: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    """The story card's "Publish this one" choice."""
    service.choose_primary(context.database, story_id=story_id, item_id=item_id, actor=user.username)
    return redirect(back, notice=f"Item {item_id} is the story's primary; publish it to list the others.")


@pages.post("/stories/{story_id}/split")
def page_split(
    story_id: RowId,
    context: ContextDep,
    user: EditorUser,
    item_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    back: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    """The story card's "Not this story" button: one item out of the story."""
    service.split(context.database, story_id=story_id, item_ids=[item_id], actor=user.username)
    return redirect(back, notice=f"Item {item_id} split from the story.")


@pages.post("/items/{item_id}/story/merge")
def page_merge(
    item_id: RowId,
    context: ContextDep,
    user: EditorUser,
    other_item_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
) -> Response:
    """The review page's "Same story as item #…" form."""
    story_id = service.merge_items(
        context.database, item_id=item_id, other_item_id=other_item_id, actor=user.username
    )
    return redirect(f"/items/{item_id}", notice=f"Merged into story {story_id}.")
