"""The sequencer: the only module that chains the stages, from links to stored, suggested drafts.

1. resolve: strip tracking parameters, normalise, compute the canonical key of every link.
2. batch: record the links as a batch (resumable: a re-run skips what is done, and a link whose
   canonical URL is already stored points at the existing item instead of fetching it again).
3. fetch: polite, bounded, async; each page is handed to a worker thread as soon as it arrives, so
   extraction and storage overlap with the network.
4. extract: article text, brief and metadata.
5. dedupe: the same canonical URL is the existing item; a near-duplicate body is stored flagged as
   a duplicate of the item it copies.
6. draft: the seed front matter, filled in by ``medcurate.rules``; the featured image downloaded,
   measured and stored as ``<mdName>-featuredImage.<ext>``; the page's identifiers and source type
   (``medcurate.intel``).
7. store: the draft, its provenance (source, fetch time, redirect chain) and its batch entry, in
   one transaction per link, so a batch killed half-way loses nothing already fetched.
8. suggest: topics, community and offerings for the new draft, stored with their scores.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import ipaddress
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medcurate.config import SiteConfig
from medcurate.dedupe import DedupeIndex, signature
from medcurate.drafts import DraftInput, StoredImage, build_draft
from medcurate.errors import FetchError, MedcurateError
from medcurate.extract import DEFAULT_EXTRACT_OPTIONS, Extraction, ExtractOptions, PageInput, extract
from medcurate.fetch import FetchedPage, FetchOptions, FetchResult, fetch_image, fetch_many
from medcurate.intel.service import annotate_draft
from medcurate.models import Community, ItemState
from medcurate.netguard import NetPolicy
from medcurate.resolve import canonical_key, normalize_url, registrable_domain, strip_tracking
from medcurate.rules import derive_md_name, featured_image_href
from medcurate.settings import Settings
from medcurate.sources import SourceEntry, SourceKind
from medcurate.store.db import Database
from medcurate.store.models import BatchEntryRecord, BatchRecord, ItemRecord
from medcurate.store.repository import find_item, next_item_id, record_audit, save_item

LOGGER = logging.getLogger(__name__)

STATUS_PENDING = "pending"
STATUS_CREATED = "created"
STATUS_EXISTING = "existing"
STATUS_DUPLICATE = "duplicate"
STATUS_FAILED = "failed"
DONE_STATUSES = frozenset({STATUS_CREATED, STATUS_EXISTING, STATUS_DUPLICATE})


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
    status: str
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


@dataclass(frozen=True, kw_only=True)
class BatchReport:
    """The outcome of a batch, link by link, with counts."""

    batch_id: int
    batch_key: str
    outcomes: tuple[IngestOutcome, ...]

    @property
    def counts(self) -> Counter[str]:
        """How many links ended in each status."""
        return Counter(outcome.status for outcome in self.outcomes)

    @property
    def ok(self) -> bool:
        """True when no link failed."""
        return not any(outcome.status == STATUS_FAILED for outcome in self.outcomes)


def policy_for(settings: Settings) -> NetPolicy:
    """The SSRF policy: the default refusals, less the hosts and networks the settings allow."""
    hosts: set[str] = set()
    networks = []
    for entry in settings.allowed_hosts:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return NetPolicy(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))


def default_options(settings: Settings, **overrides: Any) -> IngestOptions:
    """Ingest options for a site: its HTTP cache and its SSRF allow-list."""
    fetch = FetchOptions(cache_dir=settings.cache_dir, policy=policy_for(settings))
    return replace(IngestOptions(fetch=fetch), **overrides)


def clean_url(url: str) -> str:
    """The URL as stored: tracking parameters removed, normalised."""
    return normalize_url(strip_tracking(url.strip()))


def batch_key_for(url_keys: Sequence[str]) -> str:
    """A stable key for a list of links, so that running the same list again resumes it."""
    digest = hashlib.sha256("\n".join(sorted(set(url_keys))).encode("utf-8"))
    return digest.hexdigest()[:32]


@dataclass
class _Target:
    """One link of a batch while it runs."""

    entry_id: int
    url: str
    url_key: str
    origin: dict[str, Any] | None = None
    html: str | None = None


class _Run:
    """The state of one batch while it runs: the database, the dedupe index, the counters."""

    def __init__(
        self,
        database: Database,
        *,
        settings: Settings,
        config: SiteConfig,
        community: Community,
        options: IngestOptions,
        actor: str,
        batch_id: int,
        total: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.config = config
        self.community = community
        self.options = options
        self.actor = actor
        self.batch_id = batch_id
        self.total = total
        self.on_progress = on_progress
        self.outcomes: list[IngestOutcome] = []
        self.lock = threading.RLock()
        self.finished_ids: set[int] = set()
        self.index = self._load_index()

    def _load_index(self) -> DedupeIndex:
        with self.database.session() as session:
            rows = session.execute(
                select(ItemRecord.id, ItemRecord.similarity_signature).where(
                    ItemRecord.similarity_signature.is_not(None)
                )
            ).all()
        return DedupeIndex.from_signatures((row[0], row[1]) for row in rows if row[1])

    def finish(self, target: _Target, outcome: IngestOutcome, session: Session | None = None) -> None:
        """Record a link's outcome on its batch entry and report progress."""
        if session is None:
            with self.database.session() as own:
                self._mark(own, target, outcome)
        else:
            self._mark(session, target, outcome)
        with self.lock:
            self.outcomes.append(outcome)
            done = len(self.outcomes)
        if self.on_progress is not None:
            self.on_progress(Progress(batch_id=self.batch_id, done=done, total=self.total, outcome=outcome))

    @staticmethod
    def _mark(session: Session, target: _Target, outcome: IngestOutcome) -> None:
        entry = session.get(BatchEntryRecord, target.entry_id)
        if entry is not None:
            entry.status = outcome.status
            entry.reason = outcome.reason
            entry.item_id = outcome.duplicate_of if outcome.status == STATUS_EXISTING else outcome.item_id
            entry.updated_at = datetime.now(UTC)

    def process(self, target: _Target, page: FetchedPage) -> None:
        """Extract, dedupe, draft, store and suggest one fetched page."""
        try:
            outcome = self._store(target, page)
        except MedcurateError as exc:
            outcome = IngestOutcome(
                url=target.url, status=STATUS_FAILED, reason=f"{type(exc).__name__}: {exc}"
            )
            self.finish(target, outcome)
            return
        if outcome.status == STATUS_CREATED and self.options.suggest and outcome.item_id is not None:
            self._suggest(outcome.item_id)

    def _extraction(self, page: FetchedPage) -> Extraction:
        if page.kind == "pdf":
            return _pdf_extraction(page)
        return extract(
            PageInput(html=page.text, url=page.final_url),
            self.options.extract,
        )

    def _store(self, target: _Target, page: FetchedPage) -> IngestOutcome:
        extraction = self._extraction(page)
        canonical = clean_url(extraction.canonical_url or page.final_url)
        if registrable_domain(canonical) != registrable_domain(page.final_url):
            canonical = clean_url(page.final_url)  # a canonical link to another site is not trusted
        key = canonical_key(canonical)
        with self.database.session() as session:
            existing = find_item(session, url_key=key) or find_item(session, url_key=target.url_key)
            if existing is not None:
                outcome = _existing(target, existing)
                self.finish(target, outcome, session)
                return outcome
            verdict = self.index.check(extraction.text)
            item_id = next_item_id(session)
            now = datetime.now(UTC)
            image = self._featured_image(extraction, canonical) if self.options.download_images else None
            draft = build_draft(
                DraftInput(
                    extraction=extraction,
                    url=target.url,
                    canonical_url=canonical,
                    community=self.community,
                    item_id=item_id,
                    now=now,
                    curator=self.actor,
                    image=image,
                    pdf_url=page.final_url if page.kind == "pdf" else None,
                )
            )
            draft = annotate_draft(session, draft, extraction=extraction)
            duplicate_of = (
                int(verdict.duplicate_of) if verdict.is_duplicate and verdict.duplicate_of else None
            )
            record, _ = save_item(
                session,
                item=draft,
                md_name=derive_md_name(canonical),
                url_key=key,
                state=ItemState.DUPLICATE if duplicate_of else ItemState.DRAFT,
                community=self.community.key,
                text=extraction.text,
                provenance=_provenance(target, page, now),
                item_id=item_id,
            )
            blob = signature(extraction.text)
            record.similarity_signature = blob
            record.duplicate_of_id = duplicate_of
            self.index.add_signature(record.id, blob)
            record_audit(
                session,
                actor=self.actor,
                action="item.ingest",
                entity_type="item",
                entity_id=record.id,
                detail={"url": target.url, "batch": self.batch_id, "duplicate_of": duplicate_of},
            )
            status = STATUS_DUPLICATE if duplicate_of else STATUS_CREATED
            reason = (
                f"near-duplicate of item {duplicate_of} ({verdict.similarity:.2f})" if duplicate_of else None
            )
            outcome = IngestOutcome(
                url=target.url,
                status=status,
                item_id=record.id,
                duplicate_of=duplicate_of,
                reason=reason,
                title=record.title,
            )
            self.finish(target, outcome, session)
            return outcome

    def _featured_image(self, extraction: Extraction, canonical: str) -> StoredImage | None:
        if not extraction.image:
            return None
        try:
            image = fetch_image(extraction.image, self.options.fetch)
        except FetchError as exc:
            LOGGER.info("featured image %s not stored: %s", extraction.image, exc)
            return None
        file_name = Path(image.final_url.split("?", 1)[0]).name or "image"
        target = self.settings.images_dir / featured_image_href(derive_md_name(canonical), image.format)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image.body)
        return StoredImage(
            format=image.format, size=image.size, source_url=image.final_url, file_name=file_name
        )

    def _suggest(self, item_id: int) -> None:
        try:
            from medcurate.suggest.service import suggest_for_item
        except ImportError:  # the suggestion engine is optional at this stage
            return
        try:
            suggest_for_item(self.database, item_id=item_id, settings=self.settings)
        except MedcurateError as exc:
            LOGGER.warning("no suggestions for item %s: %s", item_id, exc)


