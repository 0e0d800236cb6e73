"""The JSON API's schema families: ``ItemBase`` / ``ItemPublic`` / ``ItemDetail`` / ``ItemUpdate``...

Each family has a base, the shapes that go out (``...Public``) and the shapes that come in
(``...Create`` / ``...Update``); lists go out as ``{data, count}``. Incoming shapes forbid unknown
keys, so a typo is a 422 instead of a silent no-op.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from medcurate.errors import plain_reason
from medcurate.history import describe
from medcurate.models import DecisionAction, SuggestionKind
from medcurate.store.listing import ItemPage, ItemRow, Total
from medcurate.store.models import AuditRecord, ItemRecord, SuggestionRecord
from medcurate.users import ApiToken, Role, User
from medcurate.validation import api_front_matter_problems

MAX_BULK = 500
MAX_ROW_ID = 2**31 - 1
MAX_SUBMIT_CHARS = 200_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemBase(BaseModel):
    """What every item shape shows."""

    title: str
    url: str | None = None
    brand: str | None = Field(default=None, description="The source's registrable domain")
    source_name: str | None = Field(
        default=None, description="The source's name as its pages give it (og:site_name, JSON-LD), else brand"
    )
    assigned_to: str | None = Field(default=None, description="The username the item is assigned to")
    community: str | None = None
    state: str
    published_at: datetime | None = None


class ItemPublic(ItemBase):
    """An item in a list."""

    id: int
    md_name: str
    variant: str
    topics: list[str] = Field(default_factory=list)
    updated_at: datetime


class ItemsPublic(BaseModel):
    """A page of items, how many match in all, and the cursors of the pages around it."""

    data: list[ItemPublic]
    count: int = Field(description="How many items match: exact, or an estimate when count_exact is false")
    count_exact: bool = True
    next: str | None = Field(default=None, description="Pass as after= for the next page (None: last page)")
    prev: str | None = Field(default=None, description="Pass as before= for the previous page")


class ItemDetail(ItemPublic):
    """One item in full: its front matter, body and provenance."""

    front_matter: dict[str, Any]
    body: str
    provenance: dict[str, Any] | None = None
    failure_reason: str | None = None


class ItemUpdate(_In):
    """Changes to an item; every field optional, ``front_matter`` keys are merged over the stored ones."""

    title: str | None = Field(default=None, min_length=1, max_length=1000)
    description: str | None = Field(default=None, max_length=5000)
    body: str | None = Field(default=None, max_length=2_000_000)
    topics: list[str] | None = Field(default=None, max_length=200)
    community: str | None = Field(default=None, max_length=120)
    related_offerings: list[str] | None = Field(default=None, max_length=200)
    front_matter: dict[str, Any] | None = None

    @field_validator("front_matter")
    @classmethod
    def _safe_front_matter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Refuse deep nesting, wrong types, non-http(s) links and names that leave their folder."""
        problems = api_front_matter_problems(value) if value is not None else []
        if problems:
            raise ValueError("; ".join(problems))
        return value


class BulkAction(_In):
    """One action applied to many items."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(min_length=1, max_length=MAX_BULK)
    action: Literal["approve", "reject", "publish", "draft"]


class BulkFailure(BaseModel):
    """An item a bulk action could not change, and why."""

    id: int
    reason: str


class BulkResult(BaseModel):
    """What a bulk action did."""

    done: list[int]
    failed: list[BulkFailure]


class SuggestionPublic(BaseModel):
    """A stored suggestion for an item."""

    id: int
    kind: str
    label: str
    score: float
    rank: int
    reason: str
    status: str


class SuggestionsPublic(BaseModel):
    """An item's suggestions."""

    data: list[SuggestionPublic]
    count: int


class DecisionCreate(_In):
    """An editor's accept, reject or add of a topic, community or offering."""

    kind: SuggestionKind
    label: str = Field(min_length=1, max_length=400)
    action: DecisionAction


class AuditEventPublic(BaseModel):
    """One event of the audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    detail: dict[str, Any]
    summary: list[str] = Field(default_factory=list, description='What changed, for people ("Title: A → B")')


class AuditPublic(BaseModel):
    """Audit events, newest first."""

    data: list[AuditEventPublic]
    count: int


class BatchCreate(_In):
    """Links to ingest: one link, many links, or any pasted text holding links."""

    text: str = Field(min_length=1, max_length=MAX_SUBMIT_CHARS)


class BatchEntryPublic(BaseModel):
    """One link of a batch and what became of it."""

    position: int
    url: str
    status: str
    reason: str | None = None
    item_id: int | None = None
    duplicate_of: int | None = Field(default=None, description="The item a near-duplicate copies")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """The outcome in words: created, existing, duplicate of #N, failed: reason, waiting."""
        if self.status == "duplicate":
            return f"duplicate of #{self.duplicate_of}" if self.duplicate_of else "duplicate"
        if self.status == "failed":
            return f"failed: {plain_reason(self.reason)}" if self.reason else "failed"
        return "waiting" if self.status == "pending" else self.status


