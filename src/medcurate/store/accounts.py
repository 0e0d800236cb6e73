"""The SQL behind users, API tokens, browser sessions and sign-in attempts.

``users.py`` and ``web/auth.py`` hold the rules (roles, hashing, back-off); the queries they need
live here, with the rest of medcurate's SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from medcurate.store.models import ApiTokenRecord, LoginAttemptRecord, UserRecord, WebSessionRecord

# Enough failures to reach the longest back-off; older ones change nothing.
MAX_FAILURES_READ = 64


def find_user(session: Session, *, username: str) -> UserRecord | None:
    """The user row of this name, or None."""
    return session.scalar(select(UserRecord).where(UserRecord.username == username))


def user_by_id(session: Session, *, user_id: int) -> UserRecord | None:
    """The user row with this id, or None."""
    return session.get(UserRecord, user_id)


def username_taken(session: Session, *, username: str) -> bool:
    """True when a user of this name exists."""
    return session.scalar(select(UserRecord.id).where(UserRecord.username == username)) is not None


def all_users(session: Session) -> list[UserRecord]:
    """Every user row, by name."""
    return list(session.scalars(select(UserRecord).order_by(UserRecord.username)))


def add_row(
    session: Session, row: UserRecord | ApiTokenRecord | WebSessionRecord | LoginAttemptRecord
) -> None:
    """Insert a row and give it its id."""
    session.add(row)
    session.flush()


def token_with_user(session: Session, *, digest: str) -> tuple[ApiTokenRecord, UserRecord] | None:
    """The token row stored under this digest and its user's row, in one query; None when unknown."""
    found = session.execute(
        select(ApiTokenRecord, UserRecord)
        .join(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
        .where(ApiTokenRecord.token_hash == digest)
    ).first()
    return None if found is None else (found[0], found[1])


def token_by_id(session: Session, *, token_id: int) -> ApiTokenRecord | None:
    """The token row with this id, or None."""
    return session.get(ApiTokenRecord, token_id)


def tokens_of(session: Session, *, user_id: int) -> list[ApiTokenRecord]:
    """A user's token rows, newest first."""
    statement = (
        select(ApiTokenRecord).where(ApiTokenRecord.user_id == user_id).order_by(ApiTokenRecord.id.desc())
    )
    return list(session.scalars(statement))


def web_session_with_user(session: Session, *, id_hash: str) -> tuple[WebSessionRecord, UserRecord] | None:
    """The browser session stored under this digest and its user's row, in one query; None when unknown."""
    found = session.execute(
        select(WebSessionRecord, UserRecord)
        .join(UserRecord, UserRecord.id == WebSessionRecord.user_id)
        .where(WebSessionRecord.id_hash == id_hash)
    ).first()
    return None if found is None else (found[0], found[1])


def delete_expired_sessions(session: Session, *, now: datetime) -> None:
    """Forget every session that expired before ``now``."""
    session.execute(delete(WebSessionRecord).where(WebSessionRecord.expires_at < now))


def delete_session(session: Session, *, id_hash: str) -> None:
    """Forget one session."""
    session.execute(delete(WebSessionRecord).where(WebSessionRecord.id_hash == id_hash))


def delete_sessions_of(session: Session, *, user_id: int) -> int:
    """Forget every session of a user; how many there were."""
    result = session.execute(delete(WebSessionRecord).where(WebSessionRecord.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def recent_failures(session: Session, *, username: str, address: str, since: datetime) -> list[datetime]:
    """When this (username, address) pair failed to sign in after ``since`` and after its last
    success, newest first (at most ``MAX_FAILURES_READ``)."""
    pair = (LoginAttemptRecord.username == username, LoginAttemptRecord.remote_addr == address[:64])
    last_success = session.scalar(
        select(LoginAttemptRecord.at)
        .where(*pair, LoginAttemptRecord.success.is_(True), LoginAttemptRecord.at >= since)
        .order_by(LoginAttemptRecord.at.desc())
        .limit(1)
    )
    statement = (
        select(LoginAttemptRecord.at)
        .where(*pair, LoginAttemptRecord.success.is_(False), LoginAttemptRecord.at >= (last_success or since))
        .order_by(LoginAttemptRecord.at.desc())
        .limit(MAX_FAILURES_READ)
    )
    return list(session.scalars(statement))


def record_attempt(session: Session, *, username: str, address: str, success: bool, at: datetime) -> None:
    """Write one sign-in attempt."""
    add_row(session, LoginAttemptRecord(username=username, remote_addr=address[:64], success=success, at=at))


def clear_failures(session: Session, *, username: str) -> int:
    """Forget a user's failed sign-ins from every address (an admin's unlock); how many there were."""
    result = session.execute(
        delete(LoginAttemptRecord).where(
            LoginAttemptRecord.username == username, LoginAttemptRecord.success.is_(False)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
