"""Signing in and out, the account page, API tokens (``/login``, ``/account``, ``/api/tokens``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from medcurate.errors import AuthError, RateLimited
from medcurate.users import create_api_token, list_api_tokens, revoke_api_token
from medcurate.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    end_session,
    new_token,
    sign_in,
    start_session,
)
from medcurate.web.deps import ContextDep, CurrentPrincipal, CurrentUser, MaybePrincipal, RowId, SessionDep
from medcurate.web.pages import redirect, render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import (
    TokenCreate,
    TokenCreated,
    TokensPublic,
    UserPublic,
    token_public,
    user_public,
)
from medcurate.web.transport import client_address

api = APIRouter(tags=["account"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site; browsers read ``//host`` and ``/\\host`` as another site."""
    if not target or not target.startswith("/") or target[1:2] in {"/", "\\"}:
        return "/items"
    return "/items" if any(ord(c) < 0x20 or c == "\x7f" for c in target) else target


def _login_page(
    request: Request,
    context: ContextDep,
    *,
    next_url: str,
    error: str | None,
    status: int,
    username: str = "",
) -> HTMLResponse:
    token = new_token()
    response = render(
        request,
        context,
        "login.html",
        principal=None,
        status=status,
        login_csrf=token,
        next_url=next_url,
        error=error,
        username=username,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=context.options.secure_cookies,
        max_age=3600,
        path="/login",
    )
    return response


@pages.get("/login")
def login_form(
    request: Request, context: ContextDep, principal: MaybePrincipal, next: str | None = None
) -> Response:
    """The sign-in page (or straight on, when already signed in)."""
    if principal is not None:
        return redirect(_safe_next(next))
    return _login_page(request, context, next_url=_safe_next(next), error=None, status=200)


@pages.post("/login")
def login(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/items",
) -> Response:
    """Check the credentials (rate-limited), start a session and go on."""
    address = client_address(request, context.options.trusted_proxies)
    try:
        user = sign_in(
            session,
            username=username,
            password=password,
            address=address,
            limits=context.options.login_limits,
        )
    except AuthError as exc:
        session.commit()  # the failed attempt must count even though the request fails
        status = 429 if isinstance(exc, RateLimited) else 401
        return _login_page(
            request, context, next_url=_safe_next(next), error=str(exc), status=status, username=username
        )
    cookie, _ = start_session(session, user=user, lifetime=context.options.session_lifetime)
    response = redirect(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=context.options.secure_cookies,
        max_age=int(context.options.session_lifetime.total_seconds()),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@pages.post("/logout")
def logout(request: Request, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """End the session."""
    del principal
    end_session(session, cookie=request.cookies.get(SESSION_COOKIE))
    response = redirect("/login", notice="Signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/account")
def account(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The user's account: role and API tokens."""
    tokens = list_api_tokens(session, username=principal.user.username)
    return render(request, context, "account.html", principal=principal, tokens=tokens, new_token=None)


@pages.post("/account/tokens")
def account_new_token(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(min_length=1, max_length=120)] = "script",
) -> Response:
    """Create an API token and show its secret once."""
    username = principal.user.username
    _, secret = create_api_token(session, username=username, name=name, actor=username)
    tokens = list_api_tokens(session, username=username)
    return render(request, context, "account.html", principal=principal, tokens=tokens, new_token=secret)


@pages.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(token_id: RowId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Revoke one of the user's tokens."""
    username = principal.user.username
    revoke_api_token(session, token_id=token_id, username=username, actor=username)
    return redirect("/account", notice="Token revoked.")


@api.get("/me")
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return user_public(user)


@api.get("/tokens")
def my_tokens(session: SessionDep, user: CurrentUser) -> TokensPublic:
    """The signed-in user's API tokens."""
    data = [token_public(t) for t in list_api_tokens(session, username=user.username)]
    return TokensPublic(data=data, count=len(data))


@api.post("/tokens", status_code=201)
def new_api_token(body: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenCreated:
    """Create an API token; the secret is in this response only."""
    token, secret = create_api_token(session, username=user.username, name=body.name, actor=user.username)
    return TokenCreated(**token_public(token).model_dump(), token=secret)


@api.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    """Revoke one of the signed-in user's tokens."""
    revoke_api_token(session, token_id=token_id, username=user.username, actor=user.username)
    return Response(status_code=204)
