"""Users and roles, for admins (``/users``, ``/api/users``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy.orm import Session

from medcurate.errors import InvalidInput
from medcurate.users import (
    Role,
    User,
    add_user,
    disable_user,
    get_user,
    list_users,
    set_password,
    set_role,
    unlock_user,
)
from medcurate.web.deps import AdminUser, ContextDep, CurrentPrincipal, SessionDep
from medcurate.web.pages import redirect, render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import UserCreate, UserPublic, UsersPublic, UserUpdate, user_public

api = APIRouter(tags=["users"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


def _not_self(admin: User, username: str) -> None:
    if admin.username == username:
        raise InvalidInput("an admin cannot change their own role or disable themselves; ask another admin")


def _update(session: Session, admin: User, username: str, change: UserUpdate) -> User:
    user = get_user(session, username=username)
    if change.role is not None and change.role != user.role:
        _not_self(admin, username)
        user = set_role(session, username=username, role=change.role, actor=admin.username)
    if change.disabled is not None and change.disabled != user.disabled:
        _not_self(admin, username)
        user = disable_user(session, username=username, disabled=change.disabled, actor=admin.username)
    if change.password is not None:
        user = set_password(session, username=username, password=change.password, actor=admin.username)
    return user


@api.get("/users")
def api_users(session: SessionDep, admin: AdminUser) -> UsersPublic:
    """Every user."""
    del admin
    data = [user_public(u) for u in list_users(session)]
    return UsersPublic(data=data, count=len(data))


@api.post("/users", status_code=201)
def api_add_user(body: UserCreate, session: SessionDep, admin: AdminUser) -> UserPublic:
    """Create a user."""
    user = add_user(
        session, username=body.username, password=body.password, role=body.role, actor=admin.username
    )
    return user_public(user)


@api.patch("/users/{username}")
def api_update_user(username: str, body: UserUpdate, session: SessionDep, admin: AdminUser) -> UserPublic:
    """Change a user's role, disable or enable them, or set a new password."""
    return user_public(_update(session, admin, username, body))


@api.post("/users/{username}/unlock")
def api_unlock_user(username: str, session: SessionDep, admin: AdminUser) -> UserPublic:
    """End a user's sign-in back-off: forget their failed sign-ins from every address."""
    unlock_user(session, username=username, actor=admin.username)
    return user_public(get_user(session, username=username))


@pages.get("/users")
def users_page(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal, admin: AdminUser
) -> Response:
    """Users and roles."""
    del admin
    return render(
        request, context, "users.html", principal=principal, users=list_users(session), roles=list(Role)
    )


@pages.post("/users")
def users_add(
    session: SessionDep,
    admin: AdminUser,
    username: Annotated[str, Form(min_length=1, max_length=120)],
    password: Annotated[str, Form(min_length=1, max_length=1000)],
    role: Annotated[Role, Form()] = Role.VIEWER,
) -> Response:
    """Create a user."""
    add_user(session, username=username.strip(), password=password, role=role, actor=admin.username)
    return redirect("/users", notice=f"User {username.strip()} added.")


@pages.post("/users/{username}")
def users_update(
    username: str,
    session: SessionDep,
    admin: AdminUser,
    role: Annotated[Role | None, Form()] = None,
    disabled: Annotated[bool | None, Form()] = None,
) -> Response:
    """Change a user's role or disable/enable them."""
    _update(session, admin, username, UserUpdate(role=role, disabled=disabled))
    return redirect("/users", notice=f"User {username} updated.")


@pages.post("/users/{username}/unlock")
def users_unlock(username: str, session: SessionDep, admin: AdminUser) -> Response:
    """End a user's sign-in back-off."""
    cleared = unlock_user(session, username=username, actor=admin.username)
    return redirect("/users", notice=f"User {username} unlocked ({cleared} failed sign-ins forgotten).")
