"""The bookkeeping of one batch while it runs, and the work of each step for one link.

``medcurate.pipeline`` sequences the steps (``process_link``); ``LinkRun`` does each one's work
and keeps the batch's counters. Everything slow for a link (extraction, the near-duplicate check,
the featured image download) happens before its one short transaction; that transaction stores the
item with the id the database gives it, its front matter ``id`` equal to it, its audit event and
its batch entry. A concurrent writer of the same page (same canonical URL key or mdName) makes the
transaction fail with ``Conflict``: the link then points at the winner's item, as "existing". The
near-duplicate index is the process's, brought up to date from the stored signatures before each
check, so workers see each other's new items.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from medcurate.dedupe import DedupeIndex, DedupeVerdict, signature
from medcurate.drafts import DraftInput, StoredImage, build_draft
from medcurate.errors import Conflict, FetchError, MedcurateError
from medcurate.extract import DEFAULT_EXTRACT_OPTIONS, Extraction, ExtractOptions, PageInput, extract
from medcurate.ingest.fetch import FetchedPage, fetch_image
from medcurate.ingest.options import FetchOptions
from medcurate.ingest.resolve import canonical_key, normalize_url, registrable_domain, strip_tracking
from medcurate.intel.service import draft_annotator
from medcurate.models import Community, CuratedItem, EntryStatus, ItemState
from medcurate.ops.metrics import record_link
from medcurate.rules import derive_md_name, featured_image_filename
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.ingest import (
    EntryState,
    entry_states,
    insert_item,
    mark_entry,
    signatures_after,
    stored_item,
)
from medcurate.store.models import ItemRecord
from medcurate.store.repository import record_audit

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """How a batch runs: the fetch and extract options, the community, and the optional steps."""

    fetch: FetchOptions = field(default_factory=FetchOptions)
    extract: ExtractOptions = DEFAULT_EXTRACT_OPTIONS
    community: str | None = None
    suggest: bool = True
    download_images: bool = True
    retry_failed: bool = True


@dataclass(frozen=True, kw_only=True)
class IngestOutcome:
    """What became of one link."""

    url: str
    status: EntryStatus
    item_id: int | None = None
    reason: str | None = None
    duplicate_of: int | None = None
    title: str | None = None


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Progress of a running batch, reported after every link."""

    batch_id: int
    done: int
    total: int
    outcome: IngestOutcome


def clean_url(url: str) -> str:
    """The URL as stored: tracking parameters removed, normalised."""
    return normalize_url(strip_tracking(url.strip()))


@dataclass
class Target:
    """One link of a batch while it runs."""

    entry_id: int
    url: str
    url_key: str
    origin: dict[str, Any] | None = None
    html: str | None = None


class SignatureIndex:
    """The near-duplicate index of one database, brought up to date before every check.

    The signatures live in ``items.similarity_signature``; each check first reads those stored since
    the last one, whichever process or machine stored them, so workers see each other's new items.
    """

    def __init__(self) -> None:
        self._index = DedupeIndex()
        self._highest = 0
        self._lock = threading.Lock()

    def check(self, database: Database, text: str) -> DedupeVerdict:
        """The verdict for ``text`` against every signature stored so far."""
        with self._lock:
            with database.session() as session:
                fresh = signatures_after(session, after_id=self._highest)
            for item_id, blob in fresh:
                if item_id not in self._index:
                    self._index.add_signature(item_id, blob)
                self._highest = max(self._highest, item_id)
            return self._index.check(text)

    def add(self, item_id: int, blob: bytes) -> None:
        """Index a signature this process just stored."""
        with self._lock:
            self._index.add_signature(item_id, blob)


_SIGNATURE_INDEXES: dict[str, SignatureIndex] = {}
_SIGNATURE_INDEXES_LOCK = threading.Lock()


def signature_index(database: Database) -> SignatureIndex:
    """The process's index for this database: loaded once, then refreshed link by link."""
    key = database.engine.url.render_as_string(hide_password=True)
    with _SIGNATURE_INDEXES_LOCK:
        return _SIGNATURE_INDEXES.setdefault(key, SignatureIndex())


