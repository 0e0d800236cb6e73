"""The sequencer: the only module that chains the stages, from links to stored, suggested drafts.

1. resolve: strip tracking parameters, normalise, compute the canonical key of every link; record
   the links as a batch (resumable: a re-run skips what is done, and a link whose canonical URL is
   already stored points at the existing item instead of fetching it again).
2. fetch: polite, bounded, async; each page is handed to a worker thread as soon as it arrives, so
   extraction and storage overlap with the network.
3. extract: article text, brief and metadata.
4. dedupe: the same canonical URL is the existing item; a near-duplicate body is stored flagged as
   a duplicate of the item it copies.
5. draft: the seed front matter, filled in by ``medcurate.rules``; the featured image downloaded,
   measured and stored as ``<mdName>-featuredImage.<ext>``; the page's identifiers and source type
   (``medcurate.intel``).
6. store: the draft, its provenance (source, fetch time, redirect chain) and its batch entry, in
   one short transaction per link (no network or model work inside), with the id the database
   gives it; a batch killed half-way loses nothing already stored, and a re-run finishes it.
7. suggest: topics, community and offerings for the new draft, stored with their scores.

``ingest_entries`` runs steps 1 and 2 for a batch, ``process_link`` steps 3 to 7 for one page; the
work of each step for a link, and the batch's counters, are ``medcurate.batchrun.LinkRun``; their
SQL is ``medcurate.store.ingest``. Many runs may write at once (threads, ``medcurate add``
processes, queue workers): the database's constraints settle every race. An exception that is not
a link's own failure marks the links not yet finished as failed, with its reason, and is raised again.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import ipaddress
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from medcurate.batchrun import (
    IngestOptions,
    IngestOutcome,
    LinkRun,
    Progress,
    Target,
    clean_url,
    existing_outcome,
    extraction_of,
    trusted_canonical,
)
from medcurate.errors import MedcurateError
from medcurate.ingest.fetch import FetchedPage, FetchResult, fetch_many
from medcurate.ingest.netguard import NetPolicy
from medcurate.ingest.options import FetchOptions
from medcurate.ingest.politeness import HostLimiter
from medcurate.ingest.resolve import canonical_key
from medcurate.models import EntryStatus
from medcurate.settings import Settings
from medcurate.sources import SourceEntry, SourceKind
from medcurate.store.db import Database
from medcurate.store.ingest import (
    BatchLink,
    close_batch,
    entry_states,
    fail_unfinished,
    open_batch,
    stored_item,
)

__all__ = [
    "BatchReport",
    "IngestOptions",
    "IngestOutcome",
    "Progress",
    "batch_key_for",
    "clean_url",
    "default_options",
    "host_limiter",
    "ingest_entries",
    "ingest_urls",
    "policy_for",
    "process_link",
]

LOGGER = logging.getLogger(__name__)


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
        return not any(outcome.status == EntryStatus.FAILED for outcome in self.outcomes)


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
        from medcurate.ingest.politeness import RedisHostLimiter

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


def batch_key_for(url_keys: Sequence[str]) -> str:
    """A stable key for a list of links, so that running the same list again resumes it."""
    digest = hashlib.sha256("\n".join(sorted(set(url_keys))).encode("utf-8"))
    return digest.hexdigest()[:32]


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


# One link as given: its URL, where it came from, and the page's HTML when it was saved, not fetched.
Link = tuple[str, dict[str, Any] | None, str | None]


def _link_of(entry: SourceEntry, url: str) -> Link:
    """A source entry (with its ``url``) as a link: the URL, where it came from, its saved HTML."""
    return url, {"kind": entry.kind.value, "origin": entry.origin, "tags": list(entry.tags)}, entry.html


def _resolve(links: Sequence[Link]) -> tuple[dict[str, Link], list[IngestOutcome]]:
    """Step 1: each link cleaned and keyed by its canonical URL (repeats folded); unusable URLs fail."""
    invalid: list[IngestOutcome] = []
    resolved: dict[str, Link] = {}
    for url, origin, saved_html in links:
        try:
            cleaned = clean_url(url)
            key = canonical_key(cleaned)
        except (MedcurateError, ValueError) as exc:
            reason = f"not a usable URL: {exc}"
            invalid.append(IngestOutcome(url=url, status=EntryStatus.FAILED, reason=reason))
            continue
        resolved.setdefault(key, (cleaned, origin, saved_html))
    return resolved, invalid


def _open_batch(
    database: Database, resolved: dict[str, Link], *, key: str, description: str, retry_failed: bool
) -> tuple[int, list[Target], list[IngestOutcome]]:
    """Record the batch: its id, the links left to do, and the outcomes of those an earlier run did."""
    batch_id, entry_ids = open_batch(
        database,
        key=key,
        description=description,
        links=[BatchLink(url=url, url_key=k, origin=origin) for k, (url, origin, _) in resolved.items()],
    )
    wanted = {EntryStatus.PENDING, EntryStatus.FAILED} if retry_failed else {EntryStatus.PENDING}
    states = entry_states(database, batch_id=batch_id)
    todo = {state.entry_id for state in states if state.status in wanted}
    earlier = [
        IngestOutcome(
            url=state.url,
            status=EntryStatus.EXISTING,
            duplicate_of=state.item_id,
            reason=f"done in an earlier run of batch {batch_id} ({state.status})",
        )
        for state in states
        if state.entry_id not in todo
    ]
    targets = [
        Target(entry_id=entry_ids[k], url=url, url_key=k, origin=origin, html=html)
        for k, (url, origin, html) in resolved.items()
        if entry_ids[k] in todo
    ]
    return batch_id, targets, earlier


def process_link(run: LinkRun, target: Target, page: FetchedPage) -> None:
    """Steps 3 to 7 for one fetched page; a failure of the link is its outcome, never raised."""
    if run.finished_elsewhere(target):  # a concurrent run of the same batch got there first
        return
    try:
        outcome = _store_page(run, target, page)
    except MedcurateError as exc:
        run.fail(target, f"{type(exc).__name__}: {exc}")
        return
    # 7. suggest
    if outcome.status is EntryStatus.CREATED and run.options.suggest and outcome.item_id is not None:
        run.suggest(outcome.item_id)


def _store_page(run: LinkRun, target: Target, page: FetchedPage) -> IngestOutcome:
    """Steps 3 to 6: everything slow first (extraction, the image download), then one short transaction."""
    # 3. extract
    extraction = extraction_of(page, run.options.extract)
    canonical = trusted_canonical(extraction, page)
    # 4. dedupe: the same canonical URL is the stored item; a near-duplicate body is flagged
    existing = run.point_at_stored(target, canonical_key(canonical))
    if existing is not None:
        return existing
    verdict = run.index.check(run.database, extraction.text)
    # 5. draft: its inputs (the featured image stored first), identifiers and source type
    draft = run.draft_input(target, page, extraction, canonical)
    annotate = run.annotator(extraction)
    # 6. store
    return run.store(target, page, draft, verdict, annotate)


def _record_failure(database: Database, batch_id: int, reason: str) -> None:
    """Mark the batch's unfinished links failed with ``reason``; the error that stopped it wins."""
    try:
        fail_unfinished(database, batch_id=batch_id, reason=reason)
        close_batch(database, batch_id=batch_id, failed=True)
    except MedcurateError as exc:  # the database itself may be what failed
        LOGGER.error("could not record the failure of batch %s (%s): %s", batch_id, reason, exc)


