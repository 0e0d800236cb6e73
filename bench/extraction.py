"""Extraction benchmark: medcurate's EXTRACT stage against trafilatura alone, in the same run.

Reads the article-extraction benchmark pages in ``../shared/corpora/extraction-dev`` (gzip'd HTML and
``ground-truth.json``), extracts each page's text with both systems, and scores them with word
4-gram shingles, micro-averaged (``bench/_scoring.py``). Throughput is pages per second of the whole
call, the best of two timed passes after an untimed one (imports, compiled patterns and dateparser's
lazy tables are one-off costs; the machine is shared, so the best pass is the least disturbed): for
medcurate that includes metadata, meta maps, images and the brief; for trafilatura it is
``trafilatura.extract(html)`` with its default settings, text only.

Usage: ``python bench/extraction.py [--json] [--corpus DIR] [--limit N]``. Exits 0 with a message when
the corpus is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    from bench._scoring import Score, micro_score, page_counts
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    from _scoring import Score, micro_score, page_counts  # type: ignore[no-redef]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "extraction-dev"
TIMED_PASSES = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchPage:
    """One benchmark page: its key, raw HTML bytes, URL and true article body."""

    key: str
    html: bytes
    url: str
    truth: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemResult:
    """Scores and speed of one system over the corpus."""

    name: str
    precision: float
    recall: float
    f1: float
    pages: int
    seconds: float
    pages_per_second: float


def load_corpus(corpus: Path = DEFAULT_CORPUS, limit: int | None = None) -> list[BenchPage]:
    """Read the corpus pages and their ground truth; an empty list when the corpus is absent."""
    truth_file = corpus / "ground-truth.json"
    if not truth_file.is_file():
        return []
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        path = corpus / "html" / f"{key}.html.gz"
        if path.is_file():
            pages.append(
                BenchPage(
                    key=key,
                    html=gzip.decompress(path.read_bytes()),
                    url=truth[key].get("url", ""),
                    truth=truth[key]["articleBody"],
                )
            )
    return pages


def medcurate_text(page: BenchPage) -> str:
    """Article text by medcurate's extract (the whole stage runs, metadata included)."""
    from medcurate.errors import ExtractionError
    from medcurate.extract import PageInput, extract

    try:
        return extract(PageInput(html=page.html, url=page.url or None)).text
    except ExtractionError:
        return ""


def trafilatura_text(page: BenchPage) -> str:
    """Article text by ``trafilatura.extract`` with its default settings."""
    import trafilatura

    return trafilatura.extract(page.html) or ""


def run_system(name: str, system: Callable[[BenchPage], str], pages: list[BenchPage]) -> SystemResult:
    """Extract every page with ``system``, time it, and score the texts."""
    texts = [system(page) for page in pages]  # untimed warm-up pass
    seconds = float("inf")
    for _ in range(TIMED_PASSES):
        started = time.perf_counter()
        for page in pages:
            system(page)
        seconds = min(seconds, time.perf_counter() - started)
    counts = [page_counts(text, page.truth) for text, page in zip(texts, pages, strict=True)]
    score: Score = micro_score(counts)
    return SystemResult(
        name=name,
        precision=score.precision,
        recall=score.recall,
        f1=score.f1,
        pages=score.pages,
        seconds=seconds,
        pages_per_second=len(pages) / seconds if seconds else 0.0,
    )


def run_benchmark(pages: list[BenchPage]) -> dict[str, object]:
    """Run both systems on ``pages`` and return their results and medcurate/trafilatura ratios."""
    ours = run_system("medcurate", medcurate_text, pages)
    theirs = run_system("trafilatura", trafilatura_text, pages)
    return {
        "pages": len(pages),
        "systems": [asdict(ours), asdict(theirs)],
        "f1_ratio": ours.f1 / theirs.f1 if theirs.f1 else 0.0,
        "speed_ratio": ours.pages_per_second / theirs.pages_per_second if theirs.pages_per_second else 0.0,
    }


def markdown_table(report: dict[str, object]) -> str:
    """Render a report as a Markdown table."""
    systems = report["systems"]
    assert isinstance(systems, list)
    lines = [
        "| system | precision | recall | F1 | pages/s |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {s['name']} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | "
            f"{s['pages_per_second']:.1f} |"
            for s in systems
        ),
        "",
        f"{report['pages']} pages; medcurate/trafilatura: F1 x{report['f1_ratio']:.4f}, "
        f"speed x{report['speed_ratio']:.2f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the extraction-dev folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = parser.parse_args(argv)
    pages = load_corpus(args.corpus, args.limit)
    if not pages:
        print(f"extraction benchmark skipped: no corpus at {args.corpus}")
        return 0
    report = run_benchmark(pages)
    print(json.dumps(report, indent=2) if args.json else markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT / "src"))
    raise SystemExit(main())