def _existing(target: _Target, record: ItemRecord) -> IngestOutcome:
    """The outcome of a link whose page is already stored."""
    return IngestOutcome(
        url=target.url,
        status=STATUS_EXISTING,
        duplicate_of=record.id,
        title=record.title,
        reason=f"already stored as item {record.id}",
    )


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


def _provenance(target: _Target, page: FetchedPage, now: datetime) -> dict[str, Any]:
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


def _saved_page(url: str, html: str) -> FetchedPage:
    return FetchedPage(
        requested_url=url,
        final_url=url,
        redirect_chain=((url, 200),),
        status_code=200,
        headers={},
        content_type="text/html",
        kind="html",
        body=html.encode("utf-8"),
        text=html,
        encoding="utf-8",
        fetched_at=datetime.now(UTC),
        from_cache=False,
        elapsed=0.0,
    )


def _open_batch(
    database: Database, *, key: str, description: str, links: Sequence[tuple[str, str, dict[str, Any] | None]]
) -> tuple[int, dict[str, int]]:
    """Create the batch (or find it again) and its entries; returns its id and entry ids by URL key."""
    with database.session() as session:
        batch = session.scalar(select(BatchRecord).where(BatchRecord.key == key))
        if batch is None:
            batch = BatchRecord(key=key, description=description, state="running")
            session.add(batch)
            session.flush()
        else:
            batch.state = "running"
        entries = {
            e.url_key: e
            for e in session.scalars(select(BatchEntryRecord).where(BatchEntryRecord.batch_id == batch.id))
        }
        for position, (url, url_key, origin) in enumerate(links):
            if url_key not in entries:
                entry = BatchEntryRecord(
                    batch_id=batch.id, position=position, url=url, url_key=url_key, origin=origin
                )
                session.add(entry)
                entries[url_key] = entry
        session.flush()
        return batch.id, {k: e.id for k, e in entries.items()}


