"""Ingestion at newsroom scale: many links through the API, 1, 2 and 4 queue workers, nothing lost.

1. Serve 300+ article pages on 127.0.0.1 (a tenth of them near-duplicates of others: the same
   body, another title and URL).
2. Create a PostgreSQL database of its own (from ``MEDCURATE_DATABASE_URL``, default the local
   server), an editor and an API token; start ``medcurate serve``.
3. Submit the links through ``POST /api/batches`` in overlapping batches of 50 (each link twice),
   start N ``medcurate worker --burst`` processes on a Redis queue of its own, and time them.
   drafts/s counts the items stored over the time from the first job's start to the last job's
   end (the job registry's timestamps): the workers' start-up (imports, the model) is left out,
   and reported beside it.
4. Audit the database: links lost (an entry not created/existing/duplicate), links stored twice,
   items whose front-matter ``id`` differs from their row id, and tracebacks in the workers' output.

Usage: ``.venv/bin/python bench/scale_ingest.py --workers 4 [--links 300] [--json]``; without
``--workers`` it runs 1, 2 and 4 in turn. The politeness delay is 0 (one local host serves every
page); suggestions use the static model unless ``--embedding minilm``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BATCH_SIZE = 50
NEAR_DUPLICATE_SHARE = 0.1
_STEMS = [
    "clinic",
    "nurse",
    "vendor",
    "audit",
    "budget",
    "network",
    "device",
    "patient",
    "server",
    "backup",
    "policy",
    "board",
    "insurer",
    "outage",
    "pharmacy",
    "imaging",
    "laboratory",
    "portal",
    "identity",
    "password",
    "firewall",
    "training",
    "drill",
    "regulator",
    "hospital",
    "surgeon",
    "ward",
    "triage",
    "record",
    "billing",
    "claim",
    "consent",
    "privacy",
    "breach",
    "vaccine",
    "trial",
    "dosage",
    "therapy",
]
_VOCABULARY = [stem + suffix for stem in _STEMS for suffix in ("", "s", "ing", "ed", "al", "ity")]


def article_pages(count: int, *, seed: int = 7) -> dict[str, bytes]:
    """``count`` article pages by path; about a tenth repeat another page's body under a new title."""
    rng = random.Random(seed)
    bodies: list[str] = []
    pages: ClassVar[dict[str, bytes]] = {}
    for n in range(count):
        if bodies and rng.random() < NEAR_DUPLICATE_SHARE:
            body = bodies[rng.randrange(len(bodies))]  # a near-duplicate: the same article elsewhere
        else:
            paragraphs = (" ".join(rng.choice(_VOCABULARY) for _ in range(60)) for _ in range(5))
            body = "".join(f"<p>{p.capitalize()}.</p>" for p in paragraphs)
            bodies.append(body)
        title = f"Story {n}: {rng.choice(_VOCABULARY)} {rng.choice(_VOCABULARY)} report"
        pages[f"/news/story-{n}"] = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='description' content='{title}, in brief.'></head><body><main><article>"
            f"<h1>{title}</h1>{body}</article></main></body></html>"
        ).encode()
    return pages


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = b"" if self.path == "/robots.txt" else self.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header(
            "Content-Type", "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8"
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def serve_pages(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve ``pages`` on 127.0.0.1; yields the base URL."""
    handler = type("Pages", (_Pages,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s; dropped at the end."""
    from sqlalchemy import create_engine, text

    name = f"medcurate_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def overlapping_batches(links: Sequence[str], size: int = BATCH_SIZE) -> list[list[str]]:
    """Every link twice: batches of ``size``, then the same links again shifted by half a batch."""
    first = [list(links[i : i + size]) for i in range(0, len(links), size)]
    shifted = list(links[size // 2 :]) + list(links[: size // 2])
    return first + [shifted[i : i + size] for i in range(0, len(shifted), size)]


def worker_env(
    home: Path, database_url: str, queue_url: str, queue_name: str, *, embedding: str = "static"
) -> dict[str, str]:
    """The environment of this run's server and workers (one local host: no politeness delay)."""
    return {
        **os.environ,
        "MEDCURATE_HOME": str(home),
        "MEDCURATE_DATABASE_URL": database_url,
        "MEDCURATE_QUEUE_URL": queue_url,
        "MEDCURATE_QUEUE_NAME": queue_name,
        "MEDCURATE_ALLOWED_HOSTS": '["127.0.0.1"]',
        "MEDCURATE_HOST_DELAY": "0",
        "MEDCURATE_EMBEDDING": embedding,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def run_workers(count: int, env: dict[str, str], *, timeout: float) -> list[str]:
    """Run ``count`` ``medcurate worker --burst`` processes to the end; returns each one's output."""
    command = [sys.executable, "-m", "medcurate", "worker", "--burst"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=timeout)
        outputs.append(f"exit {process.returncode}\n{out}")
    return outputs


@dataclass(frozen=True)
class Audit:
    """What the database holds after a run."""

    items: int
    lost: int
    duplicates: int
    id_mismatches: int
    unfinished_entries: int
    busy_seconds: float


def audit(database_url: str, links: Sequence[str]) -> Audit:
    """Count lost links, links stored twice and front-matter ids that differ from row ids."""
    from sqlalchemy import func, select

    from medcurate.store.db import open_database
    from medcurate.store.models import BatchEntryRecord, ItemRecord, JobRecord

    database = open_database(database_url)
    try:
        with database.session() as session:
            rows = session.execute(select(ItemRecord.id, ItemRecord.url, ItemRecord.front_matter)).all()
            first, last = session.execute(
                select(func.min(JobRecord.started_at), func.max(JobRecord.finished_at))
            ).one()
            unfinished = session.scalar(
                select(func.count(BatchEntryRecord.id)).where(
                    BatchEntryRecord.status.not_in(("created", "existing", "duplicate"))
                )
            )
    finally:
        database.dispose()
    by_url: dict[str, int] = {}
    for _, url, _ in rows:
        by_url[url] = by_url.get(url, 0) + 1
    return Audit(
        items=len(rows),
        lost=sum(1 for link in links if link not in by_url),
        duplicates=sum(count - 1 for count in by_url.values()),
        id_mismatches=sum(1 for item_id, _, front in rows if front.get("id") != item_id),
        unfinished_entries=int(unfinished or 0),
        busy_seconds=(last - first).total_seconds() if first and last else 0.0,
    )


def tracebacks(outputs: Sequence[str]) -> int:
    """How many Python tracebacks the processes printed."""
    return sum(len(re.findall(r"^Traceback \(most recent call last\)", out, re.M)) for out in outputs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], *, workers: int = 1) -> Iterator[str]:
    """``medcurate serve [--workers N]`` on a free port until the block ends; yields its base URL."""
    import httpx

    port = _free_port()
    command = [sys.executable, "-m", "medcurate", "serve", "--port", str(port), "--log-level", "warning"]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"medcurate serve exited with {process.returncode}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _editor_token(database_url: str) -> str:
    from medcurate.store.db import open_database
    from medcurate.users import Role, add_user, create_api_token

    database = open_database(database_url)
    try:
        with database.session() as session:
            add_user(
                session, username="bench", password="correct horse battery", role=Role.EDITOR, actor="bench"
            )
            _, secret = create_api_token(session, username="bench", name="bench", actor="bench")
    finally:
        database.dispose()
    return secret


def run(
    workers: int, links_count: int, *, admin_url: str, queue_url: str, embedding: str = "static"
) -> dict[str, Any]:
    """One measured run; returns the figures as the ``--json`` output gives them."""
    import httpx

    pages = article_pages(links_count)
    with serve_pages(pages) as base, postgres_database(admin_url) as database_url:
        links = [base + path for path in pages]
        with tempfile.TemporaryDirectory(prefix="medcurate-scale-") as home:
            queue_name = f"medcurate-scale-{uuid.uuid4().hex[:8]}"
            env = worker_env(Path(home), database_url, queue_url, queue_name, embedding=embedding)
            token = _editor_token(database_url)
            with running_server(env) as api:
                headers = {"Authorization": f"Bearer {token}"}
                for batch in overlapping_batches(links):
                    answer = httpx.post(
                        f"{api}/api/batches", json={"text": "\n".join(batch)}, headers=headers
                    )
                    answer.raise_for_status()
            started = time.monotonic()
            outputs = run_workers(workers, env, timeout=3600)
            elapsed = time.monotonic() - started
        found = audit(database_url, links)
    return {
        "workers": workers,
        "links": links_count,
        "drafts_per_s": round(found.items / found.busy_seconds, 2) if found.busy_seconds else 0.0,
        "busy_s": round(found.busy_seconds, 1),
        "wall_s": round(elapsed, 1),
        "lost": found.lost + found.unfinished_entries,
        "duplicates": found.duplicates,
        "id_mismatches": found.id_mismatches,
        "tracebacks": tracebacks(outputs),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a link was lost or stored twice, or an id differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, action="append", help="worker processes (default: 1, 2, 4)")
    parser.add_argument("--links", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    parser.add_argument(
        "--embedding", choices=("static", "minilm"), default="static", help="suggestion model"
    )
    args = parser.parse_args(argv)
    admin_url = os.environ.get("MEDCURATE_DATABASE_URL") or DEFAULT_ADMIN_URL
    queue_url = os.environ.get("MEDCURATE_QUEUE_URL") or DEFAULT_REDIS_URL
    failed = False
    for workers in args.workers or [1, 2, 4]:
        result = run(workers, args.links, admin_url=admin_url, queue_url=queue_url, embedding=args.embedding)
        failed = failed or any(result[k] for k in ("lost", "duplicates", "id_mismatches", "tracebacks"))
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{result['workers']} workers, {result['links']} links: {result['drafts_per_s']} drafts/s "
                f"({result['busy_s']} s from the first job's start to the last one's end; "
                f"{result['wall_s']} s with the workers' start-up), lost {result['lost']}, "
                f"duplicates {result['duplicates']}, "
                f"id mismatches {result['id_mismatches']}, tracebacks {result['tracebacks']}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
