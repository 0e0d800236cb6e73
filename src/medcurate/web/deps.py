"""Typed dependency aliases for routes: the context, a database session, the signed-in user, role gates, CSRF.

The dependencies that only look at what is already loaded are ``async``: FastAPI runs a plain
function dependency in its threadpool, a hop between threads for each, on every request.

``SessionDep`` commits when the route function returns (``scope="function"``), before the response
leaves, so a redirect that follows a POST always reads what the POST wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from medcurate.errors import AuthError, PermissionDenied
from medcurate.users import Role, User, verify_api_token
from medcurate.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SAFE_METHODS,
    SESSION_COOKIE,
    resolve_session,
    tokens_match,
)
from medcurate.web.options import WebContext

LOGIN_PATH = "/login"
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL

RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]


@dataclass(frozen=True)
class Principal:
    """Who is making the request, and how they proved it."""

    user: User
    via: Literal["session", "token"]
    csrf_token: str | None = None


async def get_context(request: Request) -> WebContext:
    """The app's shared context."""
    context: WebContext = request.app.state.context
    return context


ContextDep = Annotated[WebContext, Depends(get_context)]


def get_db(context: ContextDep) -> Iterator[Session]:
    """A database session for one request: committed on success, rolled back on error."""
    with context.database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``AuthError`` for any other scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("use `Authorization: Bearer <token>`; create a token on your account page")
    return token.strip()


def get_principal_optional(request: Request, session: SessionDep) -> Principal | None:
    """The requester, by API token (header) or session cookie, or None when anonymous."""
    token = bearer_token(request)
    if token is not None:
        user = verify_api_token(session, token=token)
        if session.dirty:
            # Commit the token's last-use stamp (once a minute) now: a route that writes through
            # another session (publishing) must not wait on this one's write lock.
            session.commit()
        return Principal(user=user, via="token")
    signed = resolve_session(session, cookie=request.cookies.get(SESSION_COOKIE))
    if signed is None:
        return None
    return Principal(user=signed.user, via="session", csrf_token=signed.csrf_token)


MaybePrincipal = Annotated[Principal | None, Depends(get_principal_optional)]


async def get_principal(principal: MaybePrincipal) -> Principal:
    """The requester; ``AuthError`` (sign in first) when anonymous."""
    if principal is None:
        raise AuthError("sign in first")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def signed_in_user(principal: CurrentPrincipal) -> User:
    """The signed-in user."""
    return principal.user


CurrentUser = Annotated[User, Depends(signed_in_user)]


async def get_form(request: Request) -> dict[str, str]:
    """A submitted form's text fields (the last value of a repeated name wins)."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(get_form)]


def check_role(user: User, role: Role) -> User:
    """``user`` if their role includes ``role``, else ``PermissionDenied``."""
    if not user.role.allows(role):
        raise PermissionDenied(f"this needs the {role.value} role; {user.username} is {user.role.value}")
    return user


def require(role: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users whose role includes ``role``."""

    async def check(user: CurrentUser) -> User:
        return check_role(user, role)

    return check


ViewerUser = Annotated[User, Depends(require(Role.VIEWER))]
CuratorUser = Annotated[User, Depends(require(Role.CURATOR))]
EditorUser = Annotated[User, Depends(require(Role.EDITOR))]
AdminUser = Annotated[User, Depends(require(Role.ADMIN))]


@dataclass(frozen=True)
class Reading:
    """A signed-in reader's request: who asks, and the request's session."""

    user: User
    session: Session


async def viewer_reading(principal: MaybePrincipal, session: SessionDep) -> Reading:
    """The signed-in user (every role reads) and the session, in one dependency.

    For the hot reads (the item list and an item): ``ViewerUser`` and ``SessionDep`` solve five
    dependencies a request, this one (the principal and the session are solved once for the CSRF
    check anyway). The same errors: ``AuthError`` when anonymous, ``PermissionDenied`` without a role.
    """
    if principal is None:
        raise AuthError("sign in first")
    return Reading(user=check_role(principal.user, Role.VIEWER), session=session)


ViewerReading = Annotated[Reading, Depends(viewer_reading)]


async def csrf_protect(request: Request, principal: MaybePrincipal) -> None:
    """Refuse a state-changing request made with a cookie unless it echoes the CSRF token.

    Applied to every route by the app factory. Token-authenticated requests carry no cookie and
    are exempt; the sign-in form checks its double-submit cookie; anonymous requests fall through
    to the route's own sign-in requirement.
    """
    if request.method in SAFE_METHODS or (principal is not None and principal.via == "token"):
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if principal is None:
        if request.url.path == LOGIN_PATH and not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), given):
            raise PermissionDenied("the sign-in form expired; reload the page and try again")
        return
    if not tokens_match(principal.csrf_token, given):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")