def _close_batch(database: Database, batch_id: int) -> None:
    with database.session() as session:
        batch = session.get(BatchRecord, batch_id)
        if batch is not None:
            batch.state = "finished"
            batch.finished_at = datetime.now(UTC)


def _pending(database: Database, batch_id: int, *, retry_failed: bool) -> set[int]:
    wanted = {STATUS_PENDING, STATUS_FAILED} if retry_failed else {STATUS_PENDING}
    with database.session() as session:
        return set(
            session.scalars(
                select(BatchEntryRecord.id).where(
                    BatchEntryRecord.batch_id == batch_id, BatchEntryRecord.status.in_(wanted)
                )
            )
        )


def _run_batch(
    database: Database,
    links: Sequence[tuple[str, dict[str, Any] | None, str | None]],
    *,
    settings: Settings,
    actor: str,
    options: IngestOptions | None,
    on_progress: Callable[[Progress], None] | None,
    batch_key: str | None,
    description: str,
) -> BatchReport:
    """Run a batch of (url, origin, saved html) links through every stage."""
    options = options or default_options(settings)
    config = settings.load_site_config()
    community = config.community(options.community) if options.community else config.default_community
    invalid: list[IngestOutcome] = []
    prepared: dict[str, tuple[str, dict[str, Any] | None, str | None]] = {}
    for url, origin, saved_html in links:
        try:
            cleaned = clean_url(url)
            key = canonical_key(cleaned)
        except (MedcurateError, ValueError) as exc:
            invalid.append(IngestOutcome(url=url, status=STATUS_FAILED, reason=f"not a usable URL: {exc}"))
            continue
        prepared.setdefault(key, (cleaned, origin, saved_html))
    key = batch_key or batch_key_for(list(prepared))
    batch_id, entry_ids = _open_batch(
        database,
        key=key,
        description=description,
        links=[(url, k, origin) for k, (url, origin, _) in prepared.items()],
    )
    todo = _pending(database, batch_id, retry_failed=options.retry_failed)
    earlier = _done_earlier(database, batch_id, todo)
    targets = [
        _Target(entry_id=entry_ids[k], url=url, url_key=k, origin=origin, html=html)
        for k, (url, origin, html) in prepared.items()
        if entry_ids[k] in todo
    ]
    run = _Run(
        database,
        settings=settings,
        config=config,
        community=community,
        options=options,
        actor=actor,
        batch_id=batch_id,
        total=len(targets),
        on_progress=on_progress,
    )
    _skip_stored(run, targets)
    fetch_targets = [t for t in targets if t.html is None and t.entry_id not in run.finished_ids]
    for target in targets:
        if target.html is not None and target.entry_id not in run.finished_ids:
            run.process(target, _saved_page(target.url, target.html))
    _fetch_and_process(run, fetch_targets)
    _close_batch(database, batch_id)
    return BatchReport(batch_id=batch_id, batch_key=key, outcomes=tuple([*invalid, *earlier, *run.outcomes]))


