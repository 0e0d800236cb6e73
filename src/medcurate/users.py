"""People who sign in, their roles and their API tokens: the library behind ``medcurate users`` and the app.

Roles are ordered: ``viewer`` reads; ``curator`` also submits links and edits drafts; ``editor`` also
approves, rejects and publishes; ``admin`` also manages users. Passwords are hashed with argon2id
(argon2-cffi) and re-hashed on sign-in when the parameters change. API tokens are 256-bit random
strings; only their SHA-256 is stored, which is enough for a secret of that entropy (a slow hash
protects low-entropy passwords, not random keys) and lets a token be looked up by its hash.
Every change is written to the audit trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from medcurate.errors import AuthError, Conflict, InvalidInput, NotFound
from medcurate.store import accounts
from medcurate.store.db import Database
from medcurate.store.models import ApiTokenRecord, UserRecord
from medcurate.store.repository import record_audit

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "mct_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$")
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("medcurate-dummy-password")


class Role(StrEnum):
    """What a user may do; each role may do everything the roles below it may."""

    VIEWER = "viewer"
    CURATOR = "curator"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the order viewer < curator < editor < admin."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= needed.rank


@dataclass(frozen=True)
class User:
    """A user as the rest of medcurate sees it (never with the password hash)."""

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """An API token's metadata (the secret itself is shown once, at creation)."""

    id: int
    name: str
    username: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def parse_role(value: str) -> Role:
    """The role named ``value``, or ``InvalidInput`` listing the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}") from None


def user_from_record(record: UserRecord) -> User:
    """The ``User`` a user row holds."""
    return User(
        id=record.id,
        username=record.username,
        role=Role(record.role),
        disabled=record.disabled,
        created_at=record.created_at,
    )


def _record(session: Session, username: str) -> UserRecord:
    record = accounts.find_user(session, username=username)
    if record is None:
        raise NotFound(f"no user {username!r}; `medcurate users list` shows them")
    return record


def hash_password(password: str) -> str:
    """The argon2id hash of a password that passes the length rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def add_user(session: Session, *, username: str, password: str, role: Role, actor: str) -> User:
    """Create a user; ``Conflict`` if the name is taken."""
    if not _USERNAME.match(username):
        raise InvalidInput("a username is 1-120 letters, digits and . _ @ -, starting with a letter or digit")
    if accounts.username_taken(session, username=username):
        raise Conflict(f"user {username!r} already exists; use `medcurate users set-role` to change it")
    record = UserRecord(username=username, password_hash=hash_password(password), role=role.value)
    accounts.add_row(session, record)
    record_audit(
        session,
        actor=actor,
        action="user.add",
        entity_type="user",
        entity_id=username,
        detail={"role": role.value},
    )
    return user_from_record(record)


def ensure_user(database: Database, *, username: str, password: str, role: Role | str, actor: str) -> User:
    """Create the user, or give an existing one this password and role and enable it (idempotent).

    For scripts such as the demo that must end with a known account whatever ran before.
    """
    wanted = role if isinstance(role, Role) else parse_role(role)
    with database.session() as session:
        if not accounts.username_taken(session, username=username):
            return add_user(session, username=username, password=password, role=wanted, actor=actor)
        set_password(session, username=username, password=password, actor=actor)
        disable_user(session, username=username, disabled=False, actor=actor)
        return set_role(session, username=username, role=wanted, actor=actor)


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return [user_from_record(r) for r in accounts.all_users(session)]


def get_user(session: Session, *, username: str) -> User:
    """The user with this name, or ``NotFound``."""
    return user_from_record(_record(session, username))


def get_user_by_id(session: Session, *, user_id: int) -> User:
    """The user with this id, or ``NotFound``."""
    record = accounts.user_by_id(session, user_id=user_id)
    if record is None:
        raise NotFound(f"no user with id {user_id}")
    return user_from_record(record)


def set_role(session: Session, *, username: str, role: Role, actor: str) -> User:
    """Give a user another role."""
    record = _record(session, username)
    before = record.role
    record.role = role.value
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="user.set_role",
        entity_type="user",
        entity_id=username,
        detail={"from": before, "to": role.value},
    )
    return user_from_record(record)


