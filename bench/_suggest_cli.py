"""What the suggestion benchmarks share: where the dev corpus lies, and their ``--encoders`` option."""

from __future__ import annotations

import argparse
from pathlib import Path

from medcurate.suggest.encoders import ENCODER_NAMES

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "curated-posts-dev"
CORPUS_ABSENT = f"{CORPUS} is absent: the shared corpora sit beside the repo only on the team's machines"


def add_encoders_option(parser: argparse.ArgumentParser, default: str) -> None:
    """The ``--encoders`` option: a comma-separated list of ``ENCODER_NAMES``."""
    parser.add_argument(
        "--encoders", default=default, help="comma-separated, of: " + ", ".join(ENCODER_NAMES)
    )


def chosen_encoders(parser: argparse.ArgumentParser, value: str) -> list[str]:
    """The encoders ``--encoders`` names, in its order; an unknown one ends the run with a usage error."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if unknown := set(names) - set(ENCODER_NAMES):
        parser.error(f"unknown encoders: {', '.join(sorted(unknown))}")
    return names
