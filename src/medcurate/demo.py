"""``make demo``: the main job end to end, offline, on the embedded default (SQLite, in-process, MiniLM).

1. A fresh data directory (``demo-home/``) with the bundled configuration.
2. History: the seeds (and the dev corpus) from ``../shared`` when they are there, imported.
3. A local HTTP server on 127.0.0.1 serving the sample news site shipped in ``data/demo/site``.
4. Ingestion of the sample articles, their feed and a robots-disallowed page through the real
   fetcher, extractor, de-duplicator and suggestion engine.
5. The drafts with their suggested topics; two of them approved with the top suggestions accepted.
6. Publishing: the seed-format export, the Hugo tree, and medcurate's own static site, whose
   base URL (``[site] base_url``) is the address the demo serves it on (``--port`` + 1).
7. The editors' web app on http://127.0.0.1:8000 with a demo editor account, the built site beside
   it, and the sample news site still up, its article links printed, so that a newcomer can submit
   them on the app's submit page.

The sample pages carry ``{{BASE}}`` where an absolute URL belongs; the demo server puts its own
address there, so the pages look like any site on the web to the fetcher.
"""

from __future__ import annotations

import argparse
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from medcurate.config import default_config_text
from medcurate.errors import plain_reason
from medcurate.importer import import_paths
from medcurate.models import ItemState
from medcurate.pipeline import BatchReport, default_options, ingest_urls
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.repository import ItemQuery, list_items
from medcurate.suggest import strength

DEMO_EDITOR = ("editor", "demo-editor-password")
DEMO_PER_HOST_DELAY = 0.2
console = Console()


