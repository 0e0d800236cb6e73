"""Backup and restore of a SQLite site, against the standard tools doing the same work.

1. Build a site in a temporary directory: ``--items`` synthetic items (``bench/api.py``'s builder).
2. Time ``medcurate backup`` (SQLite's online backup API, SHA-256 of every file, a ``.tar.gz``) and
   ``medcurate restore`` (unpack, check every checksum, put the database in place), each run
   ``--runs`` times.
3. Time the peer: ``sqlite3 DB ".backup COPY"`` then ``tar czf`` (the same snapshot and archive,
   without checksums), and ``tar xzf`` to unpack it.
4. Print medians and the ratios; ``--write`` puts them into ``## Backup and restore`` of
   ``docs/benchmarks.md``.

Usage: ``python bench/backup.py [--items 100000] [--runs 3] [--write]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from api import build_site
from medcurate.ops.backup import write_backup
from medcurate.ops.restore import restore_backup
from medcurate.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Backup and restore"


def _timed(action: object) -> float:
    started = time.perf_counter()
    assert callable(action)
    action()
    return time.perf_counter() - started


def _peer_backup(database: Path, scratch: Path) -> Path:
    copy = scratch / "peer" / "medcurate.db"
    copy.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sqlite3", str(database), f".backup {copy}"], check=True)
    archive = scratch / "peer.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(copy.parent), "."], check=True)
    return archive


def _one_run(settings: Settings, scratch: Path) -> dict[str, float]:
    """Seconds of each step, once."""
    scratch.mkdir()
    archive = scratch / "site.tar.gz"
    target = Settings(home=scratch / "restored")
    unpacked = scratch / "peer-restored"
    unpacked.mkdir()
    figures = {
        "backup": _timed(lambda: write_backup(settings, archive)),
        "restore": _timed(lambda: restore_backup(target, archive)),
        "peer_backup": _timed(lambda: _peer_backup(settings.home / "medcurate.db", scratch)),
        "peer_restore": _timed(
            lambda: subprocess.run(
                ["tar", "xzf", str(scratch / "peer.tar.gz"), "-C", str(unpacked)], check=True
            )
        ),
    }
    shutil.rmtree(scratch)
    return figures


def run(items: int, runs: int) -> dict[str, float]:
    """Median seconds of each step, and the database's size in MB."""
    with tempfile.TemporaryDirectory(prefix="medcurate-bench-backup-") as tmp:
        root = Path(tmp)
        home = root / "site"
        home.mkdir()
        build_site(home, items)
        settings = Settings(home=home)
        measured = [_one_run(settings, root / f"run{n}") for n in range(runs)]
        figures = {name: statistics.median(m[name] for m in measured) for name in measured[0]}
        figures["mb"] = (home / "medcurate.db").stat().st_size / 1e6
        return figures


def markdown(figures: dict[str, float], *, items: int, runs: int, load: str) -> str:
    """The section for docs/benchmarks.md."""
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/backup.py --items {items} --runs {runs}`: a SQLite site of {items:,} items "
            f"({figures['mb']:.0f} MB database); medians of {runs} runs; load average {load}.",
            "",
            "| step | medcurate | `sqlite3 .backup` + `tar` | ratio |",
            "|---|---|---|---|",
            f"| backup | {figures['backup']:.2f} s | {figures['peer_backup']:.2f} s | "
            f"{figures['backup'] / figures['peer_backup']:.2f} |",
            f"| restore | {figures['restore']:.2f} s | {figures['peer_restore']:.2f} s (`tar xzf`) | "
            f"{figures['restore'] / figures['peer_restore']:.2f} |",
            "",
            "medcurate's backup also hashes every file (SHA-256) and its restore checks every hash before it "
            "writes; the peer does neither.",
            "",
        ]
    )


def write_section(text: str, path: Path = DOCS) -> None:
    """Replace (or append) this benchmark's section of ``docs/benchmarks.md``."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = (
        pattern.sub(lambda _m: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    )
    path.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    figures = run(args.items, args.runs)
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "n/a"
    section = markdown(figures, items=args.items, runs=args.runs, load=load)
    print(section)
    if args.write:
        write_section(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
