"""The queries operations need: accounts that can publish, sources failing for days, rows per table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, select, text
from sqlalchemy.orm import Session

from medcurate.store.models import AuditRecord, Base, SourceRecord, UserRecord

PUBLISHING_ROLES = ("editor", "admin")


def count_publishers(session: Session) -> int:
    """Enabled users who may approve and publish (editors and admins)."""
    query = select(func.count(UserRecord.id)).where(
        UserRecord.role.in_(PUBLISHING_ROLES), UserRecord.disabled.is_(False)
    )
    return int(session.scalar(query) or 0)


def failing_sources(session: Session, *, days: float, now: datetime | None = None) -> list[SourceRecord]:
    """Sources whose last check failed and that have not been read well for ``days`` (or ever, if older).

    A good read is a ``source.check`` audit event without an error: the source row keeps only the
    last check, the audit trail keeps them all.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    good_since_cutoff = exists().where(
        and_(
            AuditRecord.entity_type == "source",
            AuditRecord.entity_id == cast(SourceRecord.id, String),
            AuditRecord.action == "source.check",
            AuditRecord.at >= cutoff,
            func.coalesce(AuditRecord.detail["error"].as_string(), "") == "",
        )
    )
    query = (
        select(SourceRecord)
        .where(SourceRecord.last_error.is_not(None), SourceRecord.created_at < cutoff)
        .where(~good_since_cutoff)
        .order_by(SourceRecord.id)
    )
    return list(session.scalars(query))


def table_counts(session: Session) -> dict[str, int]:
    """Rows per table of the models, by table name."""
    return {
        name: int(session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
        for name in sorted(Base.metadata.tables)
    }
