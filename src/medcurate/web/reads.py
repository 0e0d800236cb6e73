"""The hot reads' parts: the item list's query parameters as one model, an answer serialised once.

``GET /api/items`` and ``GET /api/items/{id}`` are most of an editor's requests. FastAPI validates
each query parameter declared one by one on its own (the list has thirteen); declared as one model
(``ItemListParams``) they are validated in one call, with the same names, limits, descriptions and
422 answers. A route that returns ``json_answer(model)`` hands FastAPI a finished response: the
model is written to JSON once, as FastAPI would write it, without FastAPI validating the model
again (in a threadpool hop of its own for a plain function); the route's ``response_model`` keeps
the OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Response
from pydantic import BaseModel, Field

from medcurate.store.listing import MAX_OFFSET
from medcurate.web.options import MAX_PAGE_SIZE

_CURSOR = "A cursor from an earlier answer's next (after=) or prev (before=)"


class ItemListParams(BaseModel):
    """The filters and paging of ``GET /api/items``."""

    state: str | None = Field(default=None, max_length=16)
    brand: str | None = Field(default=None, max_length=255)
    topic: str | None = Field(default=None, max_length=400)
    community: str | None = Field(default=None, max_length=120)
    identifier: str | None = Field(
        default=None, max_length=300, description="A DOI, PMID, NCT, FDA, FR or CFR identifier it carries"
    )
    q: str | None = Field(
        default=None, max_length=200, description="Words in the title or text, whole; `word*` for a prefix"
    )
    assigned: str | None = Field(
        default=None, max_length=120, description="Items assigned to this username; `me`: to you"
    )
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, description=f"At most {MAX_OFFSET}; deeper, page with after=")
    after: str | None = Field(default=None, max_length=200, description=_CURSOR)
    before: str | None = Field(default=None, max_length=200, description=_CURSOR)


def json_answer(model: BaseModel) -> Response:
    """``model`` as the JSON answer FastAPI would make of it (``response_model_by_alias``)."""
    return Response(content=model.model_dump_json(by_alias=True), media_type="application/json")
