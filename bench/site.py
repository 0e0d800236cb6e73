"""Benchmark the static site build: medcurate against Hugo and Pelican on the same synthetic items.

For each size it builds N synthetic items (news-variant front matter, an HTML brief, topics, brands,
two communities) three ways, in the same run and on the same machine, each tool as its own process
and timed the same way (wall clock of the whole process, start-up included, and its CPU time, user
plus system, its worker processes included):

* medcurate: the command a site operator runs, ``medcurate site build OUT`` (the installed script),
  on a SQLite store that holds the items, published; cold, then again with nothing changed, then
  after an editor's save changed one item's title (each a new process, so no in-memory cache helps);
* Hugo: ``export_hugo(..., with_layout=True)`` then ``hugo`` (Debian's package), cold;
* Pelican: the same items as Pelican Markdown (``Title:``/``Date:``... headers), ``pelican`` cold.

Writing each tool's input (the store, the Hugo tree, the Pelican Markdown) is not timed. Each cold
build runs ``--repeat`` times into an emptied directory (by default five times up to 2,000 items,
where a build takes about a second and the VM's drift weighs most, and three times beyond), the
tools taking turns, and the median is reported. It reports item pages per second for each, and the
incremental rebuild times: in a new process, and in a long-running one (the web app's case:
``publish_site`` called again in one process).

Every tool runs from byte-compiled modules: pip compiled Pelican's when it installed it, and the
benchmark compiles medcurate's (``compile_medcurate``), because an editable install in an environment
with ``PYTHONDONTWRITEBYTECODE`` set (as on the benchmark VM) would compile them from source in every
run, 35 ms that an installed medcurate never spends.

The tools write on a RAM file system (``/dev/shm``) when there is one, so that the figures measure
the tools rather than the disk: on the benchmark VM the time of creating the same files on its disk
varied tenfold from one run to the next. ``--work-dir`` picks another place.

Run::

    .venv/bin/python bench/site.py                 # 1,000 and 10,000 items
    .venv/bin/python bench/site.py --sizes 1000    # quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from medcurate.publish.site.viewcache import view_cache_path

from medcurate.config import load_config
from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.publish.service import publish_site
from medcurate.settings import Settings
from medcurate.store.db import open_database
from medcurate.store.repository import save_item

if TYPE_CHECKING:
    import random
    import subprocess
    from collections.abc import Callable


WORDS = " ".join(
    [
        "hospital patient care data security network cloud device clinician record telehealth monitoring",
        "ransomware privacy interoperability workflow outcome payer provider analytics platform imaging",
        "genomics pharmacy nurse physician burnout staffing budget compliance vendor integration portal",
    ]
).split()
# Letters, not numbers: Pelican's page 2 of tag "topic-2" would overwrite tag "topic-22".
TOPICS = [f"Healthcare IT News: Topic {chr(65 + n // 26)}{chr(97 + n % 26)}" for n in range(30)] + [
    f"KLAS: Area {chr(97 + n)}" for n in range(10)
]
COMMUNITIES = [
    ("/news/", "News"),
    ("/communities/chronic-care-management/curated-content/", "Chronic Care Management (CCM)"),
]


def _sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + "."


def synthetic_items(count: int, seed: int = 7) -> list[CuratedItem]:
    """``count`` reproducible items that look like the news variant of the seeds."""
    import random

    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    items = []
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
            "mdName": f"bench-{n:06d}",
            "slug": slug,
            "title": title,
        }
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        items.append(CuratedItem(front_matter=front_matter, body=body, variant=Variant.NEWS_2022))
    return items


def pelican_markdown(item: CuratedItem) -> str:
    """The item as a Pelican Markdown article (brief HTML passes through Markdown untouched)."""
    fields = item.fields
    headers = [
        f"Title: {item.title}",
        f"Date: {item.published:%Y-%m-%d %H:%M}" if item.published else "",
        f"Category: {fields.identifier}",
        f"Tags: {', '.join(item.topics)}",
        f"Slug: {fields.slug}",
        f"Authors: {', '.join(item.authors)}",
        f"Summary: {fields.description}",
    ]
    return "\n".join(h for h in headers if h) + "\n\n" + item.body + "\n"


PELICAN_CONF = """
AUTHOR = "bench"
SITENAME = "Bench"
SITEURL = "https://example.org"
FEED_DOMAIN = SITEURL
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 20
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
TAG_FEED_ATOM = "feeds/tag-{slug}.atom.xml"
RELATIVE_URLS = True
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""


@dataclass(frozen=True)
class Timing:
    """One tool's build of N items, timed as a process: wall clock and CPU (user + system)."""

    tool: str
    items: int
    seconds: float
    cpu: float
    files: int

    @property
    def rate(self) -> float:
        """Item pages per second of wall clock."""
        return self.items / self.seconds


