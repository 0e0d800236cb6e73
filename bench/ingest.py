"""End-to-end ingestion benchmark: drafts per second from saved pages, against trafilatura alone.

Runs ``medcurate.pipeline.ingest_entries`` on the pages of ``../shared/corpora/extraction-dev`` as a
directory of saved pages (the ``--html-dir`` path: extract, dedupe, draft, store in SQLite, suggest
when ``--suggest``), and ``trafilatura.extract`` alone on the same pages, in the same process, and
reports both rates and their ratio. The store is a fresh SQLite file in a temporary directory.

Usage: ``python bench/ingest.py [--suggest] [--embedding minilm|static] [--limit N] [--json]``
(``--embedding`` picks the suggestion encoder, as ``MEDCURATE_EMBEDDING`` does). Exits 0 with a
message when the corpus is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import trafilatura

from medcurate.ingest.sources import SourceEntry, SourceKind
from medcurate.pipeline import default_options, ingest_entries
from medcurate.settings import Settings
from medcurate.store.db import open_database

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "extraction-dev"


def load_entries(corpus: Path, limit: int | None) -> list[SourceEntry]:
    """The corpus pages as saved-page entries, with the URLs the ground truth gives."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    entries = []
    for path in sorted((corpus / "html").glob("*.html.gz"))[:limit]:
        key = path.name.removesuffix(".html.gz")
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        entries.append(
            SourceEntry(url=truth[key]["url"], kind=SourceKind.SAVED_PAGE, origin=str(path), html=html)
        )
    return entries


def time_trafilatura(entries: list[SourceEntry]) -> float:
    """Seconds for trafilatura alone to extract every page."""
    start = time.perf_counter()
    for entry in entries:
        trafilatura.extract(entry.html or "", url=entry.url)
    return time.perf_counter() - start


def time_medcurate(
    entries: list[SourceEntry], *, suggest: bool, embedding: str | None = None
) -> tuple[float, int]:
    """Seconds for medcurate to turn every page into a stored draft, and how many were created."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), database_url=None)
        if embedding:  # argparse checked the name
            settings = settings.model_copy(update={"embedding": embedding})
        options = replace(default_options(settings), suggest=suggest, download_images=False)
        # Imports, lazy tables and the model are one-off costs of a process, as for trafilatura's
        # warm-up pass: a throwaway batch pays them before the clock starts.
        warm = open_database(f"sqlite:///{Path(tmp) / 'warm-up.db'}")
        ingest_entries(warm, entries[:5], settings=settings, actor="bench", options=options)
        warm.dispose()
        database = open_database(settings.database)
        start = time.perf_counter()
        report = ingest_entries(database, entries, settings=settings, actor="bench", options=options)
        seconds = time.perf_counter() - start
        database.dispose()
    return seconds, report.counts.get("created", 0) + report.counts.get("duplicate", 0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--suggest", action="store_true", help="also compute and store suggestions")
    parser.add_argument(
        "--embedding", choices=("minilm", "static"), default=None, help="the suggestion encoder"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.corpus / "ground-truth.json").exists():
        print(f"skipped: {args.corpus} is absent (the shared corpora sit beside the repo)")
        return 0
    entries = load_entries(args.corpus, args.limit)
    time_trafilatura(entries[:5])  # warm imports and lazy tables for both
    trafilatura_seconds = time_trafilatura(entries)
    medcurate_seconds, drafts = time_medcurate(entries, suggest=args.suggest, embedding=args.embedding)
    embedding = args.embedding or Settings().embedding
    result = {
        "pages": len(entries),
        "drafts": drafts,
        "suggest": args.suggest,
        "embedding": embedding if args.suggest else None,
        "trafilatura_pages_per_second": round(len(entries) / trafilatura_seconds, 2),
        "medcurate_drafts_per_second": round(drafts / medcurate_seconds, 2),
        "ratio": round((drafts / medcurate_seconds) / (len(entries) / trafilatura_seconds), 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print("| system | pages | per second |\n|---|---|---|")
    print(f"| trafilatura.extract alone | {len(entries)} | {result['trafilatura_pages_per_second']} |")
    label = "medcurate ingest --html-dir" + (f" (with suggestions, {embedding})" if args.suggest else "")
    print(f"| {label} | {drafts} drafts | {result['medcurate_drafts_per_second']} |")
    print(f"\nratio medcurate / trafilatura: {result['ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
