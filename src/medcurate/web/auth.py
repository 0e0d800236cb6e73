"""Browser sessions, CSRF tokens and sign-in rate limiting (``web_sessions`` and ``login_attempts`` rows).

A session cookie carries 256 random bits; only their SHA-256 is stored, so a leaked database holds
no usable session. Each session row keeps its own CSRF synchroniser token, which every
state-changing request made with the cookie must echo (form field ``csrf_token`` or header
``X-CSRF-Token``). Requests that carry an ``Authorization: Bearer`` token send no cookie and are
exempt. The sign-in form, made before any session exists, uses a double-submit cookie instead.
Failed sign-ins are counted per username and per address over a sliding window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from medcurate.errors import AuthError, RateLimited
from medcurate.store.models import LoginAttemptRecord, UserRecord, WebSessionRecord
from medcurate.store.repository import record_audit
from medcurate.users import User, get_user_by_id, verify_credentials

SESSION_COOKIE = "medcurate_session"
LOGIN_CSRF_COOKIE = "medcurate_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

DEFAULT_SESSION_LIFETIME = timedelta(hours=12)
DEFAULT_MAX_FAILURES_PER_USER = 5
DEFAULT_MAX_FAILURES_PER_ADDRESS = 20
DEFAULT_LOGIN_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True)
class LoginLimits:
    """How many failed sign-ins are allowed, per username and per address, within the window."""

    max_failures_per_user: int = DEFAULT_MAX_FAILURES_PER_USER
    max_failures_per_address: int = DEFAULT_MAX_FAILURES_PER_ADDRESS
    window: timedelta = DEFAULT_LOGIN_WINDOW


@dataclass(frozen=True)
class SignedIn:
    """The user behind a live session and the session's CSRF token."""

    user: User
    csrf_token: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_token() -> str:
    """A fresh random token (session id, CSRF token)."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of two tokens; never true when either is missing."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def start_session(
    session: Session, *, user: User, lifetime: timedelta = DEFAULT_SESSION_LIFETIME
) -> tuple[str, str]:
    """A new session for ``user``: the cookie value and its CSRF token."""
    cookie = new_token()
    csrf = new_token()
    now = datetime.now(UTC)
    session.add(
        WebSessionRecord(
            id_hash=_digest(cookie),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    # Expired rows of anyone are cleared here, the one moment sessions are written anyway.
    session.execute(delete(WebSessionRecord).where(WebSessionRecord.expires_at < now))
    session.flush()
    return cookie, csrf


def resolve_session(session: Session, *, cookie: str | None) -> SignedIn | None:
    """The signed-in user behind a cookie, or None when it is unknown, expired or the user disabled."""
    if not cookie:
        return None
    row = session.get(WebSessionRecord, _digest(cookie))
    if row is None or _aware(row.expires_at) < datetime.now(UTC):
        return None
    user = get_user_by_id(session, user_id=row.user_id)
    if user.disabled:
        return None
    return SignedIn(user=user, csrf_token=row.csrf_token)


def end_session(session: Session, *, cookie: str | None) -> None:
    """Forget a session (sign-out)."""
    if cookie:
        session.execute(delete(WebSessionRecord).where(WebSessionRecord.id_hash == _digest(cookie)))


def _recent_failures(session: Session, *, since: datetime, username: str | None, address: str | None) -> int:
    statement = select(func.count(LoginAttemptRecord.id)).where(
        LoginAttemptRecord.success.is_(False), LoginAttemptRecord.at >= since
    )
    if username is not None:
        statement = statement.where(LoginAttemptRecord.username == username)
    if address is not None:
        statement = statement.where(LoginAttemptRecord.remote_addr == address)
    return int(session.scalar(statement) or 0)


def check_rate_limit(session: Session, *, username: str, address: str, limits: LoginLimits) -> None:
    """``RateLimited`` when this username or address failed too often within the window."""
    since = datetime.now(UTC) - limits.window
    minutes = int(limits.window.total_seconds() // 60)
    if (
        _recent_failures(session, since=since, username=username, address=None)
        >= limits.max_failures_per_user
    ):
        raise RateLimited(f"too many failed sign-ins for {username!r}; try again in {minutes} minutes")
    if (
        _recent_failures(session, since=since, username=None, address=address)
        >= limits.max_failures_per_address
    ):
        raise RateLimited(f"too many failed sign-ins from {address}; try again in {minutes} minutes")


def sign_in(session: Session, *, username: str, password: str, address: str, limits: LoginLimits) -> User:
    """Check the rate limit and the credentials, record the attempt, and return the user.

    Args:
        session: the database session; the attempt row is written to it (commit it even on failure).
        username: as typed.
        password: as typed; never stored or logged.
        address: the client's IP address.
        limits: the rate limits.

    Returns:
        The signed-in user; ``RateLimited`` or ``AuthError`` otherwise.
    """
    username = username.strip()[:120]
    check_rate_limit(session, username=username, address=address, limits=limits)
    try:
        user = verify_credentials(session, username=username, password=password)
    except AuthError:
        session.add(LoginAttemptRecord(username=username, remote_addr=address[:64], success=False))
        session.flush()
        raise
    session.add(LoginAttemptRecord(username=username, remote_addr=address[:64], success=True))
    record_audit(session, actor=username, action="user.sign_in", entity_type="user", entity_id=username)
    return user


def user_exists(session: Session, *, username: str) -> bool:
    """True when a user of this name exists (for messages only, never for access decisions)."""
    return session.scalar(select(UserRecord.id).where(UserRecord.username == username)) is not None