class LinkRun:
    """The state of one batch while it runs: the database, the dedupe index, the counters."""

    def __init__(
        self,
        database: Database,
        *,
        settings: Settings,
        community: Community,
        options: IngestOptions,
        actor: str,
        batch_id: int,
        total: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.community = community
        self.options = options
        self.actor = actor
        self.batch_id = batch_id
        self.total = total
        self.on_progress = on_progress
        self.outcomes: list[IngestOutcome] = []
        self.lock = threading.RLock()
        self.index = signature_index(database)

    def report(self, outcome: IngestOutcome, target: Target | None = None) -> None:
        """Count a link's recorded outcome (logs, metrics) and report progress."""
        source = (target.origin or {}).get("kind") if target is not None else None
        record_link(source=str(source) if source else None, outcome=outcome.status, reason=outcome.reason)
        LOGGER.info(
            "link %s: %s%s",
            outcome.url,
            outcome.status,
            f" ({outcome.reason})" if outcome.reason else "",
            extra={"item_id": outcome.item_id},
        )
        with self.lock:
            self.outcomes.append(outcome)
            done = len(self.outcomes)
        if self.on_progress is not None:
            self.on_progress(Progress(batch_id=self.batch_id, done=done, total=self.total, outcome=outcome))

    def finish(self, target: Target, outcome: IngestOutcome) -> None:
        """Record a link's outcome on its batch entry (unless another run finished it) and report it."""
        with self.database.session() as session:
            recorded = mark_entry(session, entry_id=target.entry_id, **_entry_values(outcome))
        self.report(outcome if recorded else self._as_stored(target), target)

    def _as_stored(self, target: Target) -> IngestOutcome:
        """The outcome another run of this batch recorded for the link."""
        (state,) = entry_states(self.database, batch_id=self.batch_id, entry_ids=[target.entry_id])
        return _outcome_of(state, reason=state.reason or "finished by a concurrent run of this batch")

    def finished_elsewhere(self, target: Target) -> bool:
        """True, and reported, when a concurrent run of the same batch already finished the link."""
        (state,) = entry_states(self.database, batch_id=self.batch_id, entry_ids=[target.entry_id])
        if state.done:
            self.report(_outcome_of(state, reason=state.reason), target)
        return state.done

    def fail(self, target: Target, reason: str) -> None:
        """Record the link as failed, with its reason."""
        self.finish(target, IngestOutcome(url=target.url, status=EntryStatus.FAILED, reason=reason))

    def point_at_stored(
        self, target: Target, key: str, *, md_name: str | None = None
    ) -> IngestOutcome | None:
        """When the page is already stored: finish the link as "existing", pointing at its item."""
        with self.database.session() as session:
            found = stored_item(session, url_keys=(key, target.url_key), md_name=md_name)
            outcome = existing_outcome(target, found) if found is not None else None
        if outcome is not None:
            self.finish(target, outcome)
        return outcome

    def draft_input(
        self, target: Target, page: FetchedPage, extraction: Extraction, canonical: str
    ) -> DraftInput:
        """What the draft is built from; the featured image is downloaded and stored first (if asked)."""
        image = self.featured_image(extraction, canonical) if self.options.download_images else None
        return DraftInput(
            extraction=extraction,
            url=target.url,
            canonical_url=canonical,
            community=self.community,
            item_id=0,  # the database's id replaces it in the storing transaction
            now=datetime.now(UTC),
            curator=self.actor,
            image=image,
            pdf_url=page.final_url if page.kind == "pdf" else None,
        )

    def annotator(self, extraction: Extraction) -> Callable[[CuratedItem], CuratedItem]:
        """Identifiers and source type, with what editors' corrections taught, read before the write."""
        with self.database.session() as session:
            return draft_annotator(session, extraction)

    def store(
        self,
        target: Target,
        page: FetchedPage,
        draft: DraftInput,
        verdict: DedupeVerdict,
        annotate: Callable[[CuratedItem], CuratedItem],
    ) -> IngestOutcome:
        """One short transaction: the item under the database's id, its audit event, its batch entry.

        A concurrent writer of the same page (URL key or mdName) makes it fail with ``Conflict``: the
        link then points at the winner's item.
        """
        key, md_name = canonical_key(draft.canonical_url), derive_md_name(draft.canonical_url)
        duplicate_of = int(verdict.duplicate_of) if verdict.is_duplicate and verdict.duplicate_of else None
        blob = signature(draft.extraction.text)
        try:
            with self.database.session() as session:
                record = insert_item(
                    session,
                    draft_for=lambda item_id: annotate(build_draft(replace(draft, item_id=item_id))),
                    md_name=md_name,
                    url_key=key,
                    state=ItemState.DUPLICATE if duplicate_of else ItemState.DRAFT,
                    community=self.community.key,
                    text_content=draft.extraction.text,
                    provenance={
                        **_provenance(target, page, draft.now),
                        "image_candidates": list(draft.extraction.images),
                    },
                    signature=blob,
                    duplicate_of=duplicate_of,
                )
                outcome = self._created(session, target, record, duplicate_of, verdict.similarity)
        except Conflict:
            winner = self.point_at_stored(target, key, md_name=md_name)
            if winner is None:
                raise
            return winner
        self.index.add(record.id, blob)
        self.report(outcome, target)
        return outcome

    def _created(
        self,
        session: Session,
        target: Target,
        record: ItemRecord,
        duplicate_of: int | None,
        similarity: float,
    ) -> IngestOutcome:
        """Audit the new item and record its entry, in the transaction that stored it."""
        record_audit(
            session,
            actor=self.actor,
            action="item.ingest",
            entity_type="item",
            entity_id=record.id,
            detail={"url": target.url, "batch": self.batch_id, "duplicate_of": duplicate_of},
        )
        outcome = IngestOutcome(
            url=target.url,
            status=EntryStatus.DUPLICATE if duplicate_of else EntryStatus.CREATED,
            item_id=record.id,
            duplicate_of=duplicate_of,
            reason=f"near-duplicate of item {duplicate_of} ({similarity:.2f})" if duplicate_of else None,
            title=record.title,
        )
        mark_entry(session, entry_id=target.entry_id, **_entry_values(outcome))
        return outcome

    def featured_image(self, extraction: Extraction, canonical: str) -> StoredImage | None:
        """Download, verify and store the page's featured image; None when there is none or it fails."""
        if not extraction.image:
            return None
        try:
            image = fetch_image(extraction.image, self.options.fetch)
        except FetchError as exc:
            LOGGER.info("featured image %s not stored: %s", extraction.image, exc)
            return None
        file_name = Path(image.final_url.split("?", 1)[0]).name or "image"
        target = self.settings.images_dir / featured_image_filename(derive_md_name(canonical), image.format)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image.body)
        return StoredImage(
            format=image.format, size=image.size, source_url=image.final_url, file_name=file_name
        )

    def suggest(self, item_id: int) -> None:
        """Topics, community and offerings for a new draft; a failure leaves the draft unsuggested."""
        from medcurate.suggest.service import suggest_for_item

        try:
            suggest_for_item(self.database, item_id=item_id, settings=self.settings)
        except MedcurateError as exc:
            LOGGER.warning("no suggestions for item %s: %s", item_id, exc)


