"""The cost of the front-matter reader's guards: ``load_yaml`` (bounded) against ``yaml.safe_load``.

Reads the seeds and the curated-posts corpus from ``../shared`` (skipped when absent), repeated to
about 2,000 documents, and parses each front matter with the loader named on the command line:

    .venv/bin/python bench/frontmatter_guard.py bounded   # BoundedLoader + path-name checks
    .venv/bin/python bench/frontmatter_guard.py safe      # PyYAML's safe_load alone

Compare the two whole runs (start-up included) with any timer, say ``time``; the difference is the
guards' cost per import of 2,000 files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from medcurate.frontmatter import iter_documents, load_yaml, split_document
from medcurate.validation import path_name_problems

SHARED = Path(__file__).resolve().parents[2] / "shared"
DOCUMENTS = 2_000


def main() -> None:
    """Parse about 2,000 front matters with the loader named in ``sys.argv[1]``."""
    folders = [SHARED / "seeds", SHARED / "corpora" / "curated-posts-dev"]
    if not all(f.is_dir() for f in folders):
        sys.exit("../shared is absent: nothing to measure")
    texts = [split_document(p.read_text(encoding="utf-8"))[0] for p in iter_documents(folders)]
    texts = (texts * (DOCUMENTS // len(texts) + 1))[:DOCUMENTS]
    bounded = sys.argv[1:] == ["bounded"]
    for text in texts:
        if bounded:
            path_name_problems(load_yaml(text))
        else:
            yaml.safe_load(text)


if __name__ == "__main__":
    main()
