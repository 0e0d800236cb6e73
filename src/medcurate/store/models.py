"""SQLAlchemy 2 tables: items and their topics, suggestions, decisions, audit, batches, users, stories.

An item's front matter is stored whole, as JSON (``json`` on PostgreSQL, not ``jsonb``, so key order
survives), next to the few columns that listing, filtering and de-duplication need.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import true as sa_true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from medcurate.store.codec import tag_dates, untag_dates


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def sort_key(published_at: datetime | None, created_at: datetime | None) -> datetime:
    """What lists sort an item by: its published date, else its creation date, in UTC."""
    moment = published_at or created_at or utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _default_sort_at(context: Any) -> datetime:
    """An inserted item's ``sort_at`` when its writer gave none."""
    values = context.get_current_parameters()
    return sort_key(values.get("published_at"), values.get("created_at"))


class FrontMatterJSON(TypeDecorator[dict[str, Any]]):
    """JSON that keeps YAML's timestamps and dates (unquoted ``date: 2019-01-31T10:38:39Z``) as such."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        """Tag datetimes and dates so they come back as the same types."""
        return None if value is None else tag_dates(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        """Turn tagged values back into datetimes and dates."""
        return None if value is None else untag_dates(value)


class Base(DeclarativeBase):
    """Declarative base of every medcurate table."""


class ItemRecord(Base):
    """One curated item, in any state from draft to published."""

    __tablename__ = "items"

    # Assigned by the database in the transaction that stores the item (an identity on PostgreSQL,
    # the rowid on SQLite), so concurrent writers never pick the same id; imports may still give one.
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    md_name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    url_key: Mapped[str | None] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    variant: Mapped[str] = mapped_column(String(20))
    community: Mapped[str | None] = mapped_column(String(120))
    brand: Mapped[str | None] = mapped_column(String(255))
    # The source's name as its pages give it (og:site_name, JSON-LD publisher), shown for ``brand``.
    source_name: Mapped[str | None] = mapped_column(String(255))
    # The curator or editor a draft is given to (a username), for "Assigned to me".
    assigned_to: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # What lists sort by: the date published, else the date stored. Never null, so one plain
    # descending index walk serves "newest first" on both databases (``NULLS LAST`` defeats it).
    sort_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_default_sort_at)
    front_matter: Mapped[dict[str, Any]] = mapped_column(FrontMatterJSON)
    body: Mapped[str] = mapped_column(Text, default="")
    # Set with the content (``repository.fill_columns``): a site build reads these two columns of
    # every item, and the content only of the items whose revision changed.
    revision: Mapped[str | None] = mapped_column(String(32))
    featured_image: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    source_path: Mapped[str | None] = mapped_column(Text)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    similarity_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # "Publish at": the scheduler publishes the item once this moment has passed (null: not scheduled).
    publish_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    topics: Mapped[list[ItemTopic]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemTopic.position"
    )
    identifier_rows: Mapped[list[ItemIdentifier]] = relationship(cascade="all, delete-orphan")

    # Lists run newest first, alone or filtered by state and by source or community: each index
    # serves its filter, the order and the keyset page with no sort (tests/store/test_store_plans.py).
    __table_args__ = (
        Index("ix_items_sort", "sort_at", "id"),
        Index("ix_items_state_sort", "state", "sort_at", "id"),
        Index("ix_items_brand_sort", "brand", "sort_at", "id"),
        Index("ix_items_community_sort", "community", "sort_at", "id"),
        Index("ix_items_state_brand_sort", "state", "brand", "sort_at", "id"),
        Index("ix_items_state_community_sort", "state", "community", "sort_at", "id"),
        Index("ix_items_assigned_sort", "assigned_to", "sort_at", "id"),
    )


class ItemTopic(Base):
    """A topic label an item carries, kept in step with its front matter for filtering."""

    __tablename__ = "item_topics"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    label_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    label: Mapped[str] = mapped_column(String(400))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The item's ``sort_at``, copied so that a topic's newest items are one index walk.
    sort_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    item: Mapped[ItemRecord] = relationship(back_populates="topics")

    __table_args__ = (Index("ix_item_topics_label_sort", "label_key", "sort_at", "item_id"),)


class ItemIdentifier(Base):
    """An identifier (``doi:...``, ``nct:...``) an item's front matter carries, kept in step for filtering."""

    __tablename__ = "item_identifiers"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(300), primary_key=True)

    __table_args__ = (Index("ix_item_identifiers_identifier", "identifier"),)


