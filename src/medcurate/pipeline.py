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
   measured and stored as ``<mdName>-featuredImage.<ext>``.
7. store: the draft, its provenance (source, fetch time, redirect chain) and its batch entry, in
   one transaction per link, so a batch killed half-way loses nothing already fetched.
8. suggest: topics, community and offerings for the new draft, stored with their scores.
"""

from __future__ import annotations

import asyncio
import contextvars
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

from medcurate.dedupe import DedupeIndex, DedupeVerdict, signature
from medcurate.drafts import DraftInput, StoredImage, build_draft
from medcurate.errors import Conflict, FetchError, MedcurateError
from medcurate.extract import DEFAULT_EXTRACT_OPTIONS, Extraction, ExtractOptions, PageInput, extract
from medcurate.fetch import FetchedPage, FetchOptions, FetchResult, HostLimiter, fetch_image, fetch_many
from medcurate.models import Community, ItemState
from medcurate.netguard import NetPolicy
from medcurate.ops.metrics import record_link
from medcurate.resolve import canonical_key, normalize_url, registrable_domain, strip_tracking
from medcurate.rules import derive_md_name, featured_image_href
from medcurate.settings import Settings
from medcurate.sources import SourceEntry, SourceKind
from medcurate.store.db import Database
from medcurate.store.ingest import (
    BatchLink,
    EntryState,
    close_batch,
    entry_states,
    fail_unfinished,
    insert_item,
    mark_entry,
    open_batch,
    signatures_after,
    stored_item,
)
from medcurate.store.models import ItemRecord
from medcurate.store.repository import record_audit

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


_HOST_LIMITERS: dict[tuple[str, str, int], HostLimiter] = {}


def host_limiter(settings: Settings) -> HostLimiter | None:
    """The per-host limiter shared through Redis when a queue is configured (one per process)."""
    if not settings.queue_url:
        return None
    key = (settings.queue_url, settings.queue_name, settings.host_concurrency)
    if key not in _HOST_LIMITERS:
        from medcurate.politeness import RedisHostLimiter

        _HOST_LIMITERS[key] = RedisHostLimiter(
            settings.queue_url,
            concurrency=settings.host_concurrency,
            prefix=f"medcurate:politeness:{settings.queue_name}",
        )
    return _HOST_LIMITERS[key]


def default_options(settings: Settings, **overrides: Any) -> IngestOptions:
    """Ingest options for a site: its HTTP cache, its SSRF allow-list and its politeness settings."""
    fetch = FetchOptions(
        cache_dir=settings.cache_dir,
        policy=policy_for(settings),
        per_host_delay=settings.host_delay,
        per_host_concurrency=settings.host_concurrency,
        host_limiter=host_limiter(settings),
    )
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


class _Run:
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

    def report(self, outcome: IngestOutcome, target: _Target | None = None) -> None:
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

    def finish(self, target: _Target, outcome: IngestOutcome) -> None:
        """Record a link's outcome on its batch entry (unless another run finished it) and report it."""
        with self.database.session() as session:
            recorded = mark_entry(session, entry_id=target.entry_id, **_entry_values(outcome))
        self.report(outcome if recorded else self._as_stored(target), target)

    def _as_stored(self, target: _Target) -> IngestOutcome:
        """The outcome another run of this batch recorded for the link."""
        (state,) = entry_states(self.database, batch_id=self.batch_id, entry_ids=[target.entry_id])
        return _outcome_of(state, reason=state.reason or "finished by a concurrent run of this batch")

    def process(self, target: _Target, page: FetchedPage) -> None:
        """Extract, dedupe, draft, store and suggest one fetched page."""
        (state,) = entry_states(self.database, batch_id=self.batch_id, entry_ids=[target.entry_id])
        if state.done:  # a concurrent run of the same batch got there first
            self.report(_outcome_of(state, reason=state.reason), target)
            return
        try:
            outcome = self._store(target, page)
        except MedcurateError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self.finish(target, IngestOutcome(url=target.url, status=STATUS_FAILED, reason=reason))
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
        """Everything slow first (extraction, the image download), then one short transaction."""
        extraction = self._extraction(page)
        canonical = clean_url(extraction.canonical_url or page.final_url)
        if registrable_domain(canonical) != registrable_domain(page.final_url):
            canonical = clean_url(page.final_url)  # a canonical link to another site is not trusted
        key, md_name = canonical_key(canonical), derive_md_name(canonical)
        if (existing := self._stored(target, key)) is not None:
            self.finish(target, existing)
            return existing
        verdict = self.index.check(self.database, extraction.text)
        image = self._featured_image(extraction, canonical) if self.options.download_images else None
        now = datetime.now(UTC)
        draft = DraftInput(
            extraction=extraction,
            url=target.url,
            canonical_url=canonical,
            community=self.community,
            item_id=0,  # the database's id replaces it in the storing transaction
            now=now,
            curator=self.actor,
            image=image,
            pdf_url=page.final_url if page.kind == "pdf" else None,
        )
        duplicate_of = int(verdict.duplicate_of) if verdict.is_duplicate and verdict.duplicate_of else None
        blob = signature(extraction.text)
        try:
            with self.database.session() as session:
                record = insert_item(
                    session,
                    draft_for=lambda item_id: build_draft(replace(draft, item_id=item_id)),
                    md_name=md_name,
                    url_key=key,
                    state=ItemState.DUPLICATE if duplicate_of else ItemState.DRAFT,
                    community=self.community.key,
                    text_content=extraction.text,
                    provenance=_provenance(target, page, now),
                    signature=blob,
                    duplicate_of=duplicate_of,
                )
                outcome = self._created(session, target, record, duplicate_of, verdict.similarity)
        except Conflict:
            # Another writer stored the same page (URL key or mdName) first: point at its item.
            winner = self._stored(target, key, md_name=md_name)
            if winner is None:
                raise
            self.finish(target, winner)
            return winner
        self.index.add(record.id, blob)
        self.report(outcome, target)
        return outcome

    def _stored(self, target: _Target, key: str, *, md_name: str | None = None) -> IngestOutcome | None:
        """The "existing" outcome when the page is already stored, else None."""
        with self.database.session() as session:
            found = stored_item(session, url_keys=(key, target.url_key), md_name=md_name)
            return _existing(target, found) if found is not None else None

    def _created(
        self, session: Any, target: _Target, record: ItemRecord, duplicate_of: int | None, similarity: float
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
            status=STATUS_DUPLICATE if duplicate_of else STATUS_CREATED,
            item_id=record.id,
            duplicate_of=duplicate_of,
            reason=f"near-duplicate of item {duplicate_of} ({similarity:.2f})" if duplicate_of else None,
            title=record.title,
        )
        mark_entry(session, entry_id=target.entry_id, **_entry_values(outcome))
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


