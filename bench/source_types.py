"""Source-type benchmark: per-class precision and recall of the classifier on a labelled set of pages.

The labelled set is two parts: the extraction corpus's real pages (``../shared/corpora/extraction-dev``,
labelled by key in ``tests/fixtures/intel/extraction_dev_labels.toml``; skipped when absent) and the
synthetic pages of ``tests/fixtures/intel/source_pages.yaml``, rendered here to HTML. Each page goes
through the EXTRACT stage, ``page_signals`` and ``classify``, as a fetched page does during ingestion.

``--timing`` also reports what the ingestion hook adds to a page: the median time of the EXTRACT stage
and, in the same run on the same pages, of ``annotated`` (identifiers and classification).

Usage: ``python bench/source_types.py [--json] [--corpus DIR] [--errors] [--timing]``.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import statistics
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medcurate.extract import PageInput, extract
from medcurate.frontmatter import parse_document
from medcurate.intel.service import annotated
from medcurate.intel.signals import page_signals
from medcurate.intel.source_type import SourceType, Verdict, classify

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "intel"
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "extraction-dev"


@dataclass(frozen=True, slots=True)
class LabelledPage:
    """One page of the labelled set: where it comes from, its HTML, URL and true source type."""

    key: str
    origin: str
    url: str
    html: str
    label: SourceType


def render_page(spec: dict[str, Any]) -> str:
    """The HTML of one synthetic page: head with meta tags and JSON-LD, an article with its body."""
    esc = html.escape
    head = [f"<title>{esc(spec['title'])}</title>"]
    for name, content in (spec.get("meta") or {}).items():
        attribute = "property" if name.startswith(("og:", "article:")) else "name"
        head.append(f'<meta {attribute}="{esc(name)}" content="{esc(str(content))}">')
    if spec.get("jsonld"):
        document = {"@context": "https://schema.org", **spec["jsonld"]}
        head.append(f'<script type="application/ld+json">{json.dumps(document)}</script>')
    body = [f"<h1>{esc(spec['title'])}</h1>"]
    if spec.get("byline"):
        body.append(f'<p class="byline">By <span class="author">{esc(spec["byline"])}</span></p>')
    for line in spec["body"].strip().splitlines():
        text = line.strip()
        if text.startswith("## "):
            body.append(f"<h2>{esc(text[3:])}</h2>")
        elif text:
            body.append(f"<p>{esc(text)}</p>")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{"".join(head)}</head>'
        f'<body><header><nav><a href="/">Home</a></nav></header><main><article>{"".join(body)}'
        "</article></main><footer><p>Footer text.</p></footer></body></html>"
    )


def synthetic_pages(path: Path = FIXTURES / "source_pages.yaml") -> Iterator[LabelledPage]:
    """The synthetic fixtures, rendered."""
    for spec in yaml.safe_load(path.read_text(encoding="utf-8")):
        yield LabelledPage(spec["id"], "fixture", spec["url"], render_page(spec), SourceType(spec["label"]))


def corpus_pages(corpus: Path = DEFAULT_CORPUS) -> Iterator[LabelledPage]:
    """The labelled pages of the extraction corpus; none when it is absent."""
    truth_file = corpus / "ground-truth.json"
    if not truth_file.exists():
        return
    labels = tomllib.loads((FIXTURES / "extraction_dev_labels.toml").read_text(encoding="utf-8"))["labels"]
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    for key in sorted(truth):
        label = labels.get(key[:12])
        if label is None:
            continue
        raw = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
        yield LabelledPage(
            key[:12], "extraction-dev", truth[key]["url"], raw.decode("utf-8", "replace"), SourceType(label)
        )


def classify_page(page: LabelledPage) -> Verdict:
    """Extract the page and classify it, as ingestion does."""
    extraction = extract(PageInput(html=page.html, url=page.url))
    return classify(page_signals(extraction))


def per_class(pairs: list[tuple[SourceType, SourceType]]) -> dict[str, dict[str, float | int]]:
    """Precision, recall and support of each class from (true, predicted) pairs."""
    rows: dict[str, dict[str, float | int]] = {}
    for kind in SourceType:
        true_positive = sum(1 for t, p in pairs if t is kind and p is kind)
        predicted = sum(1 for _, p in pairs if p is kind)
        support = sum(1 for t, _ in pairs if t is kind)
        rows[kind.value] = {
            "precision": round(true_positive / predicted, 3) if predicted else 0.0,
            "recall": round(true_positive / support, 3) if support else 0.0,
            "support": support,
        }
    return rows


def timing(pages: list[LabelledPage], repeat: int = 3) -> dict[str, float]:
    """Median milliseconds per page of extraction and of the intel annotation, best of ``repeat`` passes."""
    item = parse_document("---\ntitle: draft\n---\n")
    extract_ms: list[float] = []
    annotate_ms: list[float] = []
    for _ in range(repeat):
        extract_pass: list[float] = []
        annotate_pass: list[float] = []
        for page in pages:
            start = time.perf_counter()
            extraction = extract(PageInput(html=page.html, url=page.url))
            middle = time.perf_counter()
            annotated(item, page_signals(extraction))
            end = time.perf_counter()
            extract_pass.append((middle - start) * 1000)
            annotate_pass.append((end - middle) * 1000)
        extract_ms.append(statistics.median(extract_pass))
        annotate_ms.append(statistics.median(annotate_pass))
    best_extract, best_annotate = min(extract_ms), min(annotate_ms)
    return {
        "extract_ms": round(best_extract, 2),
        "annotate_ms": round(best_annotate, 2),
        "ratio": round(best_annotate / best_extract, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the misclassified pages")
    parser.add_argument("--timing", action="store_true", help="time extraction and annotation per page")
    args = parser.parse_args(argv)
    pages = [*corpus_pages(args.corpus), *synthetic_pages()]
    pairs: list[tuple[SourceType, SourceType]] = []
    errors: list[str] = []
    for page in pages:
        verdict = classify_page(page)
        pairs.append((page.label, verdict.source_type))
        if verdict.source_type is not page.label:
            errors.append(
                f"{page.origin}/{page.key}: {page.label} -> {verdict.source_type} ({verdict.reason})"
            )
    rows = per_class(pairs)
    accuracy = round(sum(t is p for t, p in pairs) / len(pairs), 3)
    origins = Counter(page.origin for page in pages)
    if args.json:
        print(json.dumps({"per_class": rows, "accuracy": accuracy, "n": len(pairs), "origins": origins}))
    else:
        parts = ", ".join(f"{n} {o}" for o, n in sorted(origins.items()))
        print(f"{len(pairs)} pages ({parts}); accuracy {accuracy}")
        print("| class | precision | recall | support |\n|---|---|---|---|")
        for name, row in rows.items():
            print(f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {row['support']} |")
    if args.errors:
        print("\n".join(errors), file=sys.stderr)
    if args.timing:
        figures = timing(pages)
        print(
            f"median per page: extract {figures['extract_ms']} ms, annotate {figures['annotate_ms']} ms "
            f"({figures['ratio']:.1%} of extract)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