class ItemNote(Base):
    """An editor's free-text note on an item: part of its history, never published."""

    __tablename__ = "item_notes"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SuggestionRecord(Base):
    """A topic, community or offering medcurate proposed for an item, with its score and reason."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(400))
    label_key: Mapped[str] = mapped_column(String(400))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("item_id", "kind", "label_key", name="uq_suggestion_label"),)


class DecisionRecord(Base):
    """An editor's accept, reject or add: the history suggestions learn from."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(400))
    label_key: Mapped[str] = mapped_column(String(400), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class AuditRecord(Base):
    """Who changed what, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)


class BatchRecord(Base):
    """One ingestion run: a list of URLs worked through, resumable."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    entries: Mapped[list[BatchEntryRecord]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="BatchEntryRecord.position"
    )


class BatchEntryRecord(Base):
    """One URL of a batch and what became of it."""

    __tablename__ = "batch_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    batch: Mapped[BatchRecord] = relationship(back_populates="entries")

    __table_args__ = (UniqueConstraint("batch_id", "url_key", name="uq_batch_url"),)


class SourceRecord(Base):
    """A feed, OPML list, sitemap or other source the editors follow: a subscription and its health.

    A subscription is due when ``enabled`` and ``next_refresh_at`` has passed. A refresher claims it
    by moving ``lease_until`` forward in one conditional UPDATE (``store.subscriptions``), so that of
    any number of threads or queue workers exactly one refreshes it; the lease runs out by itself if
    that refresher dies. The validators (``etag``, ``last_modified``) make the next request
    conditional, and ``hint_seconds`` keeps the feed's own refresh hint across its 304s;
    ``consecutive_failures`` sets the back-off and, past the limit, pauses the source with the
    reason in ``paused_reason``.
    """

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The subscription: how often, for which community, with which topics, and whether at all.
    refresh_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    community: Mapped[str | None] = mapped_column(String(120))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # The schedule: when it is due, who holds it until when.
    next_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    # How long the feed asked to be left alone (its <ttl> or sy:updatePeriod), in seconds, from its
    # last full answer: a 304 carries no body, so the next wait after one comes from here.
    hint_seconds: Mapped[int | None] = mapped_column(Integer)
    # Health: counters since the source was added, and the last moments that matter.
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_new_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refreshes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_modified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entries_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    drafts_made: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_sources_due", "enabled", "next_refresh_at"),)


class SourceEntryRecord(Base):
    """An entry a subscription has seen (its GUID, else its URL): it never becomes a draft twice.

    Bounded per source (``store.subscriptions.ENTRY_MEMORY``): the oldest rows go once a source has
    more, well past what any feed lists at once. ``item_id`` and ``drafted_at`` say which draft the
    entry made, for the source's health (drafts in 30 days, delay from the entry's date).
    """

    __tablename__ = "source_entries"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    # sha256 of the GUID or URL: GUIDs may be any length, and a fixed-size key indexes on both databases.
    entry_key: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    entry_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    drafted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("source_id", "entry_key", name="uq_source_entries_key"),
        Index("ix_source_entries_seen", "source_id", "seen_at"),
    )


class UserRecord(Base):
    """A person who signs in: admin, editor, curator or viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiTokenRecord(Base):
    """An API token for scripts; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSessionRecord(Base):
    """A signed-in browser session; the cookie carries a random id whose hash is stored here."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttemptRecord(Base):
    """A sign-in attempt, for rate limiting and the audit trail."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ModelVersionRecord(Base):
    """A trained suggestion model: its version, where it is stored and how it scored."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRecord(Base):
    """An ingestion job, whichever process started or runs it: any server process answers for it."""

    __tablename__ = "jobs"

    # The RQ job id when a queue runs it, else a random hex id: the same id either way.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="ingest")
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    batch_key: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(120), default="")
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoryRecord(Base):
    """A news story: the items of several outlets about one event, and the one an editor publishes."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    primary_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoryMemberRecord(Base):
    """An item's place in a story (an item is in at most one), with the score that put it there."""

    __tablename__ = "story_members"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[str] = mapped_column(Text, default="")


class StoryFeatureRecord(Base):
    """What story matching compares of an item, computed once: its day, outlet, names and embedding."""

    __tablename__ = "story_features"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date | None] = mapped_column(Date, index=True)
    brand: Mapped[str] = mapped_column(String(255), default="")
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    space: Mapped[str] = mapped_column(String(120), default="")


class StoryDecisionRecord(Base):
    """An editor's split (two items are not one story) or merge (they are): what matching learns from."""

    __tablename__ = "story_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    item_a: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    item_b: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
