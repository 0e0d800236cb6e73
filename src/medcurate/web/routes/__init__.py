"""One module per resource, each with an ``api`` router (JSON, under ``/api``) and a ``pages`` router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorPublic(BaseModel):
    """What every error response carries."""

    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not signed in, or the token is unknown"},
    403: {"model": ErrorPublic, "description": "The role may not do this, or the CSRF token is missing"},
    404: {"model": ErrorPublic, "description": "No such thing"},
    409: {"model": ErrorPublic, "description": "Already exists"},
    422: {"description": "A value is not acceptable"},
}
