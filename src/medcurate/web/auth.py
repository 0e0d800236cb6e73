"""Browser sessions, CSRF tokens and sign-in rate limiting (``web_sessions`` and ``login_attempts`` rows).

A session cookie carries 256 random bits; only their SHA-256 is stored, so a leaked database holds
no usable session. Each session row keeps its own CSRF synchroniser token, which every
state-changing request made with the cookie must echo (form field ``csrf_token`` or header
``X-CSRF-Token``). Requests that carry an ``Authorization: Bearer`` token send no cookie and are
exempt. The sign-in form, made before any session exists, uses a double-submit cookie instead.
Failed sign-ins slow down each (address, username) pair with a growing delay (``LoginLimits``); an
admin's unlock (``users.unlock_user``) ends it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from medcurate.errors import AuthError, RateLimited
from medcurate.store import accounts
from medcurate.store.models import WebSessionRecord
from medcurate.store.repository import record_audit
from medcurate.users import User, user_from_record, verify_credentials

SESSION_COOKIE = "medcurate_session"
LOGIN_CSRF_COOKIE = "medcurate_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

DEFAULT_SESSION_LIFETIME = timedelta(hours=12)
DEFAULT_FREE_FAILURES = 3
DEFAULT_FIRST_DELAY = timedelta(seconds=1)
DEFAULT_MAX_DELAY = timedelta(minutes=15)
DEFAULT_LOGIN_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class LoginLimits:
    """The sign-in back-off of one (address, username) pair.

    After ``free_failures`` failed sign-ins, each further attempt waits ``first_delay``, doubled for
    every failure since, up to ``max_delay``; a success, an admin's unlock or ``window`` without a
    failure starts the count again. Nothing is ever locked: a user behind the same proxy or NAT as an
    attacker, or whose name an attacker types, signs in from their own address as usual.
    """

    free_failures: int = DEFAULT_FREE_FAILURES
    first_delay: timedelta = DEFAULT_FIRST_DELAY
    max_delay: timedelta = DEFAULT_MAX_DELAY
    window: timedelta = DEFAULT_LOGIN_WINDOW

    def delay_after(self, failures: int) -> timedelta:
        """How long to wait after ``failures`` failures in a row."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 20)  # past the cap anyway, and no overflow
        delay: timedelta = min(self.first_delay * float(2**doublings), self.max_delay)
        return delay


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
    # Expired rows of anyone are cleared here, the one moment sessions are written anyway.
    accounts.delete_expired_sessions(session, now=now)
    accounts.add_row(
        session,
        WebSessionRecord(
            id_hash=_digest(cookie),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
        ),
    )
    return cookie, csrf


def resolve_session(session: Session, *, cookie: str | None) -> SignedIn | None:
    """The signed-in user behind a cookie, or None when it is unknown, expired or the user disabled."""
    if not cookie:
        return None
    found = accounts.web_session_with_user(session, id_hash=_digest(cookie))  # one query per request
    if found is None or _aware(found[0].expires_at) < datetime.now(UTC) or found[1].disabled:
        return None
    row, user = found
    return SignedIn(user=user_from_record(user), csrf_token=row.csrf_token)


def end_session(session: Session, *, cookie: str | None) -> None:
    """Forget a session (sign-out)."""
    if cookie:
        accounts.delete_session(session, id_hash=_digest(cookie))


def check_rate_limit(
    session: Session, *, username: str, address: str, limits: LoginLimits, now: datetime | None = None
) -> None:
    """``RateLimited`` while this (address, username) pair must still wait after its last failure."""
    now = now or datetime.now(UTC)
    failures = accounts.recent_failures(
        session, username=username, address=address, since=now - limits.window
    )
    if not failures:
        return
    ready = _aware(failures[0]) + limits.delay_after(len(failures))
    if now < ready:
        wait = max(1, int((ready - now).total_seconds() + 0.999))
        raise RateLimited(
            f"too many failed sign-ins for {username!r} from this address; try again in {wait} seconds"
        )


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    limits: LoginLimits,
    now: datetime | None = None,
) -> User:
    """Check the back-off and the credentials, record the attempt, and return the user.

    Args:
        session: the database session; the attempt row is written to it (commit it even on failure).
        username: as typed.
        password: as typed; never stored or logged.
        address: the client's IP address.
        limits: the back-off.
        now: the moment of the attempt (tests); the clock by default.

    Returns:
        The signed-in user; ``RateLimited`` or ``AuthError`` otherwise.
    """
    now = now or datetime.now(UTC)
    username = username.strip()[:120]
    check_rate_limit(session, username=username, address=address, limits=limits, now=now)
    try:
        user = verify_credentials(session, username=username, password=password)
    except AuthError:
        accounts.record_attempt(session, username=username, address=address, success=False, at=now)
        raise
    accounts.record_attempt(session, username=username, address=address, success=True, at=now)
    record_audit(session, actor=username, action="user.sign_in", entity_type="user", entity_id=username)
    return user
