"""Benchmark the static site at scale: medcurate against Hugo on the same synthetic items, same run.

For each size (10,000 and 100,000 items by default; ``--items 1000000`` for the million) it fills
a SQLite store with N synthetic items (news-variant front matter, a 2-4 paragraph HTML brief, 3 of
40 topics, 200 source brands, 2 communities, one alias each) by bulk SQL, published, then measures:

* cold builds: ``medcurate --home HOME site build --json OUT`` (the installed script, a new
  process) and ``hugo`` (Debian's package) on the tree ``export_hugo(..., with_layout=True)``
  writes for the same items, up to 100,000 items; the tools take turns (``--repeat`` rounds,
  the median reported): wall clock, CPU (user + system) and peak resident memory of all the
  build's processes (their resident memory summed, sampled from ``/proc``: ``TreeSampler``), and
  the files written;
* medcurate's rebuilds, each a new process: nothing changed, then one item retitled (an editor's
  save), ``--repeat`` times each: the process's wall clock and the build's own time
  (``BuildReport.seconds``: the build without Python's start-up and imports).

Writing each tool's input is not timed, nor is removing the output: each round builds into new
directories, removed together after the last measurement. The store, the build state and the output live on
``--work-dir``, by default ``/var/tmp`` (a disk): on a RAM file system (``/dev/shm``) every page of
the SQLite files a process reads or maps is shared memory and counts in its resident memory, so
the peak would measure the files' size rather than the build.

Run::

    .venv/bin/python bench/site.py                                  # 10,000 and 100,000 items
    .venv/bin/python bench/site.py --items 1000000 --work-dir /var/tmp/medcurate-bench \
        --store-dir /var/tmp/medcurate-bench                        # the million, its store kept
    .venv/bin/python bench/site.py --sizes 2000 --repeat 1          # quick
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert

from medcurate.config import load_config
from medcurate.frontmatter import detect_variant
from medcurate.models import CuratedItem, ItemState, Variant, content_revision
from medcurate.store.db import Database, open_database
from medcurate.store.models import ItemRecord
from medcurate.store.repository import find_item, item_from_record, save_item

if TYPE_CHECKING:
    import random

WORDS = " ".join(
    [
        "hospital patient care data security network cloud device clinician record telehealth monitoring",
        "ransomware privacy interoperability workflow outcome payer provider analytics platform imaging",
        "genomics pharmacy nurse physician burnout staffing budget compliance vendor integration portal",
    ]
).split()
TOPICS = [f"Healthcare IT News: Topic {chr(65 + n // 26)}{chr(97 + n % 26)}" for n in range(30)] + [
    f"KLAS: Area {chr(97 + n)}" for n in range(10)
]
COMMUNITIES = [
    ("/news/", "News"),
    ("/communities/chronic-care-management/curated-content/", "Chronic Care Management (CCM)"),
]
HUGO_LIMIT = 100_000  # Hugo is compared up to this size
# Past 37,000 items the synthetic dates (97 minutes apart from 2020) run into the future, which Hugo
# leaves out unless told otherwise: without --buildFuture it built 86,410 files of 100,000 items.
HUGO_FLAGS = ("--buildFuture", "--quiet")
INSERT_BATCH = 5000
SEARCH_INSERT_TRIGGER = "items_fts_insert"  # the full-text index's, on SQLite


def _sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + "."


def synthetic_items(count: int, seed: int = 7) -> Iterator[CuratedItem]:
    """``count`` reproducible items that look like the news variant of the seeds, one at a time."""
    import random

    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(count):
        title = f"{_sentence(rng, 7)[:-1]} {n}"
        brand = f"source{rng.randrange(200)}.example.com"
        base_path, community = COMMUNITIES[n % len(COMMUNITIES)]
        paragraphs = [_sentence(rng, rng.randint(20, 40)) for _ in range(rng.randint(2, 4))]
        slug = f"item-{n}-{title.split()[0].lower()}"
        front_matter = {
            "aliases": f"/news/alias-{slug}",
            "archetype": "curated-content",
            "author": ["Bench Curator"],
            "basePath": base_path,
            "categories": rng.sample(TOPICS, 3),
            "date": (start + timedelta(minutes=97 * n)).isoformat().replace("+00:00", "Z"),
            "description": paragraphs[0][:200],
            "identifier": community,
            "layOut": "single",
            "link": {"brand": brand, "href": f"https://{brand}/articles/{slug}"},
            "mdName": f"bench-{n:07d}",
            "slug": slug,
            "title": title,
        }
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        yield CuratedItem(front_matter=front_matter, body=body, variant=Variant.NEWS_2022)


def store_url(home: Path) -> str:
    """The SQLite database of the benchmark's medcurate data directory."""
    return f"sqlite:///{home / 'medcurate.db'}"


