"""Newsroom scale: the API under 50 editors at 100,000 items (``api``); ingestion workers (``ingest``).

``python bench/scale.py api --items 100000 --backend sqlite|postgresql [--rate 100] [--json]``

1. Build a store of ``--items`` items with realistic text (``bench/_scale_store.py``) on SQLite or on
   PostgreSQL (``MEDCURATE_DATABASE_URL``, default the local server; its own database, dropped after).
2. Start the web app: ``--servers 2`` processes of ``medcurate serve`` on two ports, the load
   generator round-robin over them; ``--serve-command`` runs any one command instead (say
   ``medcurate serve --workers 2``, with ``{home}`` and ``{port}`` filled in), on one port.
3. Open loop: requests arrive at ``--rate`` per second in all, whatever the answers' speed (queueing
   shows), for ``--seconds``, spread over 50 editors (one connection pool each) and over the kinds
   in ``MIX``: list, each filter, filter combinations, deep keyset pages, rare and common searches,
   item detail, and 10% writes (PATCH, topic decisions).
4. Closed loop: 50 clients, no pause, ``--saturation-seconds``: the throughput ceiling.
5. Print p50/p95/p99, achieved requests/s and errors per kind, as a table and with ``--json`` as
   ``{"backend", "items", "rate", "load", "kinds": {kind: {p50_ms, p95_ms, p99_ms, rps, errors}},
   "saturation_rps"}``.

``python bench/scale.py ingest ...`` runs ``bench/scale_ingest.py`` with the same arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import runpy
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _scale_store import (
    BRANDS,
    COMMUNITIES,
    STATES,
    TOPICS,
    Backend,
    BuiltStore,
    build_store,
    make_backend,
)
from api import free_port
from medcurate.store.listing import encode_cursor

EDITORS = 50
GOAL_READ_MS, GOAL_WRITE_MS = 50.0, 100.0
WRITE_KINDS = ("write",)
# kind -> share of the open-loop requests
MIX = {
    "list": 0.10,
    "filter": 0.15,
    "combination": 0.10,
    "keyset": 0.10,
    "search_rare": 0.10,
    "search_common": 0.10,
    "detail": 0.25,
    "write": 0.10,
}


@dataclass(frozen=True)
class Call:
    """One request of the plan."""

    kind: str
    method: str
    path: str
    params: dict[str, str | int] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _filter(rng: random.Random, store: BuiltStore) -> dict[str, str | int]:
    # Two months somewhere in the store's span, so that the date filter finds items.
    since = store.oldest + (store.newest - store.oldest - timedelta(days=60)) * rng.random()
    return rng.choice(
        [
            {"state": rng.choice(STATES)},
            {"brand": rng.choice(BRANDS)},
            {"community": rng.choice(COMMUNITIES)},
            {"topic": rng.choice(TOPICS)},
            {"since": since.isoformat(), "until": (since + timedelta(days=60)).isoformat()},
        ]
    )


def plan_call(kind: str, rng: random.Random, store: BuiltStore) -> Call:
    """A request of ``kind`` with random but realistic parameters."""
    page: dict[str, str | int] = {"limit": 25}
    if kind == "list":
        return Call(kind, "GET", "/api/items", page)
    if kind == "filter":
        return Call(kind, "GET", "/api/items", page | _filter(rng, store))
    if kind == "combination":
        other = rng.choice([{"brand": rng.choice(BRANDS)}, {"community": rng.choice(COMMUNITIES)},
                            {"topic": rng.choice(TOPICS)}])  # fmt: skip
        return Call(kind, "GET", "/api/items", page | {"state": "draft"} | other)
    if kind == "keyset":
        depth = rng.random() * (store.newest - store.oldest).total_seconds()
        cursor = encode_cursor({"k": [(store.oldest + timedelta(seconds=depth)).isoformat(), 2**31 - 1]})
        extra = rng.choice([{}, {"state": "draft"}, {"topic": rng.choice(TOPICS)}])
        return Call(kind, "GET", "/api/items", page | extra | {"after": cursor})
    if kind == "search_rare":
        return Call(kind, "GET", "/api/items", page | {"q": rng.choice(store.rare_words)})
    if kind == "search_common":
        return Call(kind, "GET", "/api/items", page | {"q": rng.choice(store.common_words)})
    item_id = rng.randint(1, store.items)
    if kind == "detail":
        return Call(kind, "GET", f"/api/items/{item_id}")
    if rng.random() < 0.5:
        return Call(
            kind, "PATCH", f"/api/items/{item_id}", body={"title": f"Edited title {rng.random():.6f}"}
        )
    body = {"kind": "topic", "label": rng.choice(TOPICS), "action": "add"}
    return Call(kind, "POST", f"/api/items/{item_id}/decisions", body=body)


def plan(rng: random.Random, store: BuiltStore, count: int) -> list[Call]:
    """``count`` requests drawn from ``MIX``."""
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    return [plan_call(kind, rng, store) for kind in kinds]


@dataclass
class Tally:
    """Latencies (seconds) and errors per kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)

    async def send(self, client: httpx.AsyncClient, call: Call) -> None:
        """Make one request and record how long it took and whether it failed."""
        started = time.perf_counter()
        try:
            response = await client.request(call.method, call.path, params=call.params, json=call.body)
            failed = response.status_code >= 400
            detail = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            failed, detail = True, repr(exc)
        self.latencies[call.kind].append(time.perf_counter() - started)
        if failed:
            self.errors[call.kind] += 1
            self.samples.setdefault(call.kind, f"{call.method} {call.path} {call.params}: {detail}")


