"""Import curated Markdown files (any supported variant) into the store, idempotently.

Importing the same files again updates what changed and never adds a second item: an item is
matched by its ``mdName`` and by the canonical key of its URL. Every file that cannot be read is
reported with its reason, and the rest are imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from medcurate.config import SiteConfig
from medcurate.errors import FrontMatterError, InvalidInput
from medcurate.frontmatter import iter_documents, read_document
from medcurate.ingest.resolve import canonical_key
from medcurate.models import CuratedItem, ImportFailure, ImportReport, ItemState
from medcurate.rules import derive_md_name
from medcurate.store.db import Database
from medcurate.store.listing import analyze
from medcurate.store.repository import record_audit, save_item
from medcurate.validation import storable_problem

IMPORTED_STATE = ItemState.PUBLISHED


def identity_of(item: CuratedItem) -> tuple[str, str | None]:
    """The item's ``mdName`` (derived from its URL when the file has none) and its URL key."""
    url = item.url
    url_key = canonical_key(url) if url else None
    md_name = item.md_name
    if not md_name:
        basis = url_key or item.fields.slug or item.title or (item.source_path or "")
        md_name = derive_md_name(basis)
    return md_name, url_key


def import_paths(
    database: Database,
    paths: Iterable[Path],
    *,
    config: SiteConfig,
    actor: str = "import",
    on_file: Callable[[Path], None] | None = None,
) -> ImportReport:
    """Import every document named or found below the directories named."""
    created = updated = unchanged = 0
    failures: list[ImportFailure] = []
    for path in iter_documents(list(paths)):
        if on_file is not None:
            on_file(path)
        try:
            item = read_document(path)
        except FrontMatterError as exc:
            failures.append(ImportFailure(path=str(path), reason=exc.message))
            continue
        except OSError as exc:
            failures.append(ImportFailure(path=str(path), reason=f"cannot read: {exc.strerror or exc}"))
            continue
        refused = storable_problem(title=item.title, url=item.url, body=item.body)
        try:
            if refused is not None:
                raise InvalidInput(refused)
            md_name, url_key = identity_of(item)
        except InvalidInput as exc:
            failures.append(ImportFailure(path=str(path), reason=f"not imported: {exc.message}"))
            continue
        community = config.community_for_base_path(item.fields.base_path)
        with database.session() as session:
            record, outcome = save_item(
                session,
                item=item,
                md_name=md_name,
                url_key=url_key,
                state=IMPORTED_STATE,
                community=community.key if community else None,
                text=item.fields.description or "",
                item_id=item.item_id,
                touch=False,
            )
            if outcome != "unchanged":
                record_audit(
                    session,
                    actor=actor,
                    action=f"import.{outcome}",
                    entity_type="item",
                    entity_id=record.id,
                    detail={"path": str(path)},
                )
        created += outcome == "created"
        updated += outcome == "updated"
        unchanged += outcome == "unchanged"
    if created or updated:
        with database.session() as session:
            analyze(session)  # the planner's statistics follow the store's new size
    return ImportReport(created=created, updated=updated, unchanged=unchanged, failures=tuple(failures))
