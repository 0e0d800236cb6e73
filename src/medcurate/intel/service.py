"""The database-facing side of ``medcurate.intel``: annotate a draft, correct a source type, review facts.

1. ``draft_annotator`` serves ingestion (the batch run's draft step): read before the storing
   transaction, it finds the page's identifiers and classifies its source type, with what editors'
   corrections taught, and writes both into the draft's own front-matter fields (``identifiers``,
   ``sourceType``) inside it.
2. ``correct_source_type`` stores an editor's correction as a decision, sets it on the item and
   audits it; the next classification learns from it (``memory_for``).
3. ``review_facts`` gathers what the review screen shows: source type and reason, identifiers with
   their link-outs, reading time and grade of the brief and of the article.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from medcurate.errors import InvalidInput
from medcurate.intel.identifiers import FRONT_MATTER_KEY, Identifier, find_identifiers, identifiers_of
from medcurate.intel.kinds import SourceType
from medcurate.intel.readability import Readability, readability
from medcurate.intel.signals import PageSignals, page_signals, site_domain
from medcurate.intel.source_type import Correction, SourceTypeMemory, Verdict, classify, learn
from medcurate.models import CuratedItem
from medcurate.store.intel import add_correction, last_correction_id, source_type_corrections
from medcurate.store.repository import get_item, item_from_record, record_audit, save_item

if TYPE_CHECKING:
    from medcurate.extract import Extraction
    from medcurate.store.db import Database

SOURCE_TYPE_KEY = "sourceType"

_MEMORY_LOCK = threading.Lock()
_MEMORIES: dict[str, tuple[int, SourceTypeMemory]] = {}  # per database: (newest correction, memory)


def memory_for(session: Session) -> SourceTypeMemory:
    """What the editors' corrections in this database teach, rebuilt only when a correction was added."""
    key = str(session.get_bind().engine.url)
    newest = last_correction_id(session)
    with _MEMORY_LOCK:
        cached = _MEMORIES.get(key)
        if cached is not None and cached[0] == newest:
            return cached[1]
    corrections = [
        Correction(domain=site_domain(row.url or ""), text=row.text, source_type=kind)
        for row in source_type_corrections(session)
        if (kind := _kind(row.source_type)) is not None
    ]
    memory = learn(corrections)
    with _MEMORY_LOCK:
        _MEMORIES[key] = (newest, memory)
    return memory


def _kind(value: object) -> SourceType | None:
    try:
        return SourceType(str(value))
    except ValueError:
        return None


def source_type_field(verdict: Verdict) -> dict[str, str]:
    """The ``sourceType`` front-matter mapping of a classifier's verdict."""
    field = {"type": verdict.source_type.value, "reason": verdict.reason}
    if verdict.audience:
        field["audience"] = verdict.audience
    return field


def annotated(item: CuratedItem, signals: PageSignals, memory: SourceTypeMemory | None = None) -> CuratedItem:
    """The item with its identifiers and source type written into its front matter (pure)."""
    found = find_identifiers(f"{signals.title}\n{signals.text}", signals.links, meta=signals.meta)
    changes: dict[str, Any] = {SOURCE_TYPE_KEY: source_type_field(classify(signals, memory))}
    if found:
        changes[FRONT_MATTER_KEY] = [i.key for i in found]
    return item.updated(changes)


def draft_annotator(session: Session, extraction: Extraction) -> Callable[[CuratedItem], CuratedItem]:
    """What ingestion applies to a fetched page's draft: its identifiers and source type.

    The page's signals and what editors' corrections taught are read now, with ``session``, so that
    the returned function is pure and runs inside the short transaction that stores the draft.

    Args:
        session: a session to read the editors' source-type corrections with.
        extraction: the page's extraction (text, meta tags, JSON-LD types, the article's links).

    Returns:
        A function from the draft ``build_draft`` made to the draft with ``identifiers`` (when any
        are found) and ``sourceType`` set.
    """
    signals, memory = page_signals(extraction), memory_for(session)
    return lambda item: annotated(item, signals, memory)


def correct_source_type(database: Database, *, item_id: int, source_type: str, actor: str) -> CuratedItem:
    """Store an editor's source type for an item, set it on the item and audit it.

    Raises:
        InvalidInput: ``source_type`` is not one of ``SourceType``'s values.
        NotFound: there is no such item.
    """
    kind = _kind(source_type)
    if kind is None:
        raise InvalidInput(f"unknown source type {source_type!r}; one of {', '.join(SourceType)}")
    with database.session() as session:
        record = get_item(session, item_id=item_id)
        item = item_from_record(record)
        before = item.front_matter.get(SOURCE_TYPE_KEY)
        field: dict[str, str] = {"type": kind.value, "reason": f"set by {actor}"}
        if isinstance(before, Mapping) and isinstance(before.get("audience"), str):
            field["audience"] = before["audience"]
        changed = item.updated({SOURCE_TYPE_KEY: field})
        save_item(session, item=changed, md_name=record.md_name, url_key=record.url_key)
        add_correction(session, item_id=item_id, source_type=kind.value, actor=actor)
        was = before.get("type") if isinstance(before, Mapping) else None
        record_audit(
            session,
            actor=actor,
            action="item.source_type",
            entity_type="item",
            entity_id=item_id,
            detail={"from": was, "to": kind.value},
        )
        return changed


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """What the review screen shows about a source: its kind and why, identifiers, readability."""

    source_type: SourceType | None
    reason: str
    audience: str
    identifiers: tuple[Identifier, ...]
    brief: Readability
    article: Readability
    choices: tuple[SourceType, ...] = tuple(SourceType)


def review_facts(item: CuratedItem, *, text: str = "") -> ReviewFacts:
    """The review screen's facts of an item and its stored article text."""
    source = item.front_matter.get(SOURCE_TYPE_KEY)
    source = source if isinstance(source, Mapping) else {}
    return ReviewFacts(
        source_type=_kind(source.get("type")) if source.get("type") else None,
        reason=str(source.get("reason") or ""),
        audience=str(source.get("audience") or ""),
        identifiers=identifiers_of(item.front_matter),
        brief=readability(item.body),
        article=readability(text or item.body),
    )