def clients(bases: list[str], token: str) -> list[httpx.AsyncClient]:
    """One client (connection pool) per editor, editors spread round-robin over the servers."""
    headers = {"Authorization": f"Bearer {token}"}
    # An idle connection is let go after 2 s, before Uvicorn's 5 s keep-alive closes it: with both
    # at 5 s, a request sent on a connection the server was just closing failed with a ReadError.
    limits = httpx.Limits(max_connections=4, keepalive_expiry=2.0)
    return [
        httpx.AsyncClient(base_url=bases[i % len(bases)], headers=headers, timeout=60, limits=limits)
        for i in range(EDITORS)
    ]


async def open_loop(bases: list[str], token: str, calls: list[Call], rate: float) -> tuple[Tally, float]:
    """Send ``calls`` at ``rate`` per second, each on time whether or not earlier ones answered."""
    tally, pools, tasks = Tally(), clients(bases, token), []
    started = time.perf_counter()
    for n, call in enumerate(calls):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(tally.send(pools[n % EDITORS], call)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(pool.aclose() for pool in pools))
    return tally, elapsed


async def closed_loop(bases: list[str], token: str, make: Callable[[], Call], seconds: float) -> float:
    """Requests per second that 50 clients sending back to back get through."""
    tally, pools = Tally(), clients(bases, token)
    deadline = time.perf_counter() + seconds

    async def editor(pool: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            await tally.send(pool, make())

    started = time.perf_counter()
    await asyncio.gather(*(editor(pool) for pool in pools))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(pool.aclose() for pool in pools))
    return sum(len(v) for v in tally.latencies.values()) / elapsed