def fill_store(count: int, home: Path) -> None:
    """``count`` synthetic items in a new store under ``home``, published, by bulk inserts.

    The full-text index's insert trigger is set aside while the rows go in and the index is then
    made in one statement (the one its migration runs over existing rows): row by row, the index
    merges its segments again on every batch and a million items take hours instead of minutes.
    """
    database = open_database(store_url(home))
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    trigger = _set_aside_search_trigger(database)

    def flush() -> None:
        with database.engine.begin() as connection:
            connection.execute(insert(ItemRecord), rows)
        rows.clear()

    for number, item in enumerate(synthetic_items(count), start=1):
        variant = detect_variant(item.front_matter).value
        rows.append(
            {
                "id": number,
                "md_name": item.md_name,
                "url": item.url,
                "url_key": None,
                "title": item.title,
                "state": ItemState.PUBLISHED.value,
                "variant": variant,
                "community": None,
                "brand": item.brand,
                "published_at": item.published,
                "front_matter": dict(item.front_matter),
                "body": item.body,
                "revision": content_revision(variant, dict(item.front_matter), item.body),
                "featured_image": None,
                "text": "",
                "source_path": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(rows) == INSERT_BATCH:
            flush()
    if rows:
        flush()
    if trigger is not None:
        with database.engine.begin() as connection:
            connection.exec_driver_sql(_search_backfill())
            connection.exec_driver_sql(trigger)
    database.dispose()


def _set_aside_search_trigger(database: Database) -> str | None:
    """Drop SQLite's full-text insert trigger; the statement that makes it again (None: no trigger)."""
    if database.engine.dialect.name != "sqlite":
        return None
    with database.engine.begin() as connection:
        found = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (SEARCH_INSERT_TRIGGER,)
        ).scalar()
        if found is not None:
            connection.exec_driver_sql(f"DROP TRIGGER {SEARCH_INSERT_TRIGGER}")
    return found


def _search_backfill() -> str:
    """The full-text migration's statement that indexes every row already in ``items``."""
    migration = importlib.import_module("medcurate.migrations.versions.0002_full_text_search")
    statement: str = migration.SQLITE_UPGRADE[-1]
    assert statement.startswith("INSERT INTO items_fts"), statement
    return statement


def retitle(home: Path, md_name: str, title: str) -> None:
    """Give a stored item another title, as an editor's save does."""
    database = open_database(store_url(home))
    with database.session() as session:
        record = find_item(session, md_name=md_name)
        assert record is not None
        item = item_from_record(record).updated({"title": title})
        save_item(session, item=item, md_name=md_name, url_key=None)
    database.dispose()


@dataclass(frozen=True)
class Run:
    """One process run to its end: wall and CPU seconds, peak resident memory (MB), its output.

    ``peak_mb`` is the largest sum of resident memory over the process and its descendants seen by
    sampling ``/proc`` (or ``wait4``'s ``ru_maxrss`` of the process when that is larger: a peak
    shorter than the sampling interval, unless it is the benchmark's own peak passed on to the
    child, ``measured``); ``anon_mb`` is the anonymous part of that sum at its peak
    (the heap, not files the process maps).
    """

    seconds: float
    cpu: float
    peak_mb: float
    anon_mb: float
    stdout: str


SAMPLE_SECONDS = 0.05  # how often the memory of a measured process tree is read


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from the kernel's list of each task's children."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except OSError:
            continue  # gone meanwhile
    return found


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident and anonymous resident kB summed over ``pid``'s process tree (0s once it is gone)."""
    resident = anonymous = 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        resident += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anonymous += int(line.split()[1])
        except OSError:
            continue
    return resident, anonymous


class TreeSampler(threading.Thread):
    """Reads a process tree's memory every ``SAMPLE_SECONDS`` until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = (0, 0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            sample = tree_memory(self.pid)
            if sample[0] > self.peak[0]:
                self.peak = sample


def measured(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command``: its wall clock, CPU time (its children's too) and peak RSS of its process tree."""
    # A child started from this process reports this process's own peak as its ``ru_maxrss`` when
    # that is larger than its own (Linux keeps the peak of the memory an exec replaces), and this
    # process grows to hundreds of MB when it fills a store: such a figure is not the build's.
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        sampler = TreeSampler(process.pid)
        sampler.start()
        # The sampler reads /proc/PID until the process is reaped: wait for its exit without reaping.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        sampler.done.set()
        sampler.join()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        if process.returncode != 0:
            raise SystemExit(f"{command[0]} failed:\n{stdout[-2000:]}\n{err.read().decode()[-2000:]}")
    resident, anonymous = sampler.peak
    peak = max(resident, usage.ru_maxrss if usage.ru_maxrss > inherited else 0)
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak / 1024, anonymous / 1024, stdout)