def _count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a command to its end: wall seconds, CPU seconds of it and its children, the result."""
    import subprocess

    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds, _children_cpu() - cpu, result


def _medians(runs: list[tuple[float, float, subprocess.CompletedProcess[str]]]) -> tuple[float, float]:
    """The median wall and CPU seconds of timed runs."""
    import statistics

    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def store_url(home: Path) -> str:
    """The SQLite database of the benchmark's medcurate data directory."""
    return f"sqlite:///{home / 'medcurate.db'}"


def fill_store(items: list[CuratedItem], home: Path) -> None:
    """The items in a new store under ``home``, published, as the import of their files leaves them."""
    database = open_database(store_url(home))
    with database.session() as session:
        for item in items:
            md_name = item.md_name or item.title
            save_item(
                session, item=item, md_name=md_name, url_key=None, state=ItemState.PUBLISHED, touch=False
            )
    database.dispose()


def retitle(home: Path, item: CuratedItem, title: str) -> None:
    """Give a stored item another title, as an editor's save does."""
    database = open_database(store_url(home))
    with database.session() as session:
        save_item(
            session, item=item.updated({"title": title}), md_name=item.md_name or item.title, url_key=None
        )
    database.dispose()


def site_build_command(home: Path, workers: int) -> list[str]:
    """``medcurate site build`` on the data directory ``home``, its report printed as JSON.

    The installed ``medcurate`` script, as Pelican runs as its ``pelican`` script; ``python -m
    medcurate`` where the script is missing.
    """
    script = Path(sys.executable).with_name("medcurate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "medcurate"]
    return [
        *command,
        "--home",
        str(home),
        "site",
        "build",
        "--json",
        "--workers",
        str(workers),
    ]


def store_environment() -> dict[str, str]:
    """This process's environment without a database URL, so that ``--home`` names the store."""
    return {k: v for k, v in os.environ.items() if k != "MEDCURATE_DATABASE_URL"}


@dataclass(frozen=True)
class Rebuilds:
    """medcurate's rebuilds: nothing changed and one item changed, in new processes and in a warm one."""

    noop: float
    noop_cpu: float
    one: float
    one_cpu: float
    written: int
    warm_noop: float
    warm_one: float


@dataclass(frozen=True)
class Tool:
    """A tool ready to build: its name, the command of a cold build into a directory, and that directory."""

    name: str
    command: Callable[[Path], list[str]]
    output: Path
    env: dict[str, str] | None = None


def prepare_medcurate(items: list[CuratedItem], work: Path, workers: int) -> Tool:
    """medcurate's input (a store holding the items, published) and its cold-build command."""
    home = work / "home"
    fill_store(items, home)
    command = site_build_command(home, workers)

    def cold_build(output: Path) -> list[str]:
        view_cache_path(output).unlink(missing_ok=True)  # cold: no views from an earlier run either
        return [*command, str(output)]

    name = "medcurate" if workers in (0, 1) else f"medcurate, {workers} workers"
    return Tool(name, cold_build, work / "medcurate", store_environment())


def prepare_hugo(items: list[CuratedItem], work: Path) -> Tool | None:
    """Hugo's input (the exported tree with its layout) and its cold-build command."""
    import shutil

    from medcurate.publish.hugo import export_hugo

    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    site = work / "hugo"
    export_hugo(items, site, config=load_config(None), with_layout=True)
    return Tool(
        "hugo",
        lambda output: [hugo, "--source", str(site), "--destination", str(output), "--quiet"],
        site / "public",
    )


def prepare_pelican(items: list[CuratedItem], work: Path) -> Tool | None:
    """Pelican's input (the items as Markdown articles) and its cold-build command."""
    pelican = Path(sys.executable).with_name("pelican")
    if not pelican.exists():
        return None
    root = work / "pelican"
    content = root / "content"
    content.mkdir(parents=True)
    for n, item in enumerate(items):
        (content / f"{n:06d}.md").write_text(pelican_markdown(item), encoding="utf-8")
    settings = root / "pelicanconf.py"
    settings.write_text(PELICAN_CONF, encoding="utf-8")
    return Tool(
        "pelican",
        lambda output: [str(pelican), str(content), "-o", str(output), "-s", str(settings), "-q"],
        root / "output",
    )


def cold_builds(tools: list[Tool], items: int, repeat: int) -> list[Timing]:
    """Each tool's median cold build: the tools take turns, so that a slow spell of the machine
    falls on all of them rather than on one."""
    import shutil

    runs: dict[str, list[tuple[float, float, subprocess.CompletedProcess[str]]]] = {t.name: [] for t in tools}
    for _ in range(repeat):
        for tool in tools:
            shutil.rmtree(tool.output, ignore_errors=True)
            runs[tool.name].append(_timed(tool.command(tool.output), env=tool.env))
    timings = []
    for tool in tools:
        seconds, cpu = _medians(runs[tool.name])
        timings.append(Timing(tool.name, items, seconds, cpu, _count_files(tool.output)))
    return timings


def medcurate_rebuilds(
    items: list[CuratedItem], tool: Tool, work: Path, workers: int, repeat: int
) -> Rebuilds:
    """After a cold build: no-change and one-item rebuilds, each a new process; then warm rebuilds."""
    home = work / "home"
    out = tool.output
    rebuild = [*site_build_command(home, workers), str(out)]
    noops = [_timed(rebuild, env=tool.env) for _ in range(repeat)]
    assert all(json.loads(run[2].stdout)["written"] == 0 for run in noops), noops[-1][2].stdout
    # One item changed, ``repeat`` times (each time the same item gets another title): the median.
    middle = items[len(items) // 2]
    ones = []
    for round_ in range(repeat):
        retitle(home, middle, f"{middle.title} (update {round_})")
        ones.append(_timed(rebuild, env=tool.env))
    written = max(json.loads(run[2].stdout)["written"] for run in ones)
    noop, noop_cpu = _medians(noops)
    one, one_cpu = _medians(ones)
    # A long-running process (the web app): the first call reads the view cache, the second finds
    # its views in memory.
    settings = Settings(home=home, database_url=None)
    database = open_database(store_url(home))
    started = time.perf_counter()
    assert publish_site(database, settings, out_dir=out, workers=workers).written == 0
    warm_noop = time.perf_counter() - started
    retitle(home, middle, f"{middle.title} (in a warm process)")
    started = time.perf_counter()
    publish_site(database, settings, out_dir=out, workers=workers)
    warm_one = time.perf_counter() - started
    database.dispose()
    return Rebuilds(noop, noop_cpu, one, one_cpu, written, warm_noop, warm_one)


def repeats_for(items: int) -> int:
    """Cold builds per tool by default: more of the short ones, whose medians the VM's drift moves most."""
    return 5 if items <= 2000 else 3


def compile_medcurate() -> None:
    """Byte-compile medcurate's modules, as installing the package does (see the docstring)."""
    import compileall

    import medcurate

    compileall.compile_dir(Path(medcurate.__file__).parent, quiet=1)


def _default_work_dir() -> Path | None:
    """A RAM file system when there is one: it measures the tools, not the disk (see the docstring)."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def main() -> None:
    """Run the benchmark for each size and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="cold builds per tool and size, the median reported (default: 5 up to 2,000 items, else 3)",
    )
    parser.add_argument("--no-pelican", action="store_true", help="skip Pelican (slow at 10,000 items)")
    parser.add_argument("--workers", type=int, default=0, help="medcurate render processes (0: automatic)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=_default_work_dir(),
        help="where the tools write (default: /dev/shm if there is one, else the temporary directory)",
    )
    args = parser.parse_args()
    compile_medcurate()
    print(f"Writing in {args.work_dir or 'the temporary directory'}")
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print("| items | tool | cold build (s) | CPU (s) | item pages/s | files | vs Pelican | vs Hugo |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    notes = []
    for size in args.sizes:
        repeat = args.repeat or repeats_for(size)
        items = synthetic_items(size)
        import tempfile

        with tempfile.TemporaryDirectory(prefix="medcurate-bench-", dir=args.work_dir) as tmp:
            work = Path(tmp)
            medcurate = prepare_medcurate(items, work, args.workers)
            others = [prepare_hugo(items, work), None if args.no_pelican else prepare_pelican(items, work)]
            tools = [medcurate, *(tool for tool in others if tool is not None)]
            # medcurate last, so that its rebuilds start from its own last cold build.
            timings = {t.tool: t for t in cold_builds([*tools[1:], medcurate], size, repeat)}
            rebuilds = medcurate_rebuilds(items, medcurate, work, args.workers, repeat)
        ours, hugo, pelican = timings[medcurate.name], timings.get("hugo"), timings.get("pelican")
        for timing in (ours, hugo, pelican):
            if timing is None:
                continue
            vs_pelican = f"{timing.rate / pelican.rate:.1f}x" if pelican else "-"
            vs_hugo = f"{timing.rate / hugo.rate:.2f}x" if hugo else "-"
            print(
                f"| {size:,} | {timing.tool} | {timing.seconds:.2f} | {timing.cpu:.2f} | {timing.rate:,.0f} "
                f"| {timing.files:,} | {vs_pelican} | {vs_hugo} |",
                flush=True,
            )
        notes.append(
            f"{size:,} items, medcurate rebuilds in a new process (medians of {repeat}): "
            f"nothing changed {rebuilds.noop:.2f} s "
            f"(CPU {rebuilds.noop_cpu:.2f} s, 0 files written); one item changed {rebuilds.one:.2f} s "
            f"(CPU {rebuilds.one_cpu:.2f} s, {rebuilds.written} files written). In a warm process: "
            f"nothing changed {rebuilds.warm_noop:.2f} s, one item changed {rebuilds.warm_one:.2f} s"
        )
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