def disable_user(session: Session, *, username: str, actor: str, disabled: bool = True) -> User:
    """Disable (or enable again) a user: a disabled user can neither sign in nor use tokens.

    Disabling ends the user's browser sessions, so that enabling them again revives none.
    """
    record = _record(session, username)
    record.disabled = disabled
    session.flush()
    if disabled:
        accounts.delete_sessions_of(session, user_id=record.id)
    record_audit(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        entity_type="user",
        entity_id=username,
    )
    return user_from_record(record)


def set_password(session: Session, *, username: str, password: str, actor: str) -> User:
    """Replace a user's password."""
    record = _record(session, username)
    record.password_hash = hash_password(password)
    session.flush()
    record_audit(session, actor=actor, action="user.set_password", entity_type="user", entity_id=username)
    return user_from_record(record)


def verify_credentials(session: Session, *, username: str, password: str) -> User:
    """The user these credentials belong to, or ``AuthError`` (same message whatever was wrong)."""
    refused = AuthError("wrong username or password")
    record = accounts.find_user(session, username=username)
    if record is None:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
        raise refused
    try:
        _HASHER.verify(record.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise refused from None
    if record.disabled:
        raise AuthError(f"user {username!r} is disabled; ask an admin")
    if _HASHER.check_needs_rehash(record.password_hash):
        record.password_hash = _HASHER.hash(password)
    return user_from_record(record)


def unlock_user(session: Session, *, username: str, actor: str) -> int:
    """Forget a user's failed sign-ins, ending any back-off at once; how many were forgotten."""
    _record(session, username)
    cleared = accounts.clear_failures(session, username=username)
    record_audit(
        session,
        actor=actor,
        action="user.unlock",
        entity_type="user",
        entity_id=username,
        detail={"failures_cleared": cleared},
    )
    return cleared


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, *, username: str, name: str, actor: str) -> tuple[ApiToken, str]:
    """A new token for ``username``: its metadata and the secret, which is never shown again."""
    record = _record(session, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiTokenRecord(
        user_id=record.id, name=name.strip()[:120] or "token", token_hash=token_digest(secret)
    )
    accounts.add_row(session, token)
    record_audit(
        session,
        actor=actor,
        action="token.create",
        entity_type="user",
        entity_id=username,
        detail={"token_id": token.id, "name": token.name},
    )
    return _token(token, username), secret


def _token(record: ApiTokenRecord, username: str) -> ApiToken:
    return ApiToken(
        id=record.id,
        name=record.name,
        username=username,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked=record.revoked,
    )


def list_api_tokens(session: Session, *, username: str) -> list[ApiToken]:
    """A user's tokens, newest first."""
    record = _record(session, username)
    return [_token(r, username) for r in accounts.tokens_of(session, user_id=record.id)]


def revoke_api_token(session: Session, *, token_id: int, username: str, actor: str) -> None:
    """Revoke one of ``username``'s tokens."""
    owner = _record(session, username)
    token = accounts.token_by_id(session, token_id=token_id)
    if token is None or token.user_id != owner.id:
        raise NotFound(f"user {username!r} has no token {token_id}")
    token.revoked = True
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="token.revoke",
        entity_type="user",
        entity_id=username,
        detail={"token_id": token_id},
    )


def verify_api_token(session: Session, *, token: str) -> User:
    """The enabled user a live token belongs to, or ``AuthError``."""
    found = accounts.token_with_user(session, digest=token_digest(token))  # one query per request
    if found is None or found[0].revoked:
        raise AuthError("unknown or revoked API token; create one on your account page")
    row, user = found
    if user.disabled:
        raise AuthError("the token's user is disabled")
    now = datetime.now(UTC)
    last = row.last_used_at
    # Written at most once a minute, so reads through a token do not each take SQLite's write lock.
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) > TOKEN_TOUCH_INTERVAL:
        row.last_used_at = now
    return user_from_record(user)
