"""What editors do to items, as library functions the routes call: edit, decide, change state, publish.

Every change is checked against the user's role, written through the item repository (so the
topic index and ``lastMod`` stay in step), and recorded in the audit trail with what changed.

Workflow::

    draft ──approve──> approved ──publish──> published
      │  └──────────────publish─────────────────┘ │
      └──reject──> rejected <──reject─────────────┘   (any state) ──draft──> draft

Curators edit items that are not approved or published yet; editors edit anything and move items
between states; publishing rebuilds the static site through the same library function the
``medcurate site build`` command calls (``publish.service.publish_site``, through ``rebuild_site``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from medcurate.config import SiteConfig
from medcurate.errors import (
    ConfigError,
    InvalidInput,
    MedcurateError,
    NotFound,
    PermissionDenied,
    SuggestError,
)
from medcurate.history import audit_site_build, field_changes, keep_image
from medcurate.models import CuratedItem, ItemState, format_timestamp, normalize_label
from medcurate.rules import (
    derive_breadcrumbs,
    featured_image_filename,
    offering_entries,
    with_topics,
)
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord, SourceRecord
from medcurate.store.repository import get_item, item_from_record, record_audit, save_item
from medcurate.users import Role, User
from medcurate.validation import link_problems, type_problems
from medcurate.web.review import cropped

CURATOR_EDITABLE = frozenset({ItemState.DRAFT, ItemState.DUPLICATE, ItemState.REJECTED})
TRANSITIONS: Mapping[str, tuple[ItemState, frozenset[ItemState]]] = {
    "approve": (
        ItemState.APPROVED,
        frozenset({ItemState.DRAFT, ItemState.DUPLICATE, ItemState.REJECTED}),
    ),
    "publish": (ItemState.PUBLISHED, frozenset({ItemState.DRAFT, ItemState.APPROVED, ItemState.DUPLICATE})),
    "reject": (ItemState.REJECTED, frozenset(set(ItemState) - {ItemState.REJECTED})),
    "draft": (ItemState.DRAFT, frozenset(set(ItemState) - {ItemState.DRAFT})),
}
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})

Publisher = Callable[[Database, Settings, Path], None]


@dataclass(frozen=True, kw_only=True)
class ItemChanges:
    """Changes to one item; ``None`` leaves a part as it is."""

    front_matter: Mapping[str, Any] | None = None
    body: str | None = None
    topics: Sequence[str] | None = None
    community: str | None = None
    related_offerings: Sequence[str] | None = None


def rebuild_site(database: Database, settings: Settings, out_dir: Path) -> None:
    """Rebuild the static site after a publish (``publish.service.publish_site``), counted in the metrics."""
    from medcurate.ops.metrics import record_site_build
    from medcurate.publish.service import publish_site as build_from_store

    report = build_from_store(database, settings, out_dir=out_dir)
    record_site_build(seconds=report.seconds, written=report.written)


def check_can_edit(user: User, record: ItemRecord) -> None:
    """``PermissionDenied`` unless ``user`` may edit the item in its current state."""
    if user.role.allows(Role.EDITOR):
        return
    if user.role.allows(Role.CURATOR) and ItemState(record.state) in CURATOR_EDITABLE:
        return
    raise PermissionDenied(
        f"{user.username} ({user.role.value}) may not edit a {record.state} item; an editor may"
    )


def _community_fields(item: CuratedItem, config: SiteConfig, key: str) -> dict[str, Any]:
    community = config.community(key)
    titles, links = derive_breadcrumbs(community, item.title)
    changes: dict[str, Any] = {"basePath": community.base_path, "mastHead": community.mast_head}
    for name, value in (
        ("breadcrumbs", titles),
        ("breadcrumbLinks", links),
        ("identifier", community.identifier),
        ("contentCategories", community.content_categories),
        ("type", community.type),
        ("owlType", community.owl_type),
    ):
        if name in item.front_matter and value is not None:
            changes[name] = value
    return changes


def apply_changes(item: CuratedItem, changes: ItemChanges, *, config: SiteConfig) -> CuratedItem:
    """The item with ``changes`` applied (pure); topics and offerings written in the variant's shape."""
    result = item
    if changes.front_matter is not None:
        result = result.updated(dict(changes.front_matter))
    if changes.body is not None:
        result = result.updated({}, body=changes.body)
    if changes.topics is not None:
        result = with_topics(result, [" ".join(t.split()) for t in changes.topics if t.strip()])
    if changes.community is not None:
        result = result.updated(_community_fields(result, config, changes.community))
    if changes.related_offerings is not None:
        known = {normalize_label(o.label): o for o in config.offerings}
        unknown = [label for label in changes.related_offerings if normalize_label(label) not in known]
        if unknown:
            raise InvalidInput(f"unknown offerings: {', '.join(unknown)}; the configuration lists them")
        chosen = [known[normalize_label(label)] for label in changes.related_offerings]
        result = result.updated({"relatedOfferings": offering_entries(chosen)})
    return result  # saving sets lastMod when anything changed (repository.save_item)