def _entry_values(outcome: IngestOutcome) -> dict[str, Any]:
    """What a batch entry records of an outcome: an existing link points at the stored item."""
    item_id = outcome.duplicate_of if outcome.status == STATUS_EXISTING else outcome.item_id
    return {"status": outcome.status, "item_id": item_id, "reason": outcome.reason}


def _outcome_of(state: EntryState, *, reason: str | None) -> IngestOutcome:
    """An outcome as a batch entry recorded it."""
    existing = state.status == STATUS_EXISTING
    return IngestOutcome(
        url=state.url,
        status=state.status,
        item_id=None if existing else state.item_id,
        duplicate_of=state.item_id if existing else None,
        reason=reason,
    )


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
    """Run a batch of (url, origin, saved html) links through every stage.

    Any exception that is not a link's own failure (a bug, the database gone) marks the links not
    yet finished as failed with its reason, and is raised again: the job fails, and says why.
    """
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
    batch_id, entry_ids = open_batch(
        database,
        key=key,
        description=description,
        links=[BatchLink(url=url, url_key=k, origin=origin) for k, (url, origin, _) in prepared.items()],
    )
    wanted = {STATUS_PENDING, STATUS_FAILED} if options.retry_failed else {STATUS_PENDING}
    states = entry_states(database, batch_id=batch_id)
    todo = {state.entry_id for state in states if state.status in wanted}
    earlier = [
        IngestOutcome(
            url=state.url,
            status=STATUS_EXISTING,
            duplicate_of=state.item_id,
            reason=f"done in an earlier run of batch {batch_id} ({state.status})",
        )
        for state in states
        if state.entry_id not in todo
    ]
    targets = [
        _Target(entry_id=entry_ids[k], url=url, url_key=k, origin=origin, html=html)
        for k, (url, origin, html) in prepared.items()
        if entry_ids[k] in todo
    ]
    run = _Run(
        database,
        settings=settings,
        community=community,
        options=options,
        actor=actor,
        batch_id=batch_id,
        total=len(targets),
        on_progress=on_progress,
    )
    try:
        _work(run, targets)
    except BaseException as exc:
        fail_unfinished(database, batch_id=batch_id, reason=f"the job stopped: {type(exc).__name__}: {exc}")
        close_batch(database, batch_id=batch_id, failed=True)
        raise
    close_batch(database, batch_id=batch_id)
    return BatchReport(batch_id=batch_id, batch_key=key, outcomes=tuple([*invalid, *earlier, *run.outcomes]))


def _work(run: _Run, targets: Sequence[_Target]) -> None:
    """Links already stored point at their item; saved pages are processed; the rest fetched."""
    with run.database.session() as session:
        stored = [(t, stored_item(session, url_keys=(t.url_key,))) for t in targets]
        known = [(t, _existing(t, found)) for t, found in stored if found is not None]
    for target, outcome in known:
        run.finish(target, outcome)
    finished = {target.entry_id for target, _ in known}
    left = [t for t in targets if t.entry_id not in finished]
    for target in left:
        if target.html is not None:
            run.process(target, _saved_page(target.url, target.html))
    _fetch_and_process(run, [t for t in left if t.html is None])


class _FetchStopped(Exception):
    """Raised into the fetch loop when the storing thread has died: nothing more is fetched."""


def _fetch_and_process(run: _Run, targets: Sequence[_Target]) -> None:
    """Fetch on the event loop; extract and store on a worker thread as pages arrive.

    An exception on the worker thread stops the fetching and is raised here, never lost.
    """
    if not targets:
        return
    by_url = {t.url: t for t in targets}
    arrivals: queue.Queue[FetchResult | None] = queue.Queue()
    crashed: list[BaseException] = []

    def work() -> None:
        try:
            while (result := arrivals.get()) is not None:
                target = by_url[result.url]
                if result.page is None:
                    reason = f"{result.error}: {result.message}" if result.error else "not fetched"
                    run.finish(target, IngestOutcome(url=target.url, status=STATUS_FAILED, reason=reason))
                else:
                    run.process(target, result.page)
        except BaseException as exc:  # raised again on the calling thread below
            crashed.append(exc)

    def arrive(result: FetchResult) -> None:
        if crashed:
            raise _FetchStopped
        arrivals.put(result)

    # In the caller's context: the job's and request's ids (``medcurate.ops.logs.bind``) reach its lines.
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(work,), name="medcurate-ingest", daemon=True)
    worker.start()
    try:
        asyncio.run(fetch_many(list(by_url), run.options.fetch, on_result=arrive))
    except _FetchStopped:
        pass
    finally:
        arrivals.put(None)
        worker.join()
    if crashed:
        raise crashed[0]


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