def _entry_values(outcome: IngestOutcome) -> dict[str, Any]:
    """What a batch entry records of an outcome: an existing link points at the stored item."""
    item_id = outcome.duplicate_of if outcome.status == EntryStatus.EXISTING else outcome.item_id
    return {"status": outcome.status, "item_id": item_id, "reason": outcome.reason}


def _outcome_of(state: EntryState, *, reason: str | None) -> IngestOutcome:
    """An outcome as a batch entry recorded it."""
    existing = state.status == EntryStatus.EXISTING
    return IngestOutcome(
        url=state.url,
        status=state.status,
        item_id=None if existing else state.item_id,
        duplicate_of=state.item_id if existing else None,
        reason=reason,
    )


def existing_outcome(target: Target, record: ItemRecord) -> IngestOutcome:
    """The outcome of a link whose page is already stored."""
    return IngestOutcome(
        url=target.url,
        status=EntryStatus.EXISTING,
        duplicate_of=record.id,
        title=record.title,
        reason=f"already stored as item {record.id}",
    )


def extraction_of(page: FetchedPage, options: ExtractOptions) -> Extraction:
    """The extraction of a fetched page: ``medcurate.extract`` for HTML, the text's lead for a PDF."""
    if page.kind == "pdf":
        return _pdf_extraction(page)
    return extract(PageInput(html=page.text, url=page.final_url), options)


def trusted_canonical(extraction: Extraction, page: FetchedPage) -> str:
    """The page's canonical URL, cleaned; a canonical link to another site is not trusted."""
    canonical = clean_url(extraction.canonical_url or page.final_url)
    if registrable_domain(canonical) != registrable_domain(page.final_url):
        return clean_url(page.final_url)
    return canonical


def _pdf_extraction(page: FetchedPage) -> Extraction:
    lines = [line.strip() for line in page.text.splitlines() if line.strip()]
    title = lines[0][:200] if lines else Path(page.final_url).name
    paragraphs = [p.strip() for p in page.text.split("\n\n") if p.strip()][:3]
    brief = "".join(f"<p>{html.escape(' '.join(p.split()))}</p>" for p in paragraphs)
    return Extraction(
        url=page.final_url,
        canonical_url=page.final_url,
        title=title,
        description=None,
        authors=(),
        date=None,
        site_name=None,
        brand=registrable_domain(page.final_url),
        language=None,
        image=None,
        images=(),
        favicon=None,
        text=page.text,
        brief_html=brief,
    )


def _provenance(target: Target, page: FetchedPage, now: datetime) -> dict[str, Any]:
    return {
        "source": target.origin or {"kind": "url"},
        "requested_url": page.requested_url,
        "final_url": page.final_url,
        "redirect_chain": [[url, status] for url, status in page.redirect_chain],
        "fetched_at": page.fetched_at.isoformat(),
        "stored_at": now.isoformat(),
        "from_cache": page.from_cache,
        "content_type": page.content_type,
    }