def update_item(
    session: Session,
    *,
    item_id: int,
    changes: ItemChanges,
    user: User,
    config: SiteConfig,
    audit_extra: Mapping[str, Any] | None = None,
) -> ItemRecord:
    """Apply ``changes`` to a stored item and audit what changed, whole, so that it can be undone."""
    record = get_item(session, item_id=item_id)
    community_before = record.community
    check_can_edit(user, record)
    if changes.front_matter is not None:
        refused = [*type_problems(changes.front_matter), *link_problems(changes.front_matter)]
        if refused:
            raise InvalidInput("; ".join(refused))
    before = item_from_record(record)
    try:
        after = apply_changes(before, changes, config=config)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc
    community = config.community(changes.community).key if changes.community is not None else None
    record, outcome = save_item(
        session, item=after, md_name=record.md_name, url_key=record.url_key, community=community
    )
    if outcome != "unchanged":
        detail: dict[str, Any] = {
            "changes": [
                c
                for c in field_changes(
                    {**before.front_matter, "body": before.body}, {**after.front_matter, "body": after.body}
                )
                if c["field"] != "lastMod"
            ],
            **(audit_extra or {}),
        }
        if record.community != community_before:
            detail["community"] = {"from": community_before, "to": record.community}
        record_audit(
            session,
            actor=user.username,
            action="item.edit",
            entity_type="item",
            entity_id=item_id,
            detail=detail,
        )
    return record


def transition(session: Session, *, item_id: int, action: str, user: User) -> ItemRecord:
    """Move an item through the workflow (approve, publish, reject, draft); editors only."""
    if action not in TRANSITIONS:
        raise InvalidInput(f"unknown action {action!r}; one of: {', '.join(TRANSITIONS)}")
    if not user.role.allows(Role.EDITOR):
        raise PermissionDenied(f"only editors may {action} items; {user.username} is {user.role.value}")
    target, allowed_from = TRANSITIONS[action]
    record = get_item(session, item_id=item_id)
    current = ItemState(record.state)
    if current not in allowed_from:
        raise InvalidInput(f"item {item_id} is {current.value}; it cannot be moved to {target.value}")
    record.state = target.value
    item = item_from_record(record)
    changes: dict[str, Any] = {"lastMod": format_timestamp()}
    if target is ItemState.PUBLISHED:
        from medcurate.stories.primary import publishing_changes

        changes.update(publishing_changes(session, item_id=item_id))  # the story's "also covered by"
    save_item(session, item=item.updated(changes), md_name=record.md_name, url_key=record.url_key)
    record_audit(
        session,
        actor=user.username,
        action=f"item.{action}",
        entity_type="item",
        entity_id=item_id,
        detail={"from": current.value, "to": target.value},
    )
    return record


def publish_items(
    database: Database,
    *,
    item_ids: Sequence[int],
    user: User,
    settings: Settings,
    out_dir: Path,
    publisher: Publisher = rebuild_site,
) -> tuple[list[int], dict[int, MedcurateError]]:
    """Publish items and rebuild the site once; returns the ids published and the refusals by id."""
    if not user.role.allows(Role.EDITOR):
        raise PermissionDenied(f"only editors may publish; {user.username} is {user.role.value}")
    done: list[int] = []
    failed: dict[int, MedcurateError] = {}
    for item_id in item_ids:
        try:
            with database.session() as session:
                transition(session, item_id=item_id, action="publish", user=user)
            done.append(item_id)
        except MedcurateError as exc:
            failed[item_id] = exc
    if done:
        publisher(database, settings, out_dir)
        audit_site_build(database, actor=user.username, out_dir=out_dir, detail={"published": done})
    return done, failed


def bulk_transition(
    database: Database, *, item_ids: Sequence[int], action: str, user: User
) -> tuple[list[int], dict[int, MedcurateError]]:
    """Apply one workflow action to many items, each in its own transaction."""
    done: list[int] = []
    failed: dict[int, MedcurateError] = {}
    for item_id in item_ids:
        try:
            with database.session() as session:
                transition(session, item_id=item_id, action=action, user=user)
            done.append(item_id)
        except PermissionDenied:
            raise
        except MedcurateError as exc:
            failed[item_id] = exc
    return done, failed


def decide(
    database: Database,
    *,
    item_id: int,
    kind: str,
    label: str,
    action: str,
    user: User,
    config: SiteConfig,
) -> None:
    """Accept, reject or add a topic, community or offering on an item, through the suggestion service.

    ``record_decision`` checks the decision (a community named by its name is resolved to its key),
    applies it to the item, stores it for learning, marks the suggestion and audits it, in its own
    transaction.
    """
    from medcurate.suggest.service import record_decision

    with database.session() as session:
        check_can_edit(user, get_item(session, item_id=item_id))
    try:
        record_decision(
            database,
            item_id=item_id,
            kind=kind,
            label=label,
            action=action,
            actor=user.username,
            config=config,
        )
    except SuggestError as exc:
        raise InvalidInput(str(exc)) from exc


