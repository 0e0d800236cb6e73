"""``medcurate extract PATH|URL``: run the EXTRACT stage on one page, a folder of pages, stdin or a URL.

A file (``.html``, ``.htm``, or either gzip'd) or ``-`` (stdin) prints one result, as Rich tables for
a person or as one JSON object with ``--json``. A folder prints JSON Lines, one object per page with
``source`` set to the file name; a page that fails becomes ``{"source": ..., "error": ...}`` and the
command exits 1 after the others. An http(s) URL is fetched by ``medcurate.ingest.fetch.fetch_url``.
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medcurate.cli.shared import console, fail, print_json
from medcurate.errors import MedcurateError

if TYPE_CHECKING:
    from medcurate.extract import Extraction, PageInput

PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
TEXT_PREVIEW_CHARS = 1500


def _read_page_file(path: Path) -> bytes:
    """The bytes of a saved page, gunzipped when it is gzip'd (by name or by its magic number)."""
    raw = path.read_bytes()
    if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MedcurateError(f"{path.name} is not a valid gzip file: {exc}", stage="extract") from exc
    return raw


def _page_files(folder: Path) -> list[Path]:
    """The saved pages in a folder, by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(PAGE_SUFFIXES))


def _fetch(url: str) -> PageInput:
    """Fetch a URL with the FETCH stage, imported lazily so that files work without it."""
    from medcurate.extract import PageInput

    try:
        from medcurate.ingest.fetch import fetch_url
    except ImportError:
        fail("fetching URLs is not available in this build; save the page and pass the file", code=2)
    page = fetch_url(url)
    if page.kind != "html":
        raise MedcurateError(f"{url} is a {page.kind} document, not an HTML page", stage="extract", url=url)
    return PageInput(html=page.body or page.text, url=page.final_url, content_type=page.content_type)


def _record(extraction: Extraction, source: str | None) -> dict[str, Any]:
    """The JSON object for one result, with its source first."""
    data = extraction.as_dict()
    return {"source": source, **data} if source is not None else data


def _show(extraction: Extraction, source: str) -> None:
    """Print one result for a person."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, title=escape(source), title_justify="left", box=None, padding=(0, 1))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    rows = {
        "title": extraction.title,
        "url": extraction.url,
        "canonical": extraction.canonical_url,
        "site": extraction.site_name,
        "brand": extraction.brand,
        "date": extraction.date,
        "authors": ", ".join(extraction.authors),
        "language": extraction.language,
        "image": extraction.image,
        "favicon": extraction.favicon,
        "description": extraction.description,
        "meta tags": f"{len(extraction.html_meta)} ({len(extraction.open_graph)} og, "
        f"{len(extraction.twitter)} twitter)",
        "text": f"{len(extraction.text.split())} words",
    }
    # page text may hold "[...]", which Rich would read as markup: it is escaped or passed as Text
    for name, value in rows.items():
        table.add_row(name, escape(str(value)) if value else "[dim]-[/]")
    console().print(table)
    brief = Text(extraction.brief_html) if extraction.brief_html else Text("(empty)", style="dim")
    console().print(Panel(brief, title="brief_html", title_align="left"))
    preview = extraction.text[:TEXT_PREVIEW_CHARS]
    if len(extraction.text) > TEXT_PREVIEW_CHARS:
        preview += "…"
    body = Text(preview) if preview else Text("(no article text)", style="dim")
    console().print(Panel(body, title="text", title_align="left"))


def _extract_folder(folder: Path, url: str | None) -> None:
    """Print one JSON line per page in the folder; exit 1 if any failed."""
    from medcurate.extract import PageInput, extract

    files = _page_files(folder)
    if not files:
        fail(f"{folder} holds no .html or .html.gz files")
    failed = 0
    for path in files:
        try:
            record = _record(extract(PageInput(html=_read_page_file(path), url=url)), path.name)
        except MedcurateError as exc:
            failed += 1
            record = {"source": path.name, "error": str(exc)}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    if failed:
        raise typer.Exit(1)


def extract_command(
    source: Annotated[
        str,
        typer.Argument(help="An .html or .html.gz file, a folder of them, '-' for stdin, or an http(s) URL."),
    ],
    url: Annotated[
        str | None, typer.Option("--url", help="The page's address, for absolute links and the brand.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Extract the article text, brief and metadata of a page."""
    from medcurate.extract import PageInput, extract

    try:
        if source.startswith(("http://", "https://")):
            page = _fetch(source)
            if url:
                page = PageInput(html=page.html, url=url, content_type=page.content_type)
        elif source == "-":
            page = PageInput(html=sys.stdin.buffer.read(), url=url)
        else:
            path = Path(source)
            if path.is_dir():
                _extract_folder(path, url)
                return
            if not path.is_file():
                fail(f"no such file or folder: {source}")
            page = PageInput(html=_read_page_file(path), url=url)
        extraction = extract(page)
    except MedcurateError as exc:
        fail(str(exc))
    label = "stdin" if source == "-" else source
    if as_json:
        print_json(
            _record(extraction, None if source.startswith(("http://", "https://")) else Path(label).name)
        )
    else:
        _show(extraction, label)


def register(app: typer.Typer) -> None:
    """Attach ``extract`` to the root app."""
    app.command("extract")(extract_command)