def demo_site_root() -> Path:
    """The sample site's files, shipped in the package."""
    return Path(str(resources.files("medcurate").joinpath("data/demo/site")))


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder without a log line a request: the demo prints its own story."""

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class _DemoHandler(_QuietHandler):
    """Serves the sample site, writing the server's own base URL where pages say ``{{BASE}}``."""

    base_url = ""

    def send_head(self) -> Any:
        """Substitute ``{{BASE}}`` in text files before they are sent."""
        path = Path(self.translate_path(self.path))
        if path.is_file() and path.suffix in {".html", ".xml", ".txt", ".json"}:
            body = path.read_bytes().replace(b"{{BASE}}", self.base_url.encode("ascii"))
            self.send_response(200)
            kind = {".html": "text/html", ".xml": "application/rss+xml", ".json": "application/json"}
            # No charset parameter: pages declare their own or none, like much of the web.
            self.send_header("Content-Type", kind.get(path.suffix, "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            import io

            return io.BytesIO(body)
        return super().send_head()


@contextmanager
def serve_directory(root: Path, *, port: int = 0, substitute: bool = True) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 in a thread; yields the base URL."""
    handler_class: type[SimpleHTTPRequestHandler] = _DemoHandler if substitute else _QuietHandler
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler_class, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    if substitute:
        _DemoHandler.base_url = base
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def _shared_dir() -> Path | None:
    candidate = Path.cwd().parent / "shared"
    return candidate if candidate.is_dir() else None


def site_address(port: int) -> str:
    """Where the demo serves the built site: the app's port plus one."""
    return f"http://127.0.0.1:{port + 1}/"


def _prepare_home(home: Path, *, site_url: str) -> Settings:
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / "medcurate.toml").write_text(default_config_text(), encoding="utf-8")
    # The site's links (feeds, sitemaps, canonical links) point where the demo serves it.
    return Settings(home=home, database_url=None, allowed_hosts=("127.0.0.1",), base_url=site_url)


def _import_history(database: Database, settings: Settings) -> None:
    shared = _shared_dir()
    if shared is None:
        console.print("[dim]../shared is absent: no imported history, suggestions start cold[/]")
        return
    paths = [p for p in (shared / "seeds", shared / "corpora" / "curated-posts-dev") if p.is_dir()]
    report = import_paths(database, paths, config=settings.load_site_config(), actor="demo")
    console.print(f"History imported from {shared}: {report.created} items, {len(report.failures)} errors")


def _article_urls(base: str) -> list[str]:
    listed = (demo_site_root() / "urls.txt").read_text(encoding="utf-8").split()
    return [base + "/" + path.lstrip("/") for path in listed if not path.startswith("#")]


def _show_batch(report: BatchReport) -> None:
    table = Table("status", "item", "url", "reason", title="Ingestion")
    for outcome in report.outcomes:
        table.add_row(
            outcome.status,
            str(outcome.item_id or outcome.duplicate_of or ""),
            outcome.url,
            plain_reason(outcome.reason or ""),
        )
    console.print(table)


def _show_drafts(database: Database) -> None:
    from sqlalchemy import select

    from medcurate.store.models import SuggestionRecord

    with database.session() as session:
        table = Table("id", "state", "source", "title", "suggested topics", title="Drafts")
        for record in list_items(session, query=ItemQuery(limit=50)):
            if record.state not in {ItemState.DRAFT.value, ItemState.DUPLICATE.value}:
                continue
            suggestions = session.scalars(
                select(SuggestionRecord)
                .where(SuggestionRecord.item_id == record.id, SuggestionRecord.kind == "topic")
                .order_by(SuggestionRecord.rank)
                .limit(3)
            ).all()
            labels = ", ".join(f"{s.label} ({strength(s.score)})" for s in suggestions)
            source = record.source_name or record.brand or ""
            table.add_row(str(record.id), record.state, source, record.title, labels)
    console.print(table)


def run_demo(*, home: Path, serve: bool, port: int) -> Settings:
    """Run every step of the demo; returns the demo site's settings."""
    settings = _prepare_home(home, site_url=site_address(port))
    database = open_database(settings.database)
    console.rule("[bold]medcurate demo")
    console.print(f"Data directory: {home}")
    _import_history(database, settings)
    with ExitStack() as servers:
        # The sample site stays up while the app runs, so that its links can be submitted there too.
        base = servers.enter_context(serve_directory(demo_site_root()))
        console.print(f"Sample news site served at {base}")
        urls = [*_article_urls(base), base + "/private/secret.html"]
        options = default_options(settings)
        from dataclasses import replace

        options = replace(options, fetch=replace(options.fetch, per_host_delay=DEMO_PER_HOST_DELAY))
        report = ingest_urls(
            database, urls, settings=settings, actor="demo", options=options, description="demo sample site"
        )
        _show_batch(report)
        again = ingest_urls(database, urls, settings=settings, actor="demo", options=options)
        console.print(f"Same links again: {dict(again.counts)} (resumed, nothing duplicated)")
        _show_drafts(database)
        _review_and_publish(database, settings)
        if serve:
            _serve_app(database, settings, port=port, sample_links=_article_urls(base))
    database.dispose()
    return settings


def _review_and_publish(database: Database, settings: Settings) -> None:
    """An editor's pass over half the drafts: accept two best topics, publish; then export and build the site.

    The other half stay in the inbox, with their suggestions, for whoever opens the app.
    """
    from medcurate.history import audit_site_build
    from medcurate.publish.hugo import export_hugo
    from medcurate.publish.seed import export_seed
    from medcurate.publish.service import publish_site, site_dir
    from medcurate.store.repository import all_items, item_from_record
    from medcurate.suggest.service import record_decision, stored_suggestions
    from medcurate.users import ensure_user
    from medcurate.web.services import transition

    # The demo's editor exists before it acts, so that its publishes are in the audit log as theirs.
    editor = ensure_user(
        database, username=DEMO_EDITOR[0], password=DEMO_EDITOR[1], role="editor", actor="demo"
    )

    with database.session() as session:
        drafts = [r.id for r in all_items(session, states=[ItemState.DRAFT])]
    drafts = drafts[: (len(drafts) + 1) // 2]
    for item_id in drafts:
        topics = [s for s in stored_suggestions(database, item_id=item_id) if s.kind == "topic"][:2]
        for suggestion in topics:
            record_decision(
                database,
                item_id=item_id,
                kind="topic",
                label=suggestion.label,
                action="accept",
                actor=DEMO_EDITOR[0],
            )
        with database.session() as session:
            transition(session, item_id=item_id, action="publish", user=editor)
    console.print(f"Editor accepted two topics on each of {len(drafts)} drafts and published them")
    with database.session() as session:
        items = [item_from_record(r) for r in all_items(session, states=[ItemState.PUBLISHED])]
    config = settings.load_site_config()
    seed = export_seed(items, settings.home / "export")
    hugo = export_hugo(
        items, settings.home / "hugo", config=config, images_dir=settings.images_dir, with_layout=True
    )
    site = publish_site(database, settings)
    audit_site_build(database, actor=DEMO_EDITOR[0], out_dir=site_dir(settings), detail={"published": drafts})
    console.print(f"Seed-format export: {seed.written} files in {settings.home / 'export'}")
    console.print(f"Hugo tree: {hugo.written} files in {settings.home / 'hugo'} (build it with `hugo -s`)")
    console.print(f"Static site: {site.written} files in {site_dir(settings)}")


def _serve_app(database: Database, settings: Settings, *, port: int, sample_links: list[str]) -> None:
    """The editors' app on ``port`` and the built site on ``port + 1``, until interrupted."""
    from medcurate.publish.service import site_dir
    from medcurate.users import ensure_user
    from medcurate.web import run

    ensure_user(database, username=DEMO_EDITOR[0], password=DEMO_EDITOR[1], role="editor", actor="demo")
    with serve_directory(site_dir(settings), port=port + 1, substitute=False) as site_url:
        console.rule("[bold]ready")
        console.print(
            f"Editors' app:  http://127.0.0.1:{port}/  (sign in as {DEMO_EDITOR[0]} / {DEMO_EDITOR[1]})"
        )
        console.print(f"Built site:    {site_url}/")
        console.print(
            f"Sample news site, up while the app runs: paste these on http://127.0.0.1:{port}/submit"
        )
        for link in sample_links:
            console.print(f"  {link}", soft_wrap=True, highlight=False)
        console.print("Stop with Ctrl-C.")
        run(settings, host="127.0.0.1", port=port)


def main(argv: list[str] | None = None) -> None:
    """``python -m medcurate.demo``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, default=Path("demo-home"))
    parser.add_argument("--no-serve", action="store_true", help="stop after publishing")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    run_demo(home=args.home.resolve(), serve=not args.no_serve, port=args.port)


if __name__ == "__main__":
    main()