def site_build_command(home: Path, out: Path) -> list[str]:
    """``medcurate site build`` on the data directory ``home``, its report printed as JSON."""
    script = Path(sys.executable).with_name("medcurate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "medcurate"]
    return [*command, "--home", str(home), "site", "build", "--json", str(out)]


def store_environment() -> dict[str, str]:
    """This process's environment without a database URL, so that ``--home`` names the store."""
    return {k: v for k, v in os.environ.items() if k != "MEDCURATE_DATABASE_URL"}


def count_files(root: Path) -> int:
    """The files below ``root``."""
    return sum(len(files) for _, _, files in os.walk(root))


def _progress(label: str, run: Run, files: int | None = None) -> None:
    """A measurement as soon as it is made, on stderr (a long run shows its figures as it goes)."""
    counted = f", {files:,} files" if files is not None else ""
    figures = (
        f"{run.seconds:.1f} s, CPU {run.cpu:.1f} s, peak {run.peak_mb:,.0f} MB"
        f" (anonymous {run.anon_mb:,.0f} MB){counted}"
    )
    print(f"  {label}: {figures}", file=sys.stderr)
    sys.stderr.flush()


def _median_run(runs: list[Run]) -> Run:
    middle = statistics.median_low([r.seconds for r in runs])
    return next(r for r in runs if r.seconds == middle)


def _write_hugo_input(items: int, hugo_site: Path) -> None:
    """Hugo's input for the same items (not timed); one already complete there is used again."""
    done = hugo_site / ".complete"
    if done.exists():
        print(f"  Hugo's input of {items:,} items in {hugo_site}: used again", file=sys.stderr)
        return
    from medcurate.publish.hugo import export_hugo

    shutil.rmtree(hugo_site, ignore_errors=True)
    export_hugo(list(synthetic_items(items)), hugo_site, config=load_config(None), with_layout=True)
    done.touch()


def bench_size(items: int, work: Path, repeat: int, with_hugo: bool, stores: Path | None = None) -> list[str]:
    """Cold builds of both tools, then medcurate's rebuilds: the report's lines.

    With ``stores``, the store of ``items`` items is kept there (``store-N``), and Hugo's input
    beside it (``hugo-N``); ones already there are used again instead of being written anew (the
    million's fill takes the better part of an hour, Hugo's 100,000 files several minutes).
    """
    home = stores / f"store-{items}" if stores else work / "home"
    started = time.perf_counter()
    if (home / "medcurate.db").exists():
        print(f"  store of {items:,} items in {home}: used again", file=sys.stderr)
    else:
        fill_store(items, home)
        print(f"  store of {items:,} items filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    env = store_environment()
    hugo = shutil.which("hugo") if with_hugo else None
    hugo_site = stores / f"hugo-{items}" if stores else work / "hugo"
    if hugo:
        _write_hugo_input(items, hugo_site)
    cold: dict[str, list[Run]] = {"medcurate": [], "hugo": []}
    files: dict[str, int] = {}
    # Each round builds into new directories; all are removed with the work directory once the
    # timing is done. On a file system that hesitates to reuse inodes freed moments ago (ext4
    # without a journal, as on this project's VM: ``recently_deleted`` in its inode allocator), a
    # build that starts right after tens of thousands of files were removed allocates each of its
    # own inodes past them, and the tool that ran first after a removal paid for it (measured:
    # docs/benchmarks.md, "Issue 16: 10,000 items").
    # The tools take turns, and which goes first alternates round by round (A B, B A, A B...): a
    # slowdown that fades during the run (the file system's, above) falls on both alike.
    for round_ in range(repeat):
        out = work / f"medcurate-{round_}"
        public = work / f"public-{round_}"
        runs: list[tuple[str, list[str], Path, dict[str, str] | None]] = [
            ("medcurate", site_build_command(home, out), out, env)
        ]
        if hugo:
            hugo_run = [hugo, "--source", str(hugo_site), "--destination", str(public), *HUGO_FLAGS]
            runs.append(("hugo", hugo_run, public, None))
        for tool, command, output, environment in runs if round_ % 2 == 0 else runs[::-1]:
            cold[tool].append(measured(command, environment))
            files[tool] = count_files(output)
            _progress(f"{tool} cold", cold[tool][-1], files[tool])
    lines = []
    ours = _median_run(cold["medcurate"])
    theirs = _median_run(cold["hugo"]) if cold["hugo"] else None
    for name, run in (("medcurate", ours), ("hugo", theirs)):
        if run is None:
            continue
        speed = f"{theirs.seconds / run.seconds:.2f}x" if theirs else "-"
        lines.append(
            f"| {items:,} | {name} | {run.seconds:.1f} | {run.cpu:.1f} | {run.peak_mb:,.0f} "
            f"| {run.anon_mb:,.0f} | {files[name]:,} | {speed} |"
        )
    lines += _rebuilds(home, work / f"medcurate-{repeat - 1}", env, items, repeat)
    return lines


def _rebuilds(home: Path, out: Path, env: dict[str, str], items: int, repeat: int) -> list[str]:
    """No-change and one-item rebuilds, each a new process: medians of ``repeat``."""
    command = site_build_command(home, out)
    noops = [measured(command, env) for _ in range(repeat)]
    _progress("nothing changed", noops[-1])
    assert all(json.loads(r.stdout)["written"] == 0 for r in noops), noops[-1].stdout
    ones = []
    key = f"bench-{items // 2:07d}"
    for round_ in range(repeat):
        # A title no earlier run gave it: a kept store (--store-dir) carries the last run's retitle.
        retitle(home, key, f"Retitled in round {round_} at {time.time_ns()}")
        ones.append(measured(command, env))
        _progress("one item changed", ones[-1])
    written = max(json.loads(r.stdout)["written"] for r in ones)
    note = f", {written} files written"
    lines = []
    for label, runs in (("nothing changed", noops), ("one item changed", ones)):
        run = _median_run(runs)
        build = statistics.median(json.loads(r.stdout)["seconds"] for r in runs)
        lines.append(
            f"- {items:,} items, {label}: build {build:.3f} s, process {run.seconds:.2f} s "
            f"(peak {run.peak_mb:,.0f} MB, CPU {run.cpu:.2f} s){note if runs is ones else ''}"
        )
    return lines


def compile_medcurate() -> None:
    """Byte-compile medcurate's modules, as installing the package does."""
    import compileall

    import medcurate

    compileall.compile_dir(Path(medcurate.__file__).parent, quiet=1)


def _default_work_dir() -> Path | None:
    disk = Path("/var/tmp")
    return disk if disk.is_dir() and os.access(disk, os.W_OK) else None


def main() -> None:
    """Run the benchmark for each size and print a Markdown table and the rebuild figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--items", type=int, default=None, help="one size alone (e.g. 1000000)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="rounds per size (default: 3, 1 past 10,000)"
    )
    parser.add_argument("--no-hugo", action="store_true", help="medcurate alone")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to build (default: /var/tmp)")
    parser.add_argument(
        "--store-dir", type=Path, default=None, help="keep the filled stores here, and use them again"
    )
    args = parser.parse_args()
    compile_medcurate()
    sizes = [args.items] if args.items else args.sizes
    with os.popen("uptime") as uptime:
        print(f"load: {uptime.read().strip()}")
    print(
        "| items | tool | cold build (s) | CPU (s) | peak RSS (MB) | of it anonymous (MB) | files | vs Hugo |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    rebuilds = []
    for items in sizes:
        repeat = args.repeat or (3 if items <= 10_000 else 1)
        work = Path(
            tempfile.mkdtemp(prefix="medcurate-bench-site-", dir=args.work_dir or _default_work_dir())
        )
        try:
            with_hugo = not args.no_hugo and items <= HUGO_LIMIT
            lines = bench_size(items, work, repeat, with_hugo, args.store_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for line in lines:
            if line.startswith("-"):
                rebuilds.append(line)
            else:
                print(line)
        sys.stdout.flush()
    print()
    for line in rebuilds:
        print(line)
    with os.popen("uptime") as uptime:
        print(f"load: {uptime.read().strip()}")


if __name__ == "__main__":
    main()
