"""Refresh benchmark: 1,000 feeds served locally, refreshed by one and by two scheduler processes.

A local HTTP server (its own process, 127.0.0.1) serves ``/feed/<n>.xml``: an RSS feed of 20 entries
with an ETag, answering 304 to a request that carries it. For each worker count, a fresh store
follows every feed, then the workers (separate processes, each running the scheduler's tick,
``medcurate.scheduler.ticker.run_due``, on the same database) refresh them twice:

1. first refresh: every feed answers 200 and is parsed; its entries are remembered (with
   ``feed_first_entries=0``, so that no article is fetched: the figure is the refresh's own cost);
2. half an hour later: every feed answers 304: no parsing at all.

It reports feeds per second (wall clock) and CPU seconds per feed of the workers for each round,
and counts the feed parser's calls in each worker (feedparser's ``parse``, wrapped to count):
the 304 round must count zero. Every feed is refreshed exactly once per round whatever the number
of workers (the database claims); the script checks that too.

Usage: ``python bench/feeds.py [--feeds 1000] [--workers 1 2] [--database-url URL] [--json]``
(SQLite in a temporary directory by default; a PostgreSQL URL must name an empty database).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ENTRIES = 20


def _feed(number: int, port: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {number} story {i}</title>"
        f"<link>http://127.0.0.1:{port}/article/{number}/{i}</link>"
        f"<guid isPermaLink='false'>feed-{number}-{i}</guid>"
        f"<pubDate>Tue, 01 Dec 2026 0{i % 8}:00:00 GMT</pubDate>"
        f"<description>Summary of story {i} of feed {number}, a paragraph long.</description></item>"
        for i in range(ENTRIES)
    )
    channel = f"<channel><title>Feed {number}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """A feed (200 or 304), or 404 (robots.txt: no rules)."""
        if not self.path.startswith("/feed/"):
            self._answer(404, b"", {})
            return
        number = int(self.path.removeprefix("/feed/").removesuffix(".xml"))
        etag = f'"feed-{number}-v1"'
        if self.headers.get("If-None-Match") == etag:
            self._answer(304, b"", {"ETag": etag})
            return
        self._answer(200, _feed(number, self.server.server_address[1]), {"ETag": etag})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(port_queue: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _settings(home: Path, database_url: str) -> Any:
    from medcurate.settings import Settings

    return Settings(
        home=home,
        database_url=database_url,
        allowed_hosts=("127.0.0.1",),
        host_delay=0.0,
        feed_first_entries=0,
    )


def _worker(home: str, database_url: str, now_iso: str) -> tuple[int, int, float]:
    """One scheduler process's round: (feeds refreshed, parser calls, CPU seconds)."""
    import feedparser

    from medcurate.jobs import process_database
    from medcurate.scheduler.ticker import run_due

    calls = 0
    parse = feedparser.parse

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return parse(*args, **kwargs)

    feedparser.parse = counted
    settings = _settings(Path(home), database_url)
    database = process_database(database_url)
    started = time.process_time()
    report = run_due(database, settings, now=datetime.fromisoformat(now_iso))
    errors = [r.error for r in report.refreshes if r.error]
    if errors:
        raise RuntimeError(f"{len(errors)} refreshes failed, e.g. {errors[0]}")
    return len(report.refreshes), calls, time.process_time() - started


def _round(pool: Any, workers: int, home: Path, database_url: str, now: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    results = pool.starmap(_worker, [(str(home), database_url, now.isoformat())] * workers)
    seconds = time.perf_counter() - started
    refreshed = sum(r[0] for r in results)
    cpu = sum(r[2] for r in results)
    return {
        "refreshed": refreshed,
        "per_worker": [r[0] for r in results],
        "parser_calls": sum(r[1] for r in results),
        "seconds": round(seconds, 2),
        "feeds_per_second": round(refreshed / seconds, 1),
        "cpu_ms_per_feed": round(1000 * cpu / max(1, refreshed), 2),
    }


def _follow(database_url: str, home: Path, port: int, feeds: int) -> None:
    from medcurate.scheduler.follow import follow_source
    from medcurate.store.db import open_database

    settings = _settings(home, database_url)
    config = settings.load_site_config()
    database = open_database(database_url)
    for number in range(feeds):
        follow_source(
            database,
            location=f"http://127.0.0.1:{port}/feed/{number}.xml",
            actor="bench",
            now=T0,
            config=config,
        )
    database.dispose()


def run(feeds: int, worker_counts: list[int], database_url: str | None) -> dict[str, Any]:
    """Every worker count's two rounds."""
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    out: dict[str, Any] = {"feeds": feeds, "entries_per_feed": ENTRIES, "runs": []}
    try:
        for workers in worker_counts:
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp)
                url = database_url or f"sqlite:///{home / 'medcurate.db'}"
                if database_url:
                    _reset(database_url)
                _follow(url, home, port, feeds)
                with context.Pool(workers) as pool:
                    first = _round(pool, workers, home, url, T0)
                    second = _round(pool, workers, home, url, T0 + timedelta(minutes=31))
                for name, figures in (("200 (parsed)", first), ("304 (not parsed)", second)):
                    if figures["refreshed"] != feeds:
                        raise RuntimeError(f"{figures['refreshed']} refreshes for {feeds} feeds in one round")
                    out["runs"].append({"workers": workers, "round": name, **figures})
    finally:
        server.terminate()
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _reset(database_url: str) -> None:
    """Empty the PostgreSQL database named (the script creates its tables afresh)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.feeds, args.workers, args.database_url)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['feeds']} feeds of {result['entries_per_feed']} entries; load {result['load']}")
    print(
        f"{'workers':>7}  {'round':<17} {'feeds/s':>8} {'CPU ms/feed':>11} {'parser calls':>12}  per worker"
    )
    for run_ in result["runs"]:
        print(
            f"{run_['workers']:>7}  {run_['round']:<17} {run_['feeds_per_second']:>8} "
            f"{run_['cpu_ms_per_feed']:>11} {run_['parser_calls']:>12}  {run_['per_worker']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
