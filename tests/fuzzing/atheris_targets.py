"""Coverage-guided fuzzing with Atheris (libFuzzer) of the readers of hostile input: ``make fuzz``.

Run one target for a while: ``python tests/fuzzing/atheris_targets.py frontmatter -max_total_time=60``
(targets: frontmatter, feed, opml, bookmarks, url). A crash is any exception other than medcurate's
own error types; libFuzzer saves the input that caused it (``crash-*``). The Hypothesis suite
(``tests/hardening/test_fuzz.py``) checks the same properties in ``make test``; this one searches deeper.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["medcurate"]):
    from medcurate.errors import MedcurateError
    from medcurate.frontmatter import parse_document, render_document
    from medcurate.ingest.resolve import canonical_key, normalize_url, strip_tracking
    from medcurate.ingest.sources import parse_bookmarks, parse_feed, parse_opml


def _frontmatter(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        item = parse_document(text, path="fuzz.md")
    except MedcurateError:
        return
    again = parse_document(render_document(item), path="fuzz.md")
    assert dict(again.front_matter) == dict(item.front_matter) and again.body == item.body


def _reader(read: Callable[..., object]) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        with contextlib.suppress(MedcurateError):
            read(data, origin="fuzz")

    return target


def _url(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    with contextlib.suppress(MedcurateError):
        canonical_key(normalize_url(strip_tracking(text)))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "frontmatter": _frontmatter,
    "feed": _reader(parse_feed),
    "opml": _reader(parse_opml),
    "bookmarks": _reader(parse_bookmarks),
    "url": _url,
}


def main() -> None:
    """Fuzz the target named first on the command line; the other arguments go to libFuzzer."""
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: atheris_targets.py {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
