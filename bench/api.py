"""Web API benchmark: list and search endpoints over 10,000 items, 50 concurrent clients.

1. Build a site in a temporary directory: 10,000 synthetic items (bulk-inserted rows with topics),
   an editor and an API token.
2. Start ``medcurate serve`` in a separate process on 127.0.0.1 and wait until it answers.
3. Run a bounded number of requests from 50 concurrent httpx async clients: paged lists with
   filters (``GET /api/items?state=...&offset=...``) and full-text searches (``GET /api/items?q=...``).
4. Report p50 / p95 latency, requests per second and errors; ``--write`` puts the figures into the
   ``## Web API`` section of ``docs/benchmarks.md``.

Usage: ``python bench/api.py [--items 10000] [--clients 50] [--requests 2000] [--write]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from medcurate.models import normalize_label
from medcurate.rules import derive_md_name
from medcurate.store.db import open_database
from medcurate.store.models import ItemRecord, ItemTopic
from medcurate.users import Role, add_user, create_api_token

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Web API"
WORDS = [
    "hospital",
    "ransomware",
    "telehealth",
    "interoperability",
    "radiology",
    "oncology",
    "cardiology",
    "nursing",
    "payer",
    "claims",
    "medicare",
    "medicaid",
    "cybersecurity",
    "breach",
    "patient",
    "portal",
    "wearable",
    "diabetes",
    "imaging",
    "genomics",
    "pharmacy",
    "workforce",
    "burnout",
    "analytics",
    "cloud",
    "vendor",
    "startup",
    "funding",
    "regulation",
    "privacy",
    "consent",
    "records",
]
BRANDS = [f"source{i}.example" for i in range(40)]
TOPICS = [f"Taxonomy {i // 10}: Topic {i}" for i in range(60)]
STATES = ["draft"] * 6 + ["approved", "published", "published", "rejected"]
SEARCH_TERMS = ["ransomware", "telehealth", "genomics", "medicare claims", "burnout", "zebra"]


@dataclass(frozen=True)
class Result:
    """Latencies of one kind of request."""

    name: str
    latencies: tuple[float, ...]
    errors: int
    seconds: float

    def percentile(self, q: float) -> float:
        """The q-quantile latency, in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return len(self.latencies) / self.seconds