def _checked_image(
    data: bytes, *, max_bytes: int, crop_to: tuple[int, int] | None
) -> tuple[bytes, str, list[int]]:
    """The image's bytes (cropped when asked), format and size; ``InvalidInput`` for anything else."""
    if len(data) > max_bytes:
        raise InvalidInput(f"the image is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = (image.format or "").upper()
            if crop_to is not None and image_format in IMAGE_FORMATS:
                data, image_format = cropped(image, crop_to)
            with Image.open(io.BytesIO(data)) as final:
                size = [int(final.width), int(final.height)]
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"not an image Pillow can read: {exc}") from exc
    if image_format not in IMAGE_FORMATS:
        raise InvalidInput(f"a featured image is JPEG, PNG, GIF or WebP, not {image_format or 'unknown'}")
    return data, image_format, size


def set_featured_image(
    session: Session,
    *,
    item_id: int,
    data: bytes,
    alt: str | None,
    user: User,
    images_dir: Path,
    max_bytes: int,
    config: SiteConfig,
    crop_to: tuple[int, int] | None = None,
) -> ItemRecord:
    """Replace an item's featured image (uploaded, or one of the page's), as ``<mdName>-featuredImage.<ext>``.

    With ``crop_to`` (a width and height), the image is cut to that ratio around its centre first.
    """
    data, image_format, size = _checked_image(data, max_bytes=max_bytes, crop_to=crop_to)
    record = get_item(session, item_id=item_id)
    check_can_edit(user, record)
    href = featured_image_filename(record.md_name, image_format)
    item = item_from_record(record)
    current = item.front_matter.get("featuredImage")
    # The file before is kept by its content hash, so that undo can put it back (medcurate.history).
    href_before = current.get("href") if isinstance(current, Mapping) else None
    kept_before = keep_image(images_dir, href_before)
    images_dir.mkdir(parents=True, exist_ok=True)
    (images_dir / href).write_bytes(data)
    image_fields = dict(current) if isinstance(current, Mapping) else {}
    image_fields.update(
        {
            "alt": alt or image_fields.get("alt") or item.title,
            "format": image_format,
            "href": href,
            "size": size,
            "valid": True,
        }
    )
    changes = ItemChanges(front_matter={"featuredImage": image_fields})
    image_detail = {
        "href": href,
        "kept": keep_image(images_dir, href),
        "href_before": href_before,
        "kept_before": kept_before,
    }
    return update_item(
        session,
        item_id=item_id,
        changes=changes,
        user=user,
        config=config,
        audit_extra={"image": image_detail},
    )


def refresh_suggestions(database: Database, *, item_id: int, settings: Settings, user: User) -> None:
    """Compute and store fresh suggestions for an item (curators and above)."""
    if not user.role.allows(Role.CURATOR):
        raise PermissionDenied("only curators and above may ask for suggestions")
    with database.session() as session:
        get_item(session, item_id=item_id)
    from medcurate.suggest.service import suggest_for_item

    suggest_for_item(database, item_id=item_id, settings=settings)
    with database.session() as session:
        record_audit(
            session, actor=user.username, action="item.suggest", entity_type="item", entity_id=item_id
        )


def feed_links(database: Database, *, source_id: int, settings: Settings, user: User) -> list[str]:
    """Fetch a followed feed now and return its links; the source row keeps when and any error."""
    if not user.role.allows(Role.CURATOR):
        raise PermissionDenied("only curators and above may check sources")
    from medcurate.ingest.fetch import fetch_feed_bytes
    from medcurate.ingest.sources import SourceInput, SourceKind, collect
    from medcurate.pipeline import default_options

    with database.session() as session:
        source = session.get(SourceRecord, source_id)
        if source is None:
            raise NotFound(f"no source {source_id}")
        location, kind = source.location, source.kind
    fetch_options = default_options(settings).fetch
    error: str | None = None
    links: list[str] = []
    try:
        collection = collect(
            [SourceInput(location=location, kind=SourceKind(kind) if kind in set(SourceKind) else None)],
            fetch=lambda url: fetch_feed_bytes(url, fetch_options),
            max_entries=settings.feed_max_entries,
        )
        links = [entry.url for entry in collection.entries if entry.url]
        if not links and collection.problems:
            error = "; ".join(collection.problems)
    except MedcurateError as exc:
        error = str(exc)
    with database.session() as session:
        row = session.get(SourceRecord, source_id)
        if row is not None:
            row.last_checked_at = datetime.now(UTC)
            row.last_error = error
        record_audit(
            session,
            actor=user.username,
            action="source.check",
            entity_type="source",
            entity_id=source_id,
            detail={"links": len(links), "error": error},
        )
    if error is not None:
        raise InvalidInput(f"could not read {location}: {error}")
    return links
