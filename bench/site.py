"""Benchmark the static site build: medcurate against Hugo and Pelican on the same synthetic items.

For each size it builds N synthetic items (news-variant front matter, an HTML brief, topics, brands,
two communities) three ways, in the same run and on the same machine:

* medcurate: ``build_site`` cold, then a rebuild with nothing changed, then with one item changed;
* Hugo: ``export_hugo(..., with_layout=True)`` then ``hugo`` (Debian's package), cold;
* Pelican: the same items as Pelican Markdown (``Title:``/``Date:``... headers), ``pelican`` cold.

It reports item pages per second for each, and the incremental rebuild times. Run::

    .venv/bin/python bench/site.py                 # 1,000 and 10,000 items
    .venv/bin/python bench/site.py --sizes 1000    # quick
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from medcurate.config import load_config
from medcurate.models import CuratedItem, Variant
from medcurate.publish.hugo import export_hugo
from medcurate.publish.site import SiteOptions, build_site

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
    """One tool's cold build of N items."""

    tool: str
    items: int
    seconds: float
    files: int

    @property
    def rate(self) -> float:
        """Item pages per second."""
        return self.items / self.seconds


def _count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def bench_medcurate(items: list[CuratedItem], work: Path) -> tuple[Timing, float, float, int]:
    """Cold build, no-change rebuild, one-item rebuild (seconds, and files written by the last)."""
    config = load_config(None)
    out = work / "medcurate"
    started = time.perf_counter()
    build_site(items, out, config=config, options=SiteOptions())
    cold = time.perf_counter() - started
    started = time.perf_counter()
    nothing = build_site(items, out, config=config, options=SiteOptions())
    noop = time.perf_counter() - started
    assert nothing.written == 0, nothing
    middle = len(items) // 2
    changed = list(items)
    changed[middle] = items[middle].updated({"title": items[middle].title + " (updated)"})
    started = time.perf_counter()
    one = build_site(changed, out, config=config, options=SiteOptions())
    incremental = time.perf_counter() - started
    return Timing("medcurate", len(items), cold, _count_files(out)), noop, incremental, one.written


def bench_hugo(items: list[CuratedItem], work: Path) -> Timing | None:
    """Hugo's cold build of the exported tree (export time not counted)."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    site = work / "hugo"
    export_hugo(items, site, config=load_config(None), with_layout=True)
    started = time.perf_counter()
    subprocess.run([hugo, "--source", str(site), "--quiet"], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return Timing("hugo", len(items), seconds, _count_files(site / "public"))


def bench_pelican(items: list[CuratedItem], work: Path) -> Timing | None:
    """Pelican's cold build of the same items as Markdown articles."""
    pelican = Path(sys.executable).with_name("pelican")
    if not pelican.exists():
        return None
    root = work / "pelican"
    content = root / "content"
    content.mkdir(parents=True)
    for n, item in enumerate(items):
        (content / f"{n:06d}.md").write_text(pelican_markdown(item), encoding="utf-8")
    (root / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    started = time.perf_counter()
    result = subprocess.run(
        [str(pelican), str(content), "-o", str(root / "output"), "-s", str(root / "pelicanconf.py"), "-q"],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"pelican failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    return Timing("pelican", len(items), seconds, _count_files(root / "output"))


def main() -> None:
    """Run the benchmark for each size and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--no-pelican", action="store_true", help="skip Pelican (slow at 10,000 items)")
    args = parser.parse_args()
    print("| items | tool | cold build (s) | item pages/s | files | vs Pelican | vs Hugo |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    notes = []
    for size in args.sizes:
        items = synthetic_items(size)
        with tempfile.TemporaryDirectory(prefix="medcurate-bench-") as tmp:
            work = Path(tmp)
            ours, noop, incremental, written = bench_medcurate(items, work)
            hugo = bench_hugo(items, work)
            pelican = None if args.no_pelican else bench_pelican(items, work)
        for timing in (ours, hugo, pelican):
            if timing is None:
                continue
            vs_pelican = f"{timing.rate / pelican.rate:.1f}x" if pelican else "-"
            vs_hugo = f"{timing.rate / hugo.rate:.2f}x" if hugo else "-"
            print(
                f"| {size:,} | {timing.tool} | {timing.seconds:.2f} | {timing.rate:,.0f} | {timing.files:,} "
                f"| {vs_pelican} | {vs_hugo} |",
                flush=True,
            )
        notes.append(
            f"{size:,} items: medcurate rebuild with nothing changed {noop:.2f} s (0 files written); "
            f"one item changed {incremental:.2f} s ({written} files written)"
        )
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
