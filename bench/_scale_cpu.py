"""CPU per request of each kind of ``bench/scale.py``'s mix: one server, one request at a time.

Wall-clock latency on a shared machine measures the machine's load; the CPU a request costs does
not (a request waiting for a core spends no CPU meanwhile). So one ``medcurate serve`` process
answers the mix's requests one at a time, and each kind reports the server's CPU per request (all
its threads, read from ``/proc``) and, on PostgreSQL, the CPU of the database's server backends
(they do the query work that SQLite does inside the server process). The two cores' capacity
follows: about ``2000 / (server + database CPU-ms)`` requests/s.

``--profile KIND`` prints where one kind's CPU goes inside the app: a ``cProfile`` of the app
driven in-process through ``httpx.ASGITransport`` (endpoints run inline, so that one thread's
profile sees them; the client's own share shows under ``httpx``).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import random
import statistics
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import create_engine, text

from _scale_store import BuiltStore
from medcurate.settings import Settings
from medcurate.web import create_app

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes connected to the bench's database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = create_engine(url)
    with engine.connect() as connection:
        pids = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = [int(pid) for pid in pids]
    engine.dispose()
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes (all their threads) so far; gone ones count nothing."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / CLOCK_TICKS


def _send(client: httpx.Client, calls: list[Any]) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for call in calls:
        started = time.perf_counter()
        response = client.request(call.method, call.path, params=call.params, json=call.body)
        latencies.append(time.perf_counter() - started)
        errors += response.status_code >= 400
    return latencies, errors


def _alternated(
    clients: list[httpx.Client], pids: list[int], database: list[int], calls: list[Any]
) -> list[tuple[float, float, list[float], int]]:
    """Each call to each server in turn: per server, its CPU, the database's during its requests,
    its latencies and its errors."""
    figures: list[tuple[float, float, list[float], int]] = [(0.0, 0.0, [], 0) for _ in clients]
    for call in calls:
        for n, (client, pid) in enumerate(zip(clients, pids, strict=True)):
            app_before, db_before = cpu_seconds([pid]), cpu_seconds(database)
            latencies, errors = _send(client, [call])
            app, db, seen, failed = figures[n]
            figures[n] = (
                app + cpu_seconds([pid]) - app_before,
                db + cpu_seconds(database) - db_before,
                seen + latencies,
                failed + errors,
            )
    return figures


def cpu_per_kind(
    url: str,
    home: Path,
    store: BuiltStore,
    kinds: list[str],
    *,
    per_kind: int = 40,
    seed: int = 11,
    against: str | None = None,
) -> dict[str, Any]:
    """Per kind: server and database CPU-ms per request, the sequential wall-clock median, errors.

    With ``against`` (another checkout's ``src``), a second server imports medcurate from there and
    gets each request right after the first one: its figures (``against_...``) come from the same
    minutes of the same machine, which a comparison of two runs on a shared machine does not.
    """
    from scale import plan_call, start_servers, stop  # the load generator's own requests and servers

    rng = random.Random(seed)
    bases, processes = start_servers(home, url, 1, None)
    if against:
        other_bases, others = start_servers(home, url, 1, None, source=against, first=1)
        bases, processes = bases + other_bases, processes + others
    result: dict[str, Any] = {}
    try:
        headers = {"Authorization": f"Bearer {store.token}"}
        clients = [httpx.Client(base_url=base, headers=headers, timeout=120) for base in bases]
        for kind in kinds:  # warm-up: imports, the pool, the statements' compiled forms
            for client in clients:
                _send(client, [plan_call(kind, rng, store) for _ in range(5)])
        database = backend_pids(url)
        for kind in kinds:
            calls = [plan_call(kind, rng, store) for _ in range(per_kind)]
            figures = _alternated(clients, [p.pid for p in processes], database, calls)
            app_cpu, db_cpu, latencies, errors = figures[0]
            result[kind] = {
                "server_cpu_ms": round(1000 * app_cpu / per_kind, 2),
                "db_cpu_ms": round(1000 * db_cpu / per_kind, 2),
                "wall_p50_ms": round(1000 * statistics.median(latencies), 1),
                "errors": errors + sum(f[3] for f in figures[1:]),
            }
            if against:
                result[kind] |= {
                    "against_server_cpu_ms": round(1000 * figures[1][0] / per_kind, 2),
                    "against_db_cpu_ms": round(1000 * figures[1][1] / per_kind, 2),
                }
        for client in clients:
            client.close()
    finally:
        stop(processes, home)
    return result


async def _drive(app: Any, store: BuiltStore, kind: str, count: int, rng: random.Random) -> None:
    from scale import plan_call

    headers = {"Authorization": f"Bearer {store.token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        for _ in range(count):
            call = plan_call(kind, rng, store)
            await client.request(call.method, call.path, params=call.params, json=call.body)


def profile_kind(
    url: str, home: Path, store: BuiltStore, kind: str, *, requests: int = 40, top: int = 50
) -> str:
    """Where ``kind``'s CPU goes: a cProfile of ``requests`` of it, in-process, endpoints inline."""

    async def inline(func: Any, *args: Any, **_kwargs: Any) -> Any:
        return func(*args)

    threaded = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    app = create_app(Settings(home=home, database_url=url))
    rng = random.Random(5)
    profiler = cProfile.Profile()
    try:
        asyncio.run(_drive(app, store, kind, 10, rng))  # warm-up
        profiler.enable()
        asyncio.run(_drive(app, store, kind, requests, rng))
        profiler.disable()
    finally:
        anyio.to_thread.run_sync = threaded  # type: ignore[assignment]
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
        top
    )
    return out.getvalue()