class JobPublic(BaseModel):
    """An ingestion started from the app, and its batch once the pipeline has created it."""

    id: str
    state: str
    urls: list[str]
    error: str | None = None
    batch_key: str | None = None
    done: int
    total: int
    entries: list[BatchEntryPublic]


class BatchPublic(BaseModel):
    """An ingestion batch."""

    id: int
    key: str
    description: str
    state: str
    created_at: datetime
    finished_at: datetime | None = None
    total: int
    done: int


class BatchesPublic(BaseModel):
    """Batches, newest first."""

    data: list[BatchPublic]
    count: int


class SourceCreate(_In):
    """A feed or other source to follow."""

    kind: Literal["feed", "opml", "bookmarks", "urls", "page"] = "feed"
    location: str = Field(min_length=1, max_length=2048)
    title: str | None = Field(default=None, max_length=500)


class SourcePublic(BaseModel):
    """A followed source."""

    id: int
    kind: str
    location: str
    title: str | None = None
    created_at: datetime
    last_checked_at: datetime | None = None
    last_error: str | None = None
    items: int = 0


class SourcesPublic(BaseModel):
    """Followed sources."""

    data: list[SourcePublic]
    count: int


class UserPublic(BaseModel):
    """A user (never with a password hash)."""

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime


class UsersPublic(BaseModel):
    """Users, by name."""

    data: list[UserPublic]
    count: int


class UserCreate(_In):
    """A new user."""

    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=8, max_length=1000)
    role: Role = Role.VIEWER


class UserUpdate(_In):
    """Changes to a user."""

    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class TokenCreate(_In):
    """A new API token's name."""

    name: str = Field(default="script", min_length=1, max_length=120)


class TokenPublic(BaseModel):
    """An API token's metadata."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked: bool


class TokenCreated(TokenPublic):
    """A token just created: the secret is shown this once."""

    token: str


class TokensPublic(BaseModel):
    """A user's tokens."""

    data: list[TokenPublic]
    count: int


class WeekCount(BaseModel):
    """Items of one week, by state."""

    week: str
    counts: dict[str, int]


class LabelCount(BaseModel):
    """A label and how often it occurs."""

    label: str
    count: int


class TopicSeries(BaseModel):
    """A topic's item counts week by week."""

    label: str
    counts: list[int]


class StatsPublic(BaseModel):
    """The dashboard's figures."""

    weeks: list[str]
    items_per_week: list[WeekCount]
    top_topics: list[TopicSeries]
    top_sources: list[LabelCount]
    totals: dict[str, int]
    actions_per_week: list[WeekCount] = Field(
        default_factory=list,
        description="Items added, approved, published and rejected, by the week the action was taken",
    )


def _public_fields(record: ItemRecord | ItemRow) -> dict[str, Any]:
    topics = list(record.topics) if isinstance(record, ItemRow) else [t.label for t in record.topics]
    return {
        "id": record.id,
        "md_name": record.md_name,
        "variant": record.variant,
        "title": record.title,
        "url": record.url,
        "brand": record.brand,
        "source_name": record.source_name or record.brand,
        "assigned_to": record.assigned_to,
        "community": record.community,
        "state": record.state,
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "topics": topics,
    }


def item_public(record: ItemRecord | ItemRow) -> ItemPublic:
    """The list shape of a list row, or of a stored item (its topics loaded)."""
    return ItemPublic(**_public_fields(record))


def items_public(page: ItemPage, total: Total) -> ItemsPublic:
    """A list answer: the page's rows, the total and the neighbours' cursors."""
    return ItemsPublic(
        data=[item_public(row) for row in page.rows],
        count=total.value,
        count_exact=total.exact,
        next=page.next,
        prev=page.prev,
    )


def item_detail(record: ItemRecord) -> ItemDetail:
    """The full shape of a stored item."""
    return ItemDetail(
        **_public_fields(record),  # validated once, as the detail (not as a list row first)
        front_matter=to_jsonable(record.front_matter),
        body=record.body,
        provenance=record.provenance,
        failure_reason=record.failure_reason,
    )


def to_jsonable(value: Any) -> Any:
    """Front matter with dates as ISO text, for JSON."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def audit_public(record: AuditRecord) -> AuditEventPublic:
    """The API shape of an audit event."""
    return AuditEventPublic(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        entity_type=record.entity_type,
        entity_id=record.entity_id,
        detail=record.detail or {},
        summary=describe(record.action, record.detail),
    )


def suggestion_public(record: SuggestionRecord) -> SuggestionPublic:
    """The API shape of a stored suggestion."""
    return SuggestionPublic(
        id=record.id,
        kind=record.kind,
        label=record.label,
        score=record.score,
        rank=record.rank,
        reason=record.reason,
        status=record.status,
    )


def user_public(user: User) -> UserPublic:
    """The API shape of a user."""
    return UserPublic(
        id=user.id, username=user.username, role=user.role, disabled=user.disabled, created_at=user.created_at
    )


def token_public(token: ApiToken) -> TokenPublic:
    """The API shape of a token's metadata."""
    return TokenPublic(
        id=token.id,
        name=token.name,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked=token.revoked,
    )