def _work(run: LinkRun, targets: Sequence[Target]) -> None:
    """Links already stored point at their item; saved pages are processed; the rest fetched."""
    with run.database.session() as session:
        stored = [(t, stored_item(session, url_keys=(t.url_key,))) for t in targets]
        known = [(t, existing_outcome(t, found)) for t, found in stored if found is not None]
    for target, outcome in known:
        run.finish(target, outcome)
    finished = {target.entry_id for target, _ in known}
    left = [t for t in targets if t.entry_id not in finished]
    for target in left:
        if target.html is not None:
            process_link(run, target, _saved_page(target.url, target.html))
    _fetch_and_process(run, [t for t in left if t.html is None])


class _FetchStopped(Exception):
    """Raised into the fetch loop when the storing thread has died: nothing more is fetched."""


def _fetch_and_process(run: LinkRun, targets: Sequence[Target]) -> None:
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
                    run.fail(target, f"{result.error}: {result.message}" if result.error else "not fetched")
                else:
                    process_link(run, target, result.page)
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
    """``ingest_entries`` for a list of URLs (as pasted or given on the command line)."""
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
    """Turn entries read by ``medcurate.sources`` into stored, suggested drafts; saved pages are not fetched.

    A re-run of the same links resumes the batch. Any exception that is not a link's own failure (a
    bug, the database gone) marks the links not yet finished as failed with its reason, and is
    raised again: the job fails, and says why.

    Args:
        database: the site's database.
        entries: the links, in order; duplicates and tracking parameters are folded away.
        settings: the site's settings (configuration, cache, images, SSRF allow-list).
        actor: who asked (recorded in the audit trail and as curator).
        options: fetch, extract and batch options; ``default_options(settings)`` when omitted.
        on_progress: called after every link.
        batch_key: resume this batch; by default the key is derived from the links themselves.
        description: what the batch is, for people.

    Returns:
        Every link's outcome.
    """
    links = [_link_of(entry, entry.url) for entry in entries if entry.url]
    description = description or f"{len(links)} entries"
    options = options or default_options(settings)
    config = settings.load_site_config()
    community = config.community(options.community) if options.community else config.default_community
    # 1. resolve, and record the links as a batch
    resolved, invalid = _resolve(links)
    key = batch_key or batch_key_for(list(resolved))
    batch_id, targets, earlier = _open_batch(
        database, resolved, key=key, description=description, retry_failed=options.retry_failed
    )
    run = LinkRun(
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
        _work(run, targets)  # 2. fetch; steps 3 to 7 for each page as it arrives
    except BaseException as exc:
        _record_failure(database, batch_id, f"the job stopped: {type(exc).__name__}: {exc}")
        raise
    close_batch(database, batch_id=batch_id)
    return BatchReport(batch_id=batch_id, batch_key=key, outcomes=tuple([*invalid, *earlier, *run.outcomes]))