def _done_earlier(database: Database, batch_id: int, todo: set[int]) -> list[IngestOutcome]:
    """Links an earlier run of this batch finished: reported as existing, never fetched again."""
    with database.session() as session:
        entries = session.scalars(
            select(BatchEntryRecord)
            .where(BatchEntryRecord.batch_id == batch_id, BatchEntryRecord.id.not_in(todo))
            .order_by(BatchEntryRecord.position)
        ).all()
        return [
            IngestOutcome(
                url=entry.url,
                status=STATUS_EXISTING,
                duplicate_of=entry.item_id,
                reason=f"done in an earlier run of batch {batch_id} ({entry.status})",
            )
            for entry in entries
        ]


def _skip_stored(run: _Run, targets: Sequence[_Target]) -> None:
    """Links already stored point at their item; nothing is fetched for them."""
    with run.database.session() as session:
        for target in targets:
            existing = find_item(session, url_key=target.url_key)
            if existing is not None:
                outcome = _existing(target, existing)
                run.finish(target, outcome, session)
                run.finished_ids.add(target.entry_id)


def _fetch_and_process(run: _Run, targets: Sequence[_Target]) -> None:
    """Fetch on the event loop; extract and store on a worker thread as pages arrive."""
    if not targets:
        return
    by_url = {t.url: t for t in targets}
    arrivals: queue.Queue[FetchResult | None] = queue.Queue()

    def work() -> None:
        while (result := arrivals.get()) is not None:
            target = by_url[result.url]
            if result.page is None:
                reason = f"{result.error}: {result.message}" if result.error else "not fetched"
                run.finish(target, IngestOutcome(url=target.url, status=STATUS_FAILED, reason=reason))
            else:
                run.process(target, result.page)

    worker = threading.Thread(target=work, name="medcurate-ingest", daemon=True)
    worker.start()
    try:
        asyncio.run(fetch_many(list(by_url), run.options.fetch, on_result=arrivals.put))
    finally:
        arrivals.put(None)
        worker.join()


def ingest_urls(
    database: Database,
    urls: Sequence[str],
    *,
    settings: Settings,
    actor: str,
    options: IngestOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    batch_key: str | None = None,
    description: str = "",
) -> BatchReport:
    """Turn links into stored, suggested drafts; a re-run of the same links resumes the batch.

    Args:
        database: the site's database.
        urls: the links, in order; duplicates and tracking parameters are folded away.
        settings: the site's settings (configuration, cache, images, SSRF allow-list).
        actor: who asked (recorded in the audit trail and as curator).
        options: fetch, extract and batch options; ``default_options(settings)`` when omitted.
        on_progress: called after every link.
        batch_key: resume this batch; by default the key is derived from the links themselves.
        description: what the batch is, for people.

    Returns:
        Every link's outcome.
    """
    entries = [SourceEntry(url=url, kind=SourceKind.URL_LIST, origin="links") for url in urls]
    return ingest_entries(
        database,
        entries,
        settings=settings,
        actor=actor,
        options=options,
        on_progress=on_progress,
        batch_key=batch_key,
        description=description or f"{len(urls)} links",
    )


def ingest_entries(
    database: Database,
    entries: Sequence[SourceEntry],
    *,
    settings: Settings,
    actor: str,
    options: IngestOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    batch_key: str | None = None,
    description: str = "",
) -> BatchReport:
    """Like ``ingest_urls`` for entries read by ``medcurate.sources``; saved pages are not fetched."""
    links = [
        (entry.url, {"kind": entry.kind.value, "origin": entry.origin, "tags": list(entry.tags)}, entry.html)
        for entry in entries
        if entry.url
    ]
    return _run_batch(
        database,
        links,
        settings=settings,
        actor=actor,
        options=options,
        on_progress=on_progress,
        batch_key=batch_key,
        description=description or f"{len(links)} entries",
    )
