"""``medcurate add`` and ``medcurate ingest`` through the CLI, against a local HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from httpserver import LocalServer, Reply
from medcurate.cli import app
from paths import FIXTURES

ARTICLE = (FIXTURES / "pipeline" / "article.html").read_text(encoding="utf-8")


WORDS = [
    "clinic",
    "nurses",
    "vendor",
    "audit",
    "budget",
    "network",
    "device",
    "patient",
    "server",
    "backup",
    "policy",
    "board",
    "insurer",
    "outage",
    "pharmacy",
    "imaging",
    "laboratory",
    "portal",
    "identity",
    "password",
    "firewall",
    "training",
    "drill",
    "regulator",
]


def _page(title: str, seed: int) -> bytes:
    """An article page whose body shares no run of words with the other pages'."""
    paragraphs = []
    for p in range(6):
        words = [WORDS[(seed * 7 + p * 5 + i * (seed + 3)) % len(WORDS)] for i in range(40)]
        paragraphs.append(f"<p>{' '.join(words).capitalize()}.</p>")
    body = f"<article><h1>{title}</h1>{''.join(paragraphs)}</article>"
    html = ARTICLE.replace("3 ways hospitals can harden their IT security", title)
    start, end = html.index("<article>"), html.index("</article>") + len("</article>")
    return (html[:start] + body + html[end:]).encode("utf-8")


@pytest.fixture()
def site() -> LocalServer:
    """Three different articles, a feed listing two of them, and an OPML list naming the feed."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        server.route("/a", Reply(body=_page("Alpha ransomware story", 1)))
        server.route("/b", Reply(body=_page("Beta telehealth story", 2)))
        server.route("/c", Reply(body=_page("Gamma device story", 4)))
        items = "".join(f"<item><title>{p}</title><link>{server.url(p)}</link></item>" for p in ("/a", "/b"))
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        server.route("/feed.xml", Reply(body=feed.encode(), content_type="application/rss+xml"))
        yield server


@pytest.fixture()
def run(tmp_path: Path) -> CliRunner:
    """A runner on a fresh data directory that may reach 127.0.0.1."""
    return CliRunner(
        env={
            "MEDCURATE_HOME": str(tmp_path / "home"),
            "MEDCURATE_ALLOWED_HOSTS": '["127.0.0.1"]',
            "MEDCURATE_DATABASE_URL": "",
        }
    )


def _titles(run: CliRunner) -> list[str]:
    listed = run.invoke(app, ["items", "list", "--json"])
    return sorted(row["title"] for row in json.loads(listed.stdout))


def test_add_then_feed_opml_text_and_saved_pages(site: LocalServer, run: CliRunner, tmp_path: Path) -> None:
    added = run.invoke(app, ["add", "--no-images", site.url("/a")])
    assert added.exit_code == 0, added.output
    assert "created 1" in added.output
    feed = run.invoke(app, ["ingest", "--no-images", "--feed", site.url("/feed.xml")])
    assert feed.exit_code == 0, feed.output
    assert "created 1" in feed.output and "existing 1" in feed.output
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><body><outline text="x" xmlUrl="{site.url("/feed.xml")}"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    again = run.invoke(app, ["ingest", "--no-images", "--opml", str(opml)])
    assert again.exit_code == 0, again.output
    assert "existing 2" in again.output
    email = tmp_path / "mail.txt"
    email.write_text(
        f"Hi team,\nworth a read: <{site.url('/c')}?utm_source=mail>.\nThanks\n", encoding="utf-8"
    )
    text = run.invoke(app, ["ingest", "--no-images", "--file", str(email)])
    assert text.exit_code == 0, text.output
    assert _titles(run) == ["Alpha ransomware story", "Beta telehealth story", "Gamma device story"]
    saved = tmp_path / "saved"
    saved.mkdir()
    page = _page("Delta saved story", 6).decode()
    page = page.replace(
        '<link rel="canonical" href="/technology', '<link rel="canonical" href="https://delta.example/t'
    )
    (saved / "delta.html").write_text(page, encoding="utf-8")
    pages = run.invoke(app, ["ingest", "--no-images", "--html-dir", str(saved)])
    assert pages.exit_code == 0, pages.output
    assert "Delta saved story" in _titles(run)


def test_a_bad_link_is_reported_and_the_batch_goes_on(site: LocalServer, run: CliRunner) -> None:
    result = run.invoke(app, ["add", "--no-images", site.url("/missing"), site.url("/b")])
    assert result.exit_code == 1
    assert "failed 1" in result.output and "created 1" in result.output
    assert "404" in result.output


def test_refused_addresses_are_named(run: CliRunner) -> None:
    result = CliRunner(env={"MEDCURATE_HOME": run.env["MEDCURATE_HOME"]}).invoke(
        app, ["add", "--no-images", "http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/"]
    )
    assert result.exit_code == 1
    # Named by the setting that lets them through, not by a Python class.
    assert result.output.count("MEDCURATE_ALLOWED_HOSTS") == 2, result.output
    assert "BlockedURL" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest"], "name at least one input"),
        (["ingest", "--file", "/nonexistent/list.txt"], "list.txt"),
        (["add", "--community", "nope", "https://example.org/"], "unknown community"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(run: CliRunner, args: list[str], message: str) -> None:
    result = run.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