def build_site(home: Path, count: int, seed: int = 11) -> str:
    """Fill a fresh database with ``count`` items and return an editor's API token."""
    rng = random.Random(seed)
    database = open_database(f"sqlite:///{home / 'medcurate.db'}")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with database.session() as session:
        for n in range(1, count + 1):
            brand = rng.choice(BRANDS)
            url = f"https://{brand}/articles/{n}"
            title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
            text = " ".join(rng.choice(WORDS) for _ in range(180))
            labels = rng.sample(TOPICS, 3)
            front_matter = {
                "title": title,
                "link": {"brand": brand, "href": url},
                "categories": labels,
                "layOut": "single",
                "id": n,
            }
            session.add(
                ItemRecord(
                    id=n,
                    md_name=derive_md_name(url),
                    url=url,
                    url_key=url,
                    title=title,
                    state=rng.choice(STATES),
                    variant="news-2022",
                    community="news",
                    brand=brand,
                    published_at=start + timedelta(hours=n),
                    front_matter=front_matter,
                    body=f"<p>{text[:600]}</p>",
                    text=text,
                    topics=[
                        ItemTopic(
                            label_key=normalize_label(label),
                            label=label,
                            position=i,
                            sort_at=start + timedelta(hours=n),
                        )
                        for i, label in enumerate(labels)
                    ],
                )
            )
            if n % 2000 == 0:
                session.flush()
        add_user(session, username="bench", password="bench-password", role=Role.EDITOR, actor="bench")
        _, token = create_api_token(session, username="bench", name="bench", actor="bench")
    database.dispose()
    return token


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``medcurate serve`` in its own process."""
    command = [
        sys.executable, "-c", "from medcurate.cli import main; main()",
        "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Block until the server answers, or fail with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def list_params(rng: random.Random, count: int) -> dict[str, str | int]:
    """A paged list with a filter, as the inbox asks for."""
    choice = rng.random()
    params: dict[str, str | int] = {"limit": 25, "offset": 25 * rng.randrange(0, 40)}
    if choice < 0.5:
        params["state"] = rng.choice(["draft", "published", "approved"])
    elif choice < 0.75:
        params["brand"] = rng.choice(BRANDS)
    else:
        params["topic"] = rng.choice(TOPICS)
    return params


async def run_kind(
    base: str, token: str, name: str, total: int, clients: int, make: object, seed: int
) -> Result:
    """``total`` requests from ``clients`` concurrent clients, each with its own connection pool."""
    rng = random.Random(seed)
    plans = [make(rng, i) for i in range(total)]  # type: ignore[operator]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict[str, str | int]] = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)

    async def client() -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
            while not queue.empty():
                params = queue.get_nowait()
                started = time.perf_counter()
                response = await http.get("/api/items", params=params)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "count" not in response.json():
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(name=name, latencies=tuple(latencies), errors=errors, seconds=time.perf_counter() - started)


def markdown(results: list[Result], *, items: int, clients: int) -> str:
    """The ``## Web API`` section."""
    lines = [
        SECTION,
        "",
        f"`python bench/api.py --write` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite, {datetime.now(UTC).date().isoformat()}. {items:,} items; the "
        "server (`medcurate serve`, one Uvicorn worker) in its own process on 127.0.0.1; "
        f"{clients} concurrent httpx async clients authenticated with an API token; "
        "`GET /api/items` pages of 25.",
        "",
        "| requests | count | p50 (ms) | p95 (ms) | requests/s | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {len(r.latencies)} | {r.percentile(0.5):.1f} | {r.percentile(0.95):.1f} "
            f"| {r.rps:.0f} | {r.errors} |"
        )
    lines += [
        "",
        "List: a filter on state, source or topic and a random page among the first 40; the composite "
        "index `(state, published_at, id)` serves the inbox's filter, order and page without a sort, "
        "topics load in one extra query per page (no N+1) and the count is one indexed query. Search: "
        "`q=` words looked up in the full-text index (`medcurate.store.search`: an FTS5 table kept by "
        "triggers on SQLite, a `tsvector` column with a GIN index on PostgreSQL) over title, description, "
        "body and text, best matches first (`bm25`), with the total count. The synthetic items draw on a "
        "32-word vocabulary, so every term but `zebra` matches nearly every item: each request ranks "
        "about 10,000 matches before taking its page of 25, the worst case for a ranked search. With no "
        "other filter the index alone picks the page; the count reads one row of `items` per match. "
        "Before the index (a `LIKE` scan of title, text and body, 2026-11-23): search p50 2,083 ms, "
        "p95 3,088 ms, 23 requests/s. With 50 clients on one worker, p50 is mostly queueing: "
        "1 / (requests/s) is the time the server spends on one request.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace (or append) the ``## Web API`` section of ``docs/benchmarks.md``."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = (
        pattern.sub(lambda _m: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    )
    path.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="per kind (list, search)")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medcurate-bench-api-") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        token = build_site(home, args.items)
        print(f"built {args.items} items in {time.perf_counter() - started:.1f} s")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_server(home, port)
        try:
            wait_ready(base, process)
            results = [
                asyncio.run(run_kind(base, token, "list (filtered, paged)", args.requests, args.clients,
                                     lambda rng, i: list_params(rng, i), seed=1)),
                asyncio.run(run_kind(base, token, "search (`q=`)", args.requests, args.clients,
                                     lambda rng, i: {"q": rng.choice(SEARCH_TERMS), "limit": 25}, seed=2)),
            ]  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=30)
    section = markdown(results, items=args.items, clients=args.clients)
    print(section)
    if args.write:
        write_section(section)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