def start_servers(
    home: Path, url: str, servers: int, command: str | None, *, source: str | None = None, first: int = 0
) -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    """The web app's processes and their base URLs; ``source``: import medcurate from that ``src``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MEDCURATE_DATABASE_URL": url}
    if source:
        env["PYTHONPATH"] = source
    medcurate = [sys.executable, "-c", "from medcurate.cli import main; main()", "--home", str(home)]
    bases, processes = [], []
    for n in range(first, first + (1 if command else servers)):
        port = free_port()
        if command:
            argv = [part.format(home=home, port=port) for part in shlex.split(command)]
        else:
            argv = [*medcurate, "serve", "--port", str(port), "--log-level", "warning"]
        # The log goes to a file: a pipe nobody reads would block the server once full.
        with (home / f"server-{n}.log").open("wb") as log:
            processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log))
        bases.append(f"http://127.0.0.1:{port}")
    for base, process in zip(bases, processes, strict=True):
        wait_ready(base, process)
    return bases, processes


def stop(processes: list[subprocess.Popen[bytes]], home: Path) -> None:
    """Stop the servers (gracefully, else after ten seconds for good); show the end of their logs."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for log in sorted(home.glob("server-*.log")):
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        if tail.strip():
            print(f"--- end of {log.name}:\n{tail}", file=sys.stderr)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Block until the server answers, or stop with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server at {base} exited; its log is in the temporary directory")
        try:
            if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"server at {base} did not start")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summary(tally: Tally, elapsed: float) -> dict[str, dict[str, float]]:
    """Per kind: p50/p95/p99 (ms), achieved requests/s and errors."""
    return {
        kind: {
            "p50_ms": round(percentile(tally.latencies[kind], 0.50), 1),
            "p95_ms": round(percentile(tally.latencies[kind], 0.95), 1),
            "p99_ms": round(percentile(tally.latencies[kind], 0.99), 1),
            "rps": round(len(tally.latencies[kind]) / elapsed, 1),
            "errors": tally.errors[kind],
        }
        for kind in MIX
    }


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table, goals marked."""
    lines = [
        f"{result['backend']}, {result['items']:,} items, {result['rate']} req/s open loop, "
        f"load {result['load']}",
        "",
        "| kind | p50 (ms) | p95 (ms) | p99 (ms) | req/s | errors | goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for kind, k in result["kinds"].items():
        goal = GOAL_WRITE_MS if kind in WRITE_KINDS else GOAL_READ_MS
        met = "met" if k["p95_ms"] < goal and not k["errors"] else f"missed (p95 < {goal:.0f} ms)"
        lines.append(
            f"| {kind} | {k['p50_ms']} | {k['p95_ms']} | {k['p99_ms']} | {k['rps']} | {k['errors']} | {met} |"
        )
    lines += ["", f"saturation (50 clients, closed loop): {result['saturation_rps']} req/s"]
    return "\n".join(lines)


def run_api(args: argparse.Namespace) -> int:
    """The ``api`` subcommand."""
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as stack:
        if args.store:
            home = Path(args.store)
            home.mkdir(parents=True, exist_ok=True)
        else:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="medcurate-scale-")))
        backend, store = open_store(args, home)
        processes: list[subprocess.Popen[bytes]] = []
        try:
            bases, processes = start_servers(home, backend.url, args.servers, args.serve_command)
            asyncio.run(
                open_loop(bases, store.token, plan(rng, store, 2 * EDITORS), rate=args.rate)
            )  # warm-up
            calls = plan(rng, store, int(args.rate * args.seconds))
            tally, elapsed = asyncio.run(open_loop(bases, store.token, calls, rate=args.rate))
            below = None
            if args.also_rate:
                calls = plan(rng, store, int(args.also_rate * args.seconds))
                below = summary(*asyncio.run(open_loop(bases, store.token, calls, rate=args.also_rate)))
            saturation = asyncio.run(
                closed_loop(bases, store.token, lambda: plan(rng, store, 1)[0], args.saturation_seconds)
            )
        finally:
            stop(processes, home)
            if not args.store:
                backend.drop()
    result = {
        "backend": args.backend,
        "items": args.items,
        "rate": args.rate,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "kinds": summary(tally, elapsed),
        "saturation_rps": round(saturation, 1),
    }
    if below is not None:
        result["also"] = {"rate": args.also_rate, "kinds": below}
    print(json.dumps(result) if args.json else table(result))
    if below is not None and not args.json:
        print("\n" + table(result | {"rate": args.also_rate, "kinds": below}).split("\n\nsaturation")[0])
    for kind, sample in tally.samples.items():
        print(f"first error of {kind}: {sample}", file=sys.stderr)
    return 1 if any(tally.errors.values()) else 0


def open_store(args: argparse.Namespace, home: Path) -> tuple[Backend, BuiltStore]:
    """The store to play against: the one kept in ``--store`` when it was built there, else a new one.

    A kept store (``store-BACKEND-ITEMS.json`` in the folder says where it is and its words) saves
    the build (minutes at 100,000 items) on every run after the first; the writes of earlier runs
    stay in it, which changes nothing a run measures.
    """
    kept = home / f"store-{args.backend}-{args.items}.json"
    if args.store and kept.is_file():
        saved = json.loads(kept.read_text(encoding="utf-8"))
        print(f"reusing the store of {kept}", file=sys.stderr)
        return Backend(**saved["backend"]), stored(saved["store"])
    backend = make_backend(args.backend, home)
    started = time.perf_counter()
    store = build_store(backend, args.items)
    print(f"built {args.items:,} items in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.store:
        saved = {"backend": dataclasses.asdict(backend), "store": dataclasses.asdict(store)}
        kept.write_text(json.dumps(saved, default=str), encoding="utf-8")
    return backend, store


def stored(fields: dict[str, Any]) -> BuiltStore:
    """A ``BuiltStore`` read back from ``store.json``."""
    return BuiltStore(
        **fields
        | {
            "newest": datetime.fromisoformat(fields["newest"]),
            "oldest": datetime.fromisoformat(fields["oldest"]),
            "rare_words": tuple(fields["rare_words"]),
            "common_words": tuple(fields["common_words"]),
        }
    )


def run_cpu(args: argparse.Namespace) -> int:
    """The ``cpu`` subcommand: CPU-ms per request of each kind, in-process (``bench/_scale_cpu.py``)."""
    from _scale_cpu import cpu_per_kind, profile_kind

    home = Path(args.store)
    home.mkdir(parents=True, exist_ok=True)
    backend, store = open_store(args, home)
    if args.profile:
        print(profile_kind(backend.url, home, store, args.profile))
        return 0
    kinds = cpu_per_kind(backend.url, home, store, list(MIX), per_kind=args.requests, against=args.against)
    result = {
        "backend": args.backend,
        "items": args.items,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "kinds": kinds,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.backend}, {args.items:,} items, {args.requests} requests per kind, load {result['load']}\n")
    if args.against:
        print(f"against: a second server importing {args.against}, the same requests alternated\n")
        print("| kind | server CPU-ms | database CPU-ms | against: server | against: database | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for kind, k in kinds.items():
            print(f"| {kind} | {k['server_cpu_ms']} | {k['db_cpu_ms']} | {k['against_server_cpu_ms']} "
                  f"| {k['against_db_cpu_ms']} | {k['errors']} |")  # fmt: skip
        return 1 if any(k["errors"] for k in kinds.values()) else 0
    print("| kind | server CPU-ms | database CPU-ms | sequential p50 (ms) | errors |")
    print("|---|---:|---:|---:|---:|")
    for kind, k in kinds.items():
        print(f"| {kind} | {k['server_cpu_ms']} | {k['db_cpu_ms']} | {k['wall_p50_ms']} | {k['errors']} |")
    return 1 if any(k["errors"] for k in kinds.values()) else 0


def run_ingest(argv: list[str]) -> int:
    """The ``ingest`` subcommand: ``bench/scale_ingest.py`` with the remaining arguments."""
    script = Path(__file__).resolve().parent / "scale_ingest.py"
    if not script.is_file():
        print("bench/scale_ingest.py is not on this branch yet", file=sys.stderr)
        return 2
    sys.argv = [str(script), *argv]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the subcommand and run it."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ingest"]:
        return run_ingest(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ingest", help="ingestion workers: bench/scale_ingest.py")
    api = commands.add_parser("api", help="the API under 50 editors")
    api.add_argument("--items", type=int, default=100_000)
    api.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    api.add_argument("--rate", type=float, default=100.0, help="requests per second, all editors together")
    api.add_argument("--seconds", type=float, default=30.0, help="length of the open-loop run")
    api.add_argument("--also-rate", type=float, help="a second open-loop run at this rate (below saturation)")
    api.add_argument("--saturation-seconds", type=float, default=15.0)
    api.add_argument("--servers", type=int, default=2, help="medcurate serve processes, one port each")
    api.add_argument("--serve-command", help="one server command instead, e.g. 'medcurate --home {home} "
                     "serve --port {port} --workers 2'")  # fmt: skip
    api.add_argument("--store", help="keep the store in this folder and reuse it on later runs "
                     "(a SQLite file, or the name of a kept PostgreSQL database)")  # fmt: skip
    api.add_argument("--seed", type=int, default=7)
    api.add_argument("--json", action="store_true")
    cpu = commands.add_parser("cpu", help="CPU-ms per request of each kind, in one process")
    cpu.add_argument("--items", type=int, default=100_000)
    cpu.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    cpu.add_argument("--store", required=True, help="the folder of a kept store (built there when absent)")
    cpu.add_argument("--requests", type=int, default=40, help="requests of each kind")
    cpu.add_argument("--profile", choices=list(MIX), help="print a profile of this kind instead")
    cpu.add_argument(
        "--against",
        metavar="SRC",
        help="also a server importing medcurate from SRC (another checkout's src), the same requests "
        "alternated: before and after in the same minutes",
    )
    cpu.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return run_cpu(args) if args.command == "cpu" else run_api(args)


if __name__ == "__main__":
    raise SystemExit(main())
