"""The scheduler's tick, and the in-process ticker of ``medcurate serve`` and ``medcurate watch``.

One tick claims the due subscriptions and refreshes them (sharing the robots.txt rules they read),
then publishes the items whose "Publish at" has passed. Every step claims its work in the database
first, so any number of ticking processes (several ``serve`` workers, a ``watch`` beside them)
share the work, each piece done once.

Time comes from the caller: ``run_due(now=...)`` is what tests drive, and the :class:`Ticker`
thread asks its injected clock. The thread waits between ticks on an ``Event`` (so ``stop()`` is
immediate); that wait only paces the loop and decides nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from medcurate.batchrun import IngestOptions
from medcurate.ingest.robots import RobotsRules
from medcurate.scheduler.publishing import publish_due
from medcurate.scheduler.refresh import RefreshReport, refresh_claim
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import utcnow
from medcurate.store.subscriptions import claim_due

LOGGER = logging.getLogger(__name__)
# How long a claim holds: past it, a refresher that died loses the source to the next tick.
DEFAULT_LEASE = timedelta(minutes=15)
DEFAULT_TICK = timedelta(seconds=30)
# Sources claimed per tick: the rest wait for the next tick rather than hold leases they cannot use.
CLAIMS_PER_TICK = 20


@dataclass(frozen=True, kw_only=True)
class TickReport:
    """What one tick did."""

    refreshes: list[RefreshReport] = field(default_factory=list)
    published: list[int] = field(default_factory=list)


def run_due(
    database: Database,
    settings: Settings,
    *,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    site_dir: Path | None = None,
    options: IngestOptions | None = None,
) -> TickReport:
    """One tick: refresh every due subscription this process can claim, then publish due items.

    ``options`` are the pipeline's for the drafts (``default_options(settings)`` when omitted).
    """
    refreshes: list[RefreshReport] = []
    # Each refresh runs its own fetch session (and event loop); the robots.txt rules they read are
    # the tick's, so that the feeds of one host, and their articles, ask for its robots.txt once.
    robots: dict[str, RobotsRules] = {}
    while claims := claim_due(database, now=now, lease=lease, limit=CLAIMS_PER_TICK):
        refreshes.extend(
            refresh_claim(database, settings, claim, now=now, options=options, robots=robots)
            for claim in claims
        )
    published = publish_due(database, settings, now=now, out_dir=site_dir)
    return TickReport(refreshes=refreshes, published=published)


class Ticker:
    """Ticks in a background thread until stopped: the scheduler of ``serve`` and ``watch``."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        every: timedelta = DEFAULT_TICK,
        clock: Callable[[], datetime] = utcnow,
        site_dir: Path | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._every = every
        self._clock = clock
        self._site_dir = site_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> TickReport:
        """Run one tick now, at the clock's time; an error is logged, never raised into the loop."""
        try:
            return run_due(self._database, self._settings, now=self._clock(), site_dir=self._site_dir)
        except Exception:
            LOGGER.exception("scheduler tick failed")
            return TickReport()

    def run(self) -> None:
        """Tick until ``stop()``: the loop of ``medcurate watch`` (in the foreground) and of the thread."""
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self._every.total_seconds())

    def start(self) -> None:
        """Tick in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="medcurate-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for a tick in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
