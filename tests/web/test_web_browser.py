"""The editors' app in headless Chromium: sign in, submit a link, review, accept topics, approve, publish.

Uvicorn serves the app in a thread on 127.0.0.1 over a tmp SQLite database; the submitted article is
served by the tests' own HTTP server, allow-listed through ``Settings.allowed_hosts``. Screenshots
go to ``test-artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from browsersupport import ARTIFACTS, Running, serve_directory, sign_in
from browsersupport import browser as browser  # the shared Chromium fixture
from httpserver import LocalServer, Reply
from medcurate.store.repository import all_items, audit_trail
from medcurate.users import Role
from websupport import FIXTURES, Site, add, make_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTICLE_PATH = "/news/hospitals-tighten-ransomware-defences"
ARTICLE_TITLE = "Hospitals Tighten Ransomware Defences After a Wave of Attacks"
INGEST_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def article_server() -> Iterator[LocalServer]:
    """The article to submit, on the loopback interface."""
    server = LocalServer().start()
    body = (FIXTURES / "article.html").read_bytes()
    server.route(ARTICLE_PATH, Reply(body=body, content_type="text/html; charset=utf-8"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Uvicorn in a thread serving a fresh site with an editor and a curator."""
    home = tmp_path_factory.mktemp("web-browser")
    site = make_site(home, allowed_hosts=("127.0.0.1",))
    add(site.database, "editor", Role.EDITOR)
    add(site.database, "curator", Role.CURATOR)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a start-up wait: guards against a hang only
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Running(site=site, base=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()
    site.database.dispose()


def test_editor_submits_reviews_and_publishes(
    running: Running, article_server: LocalServer, browser: object
) -> None:
    base = running.base
    context = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    # an anonymous visitor is sent to sign in
    page.goto(f"{base}/items")
    assert "/login" in page.url
    page.screenshot(path=str(ARTIFACTS / "web-01-sign-in.png"))
    sign_in(page, base, "editor")

    # submit a link pasted inside some text; progress is shown live until the batch finishes
    page.goto(f"{base}/submit")
    article_url = article_server.url(ARTICLE_PATH)
    page.fill("textarea[name=text]", f"Worth a look: {article_url} (via the newsletter)")
    page.click("main button.primary")
    page.wait_for_url(f"{base}/jobs/**")
    page.wait_for_selector("[data-done]", timeout=INGEST_TIMEOUT_MS)
    page.screenshot(path=str(ARTIFACTS / "web-02-progress.png"), full_page=True)
    assert page.inner_text("[data-done]") == "finished"
    page.click("a.open-item")

    # the draft, with suggested topics; accept two, one click each
    page.wait_for_selector("h1")
    assert ARTICLE_TITLE in page.inner_text("h1")
    accepted: list[str] = []
    for _ in range(2):
        suggestion = page.locator("#topics .suggestion.pending").first
        label = suggestion.get_attribute("data-label")
        assert label, "no pending topic suggestion left"
        suggestion.locator("button.accept").click()
        try:
            page.locator(f'#topics ul.chips li[title="{label}"]').wait_for(timeout=10_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "web-debug.png"), full_page=True)
            raise
        accepted.append(label)
    page.screenshot(path=str(ARTIFACTS / "web-03-review.png"), full_page=True)

    # approve, then publish
    page.click("button[value=approve]")
    page.wait_for_selector("#state:text('approved')")
    page.click("button[value=publish]")
    page.wait_for_selector("#state:text('published')")
    page.screenshot(path=str(ARTIFACTS / "web-04-published.png"))
    history = page.inner_text("#history")
    assert "published" in history and "approved" in history and f"Topic {accepted[0]} accepted" in history

    # the item is on the built site, with the two topics
    site_dir = running.site.home / "site"
    pages = [p for p in site_dir.rglob("index.html") if ARTICLE_TITLE in p.read_text(encoding="utf-8")]
    assert pages, f"{ARTICLE_TITLE!r} not found in {site_dir}"
    item_page = min(pages, key=lambda p: len(p.read_text(encoding="utf-8")))
    with serve_directory(site_dir) as site_base:
        page.goto(f"{site_base}/{item_page.relative_to(site_dir).as_posix()}")
        text = page.inner_text("body")
    assert ARTICLE_TITLE in text
    for label in accepted:
        assert label.partition(": ")[2] in text or label in text
    page.screenshot(path=str(ARTIFACTS / "web-05-built-site.png"))

    # the inbox and the dashboard render
    page.goto(f"{base}/items?state=")
    assert ARTICLE_TITLE in page.inner_text("table.items")
    page.screenshot(path=str(ARTIFACTS / "web-06-inbox.png"))
    page.goto(f"{base}/dashboard")
    assert page.locator("svg.chart").count() == 4
    page.screenshot(path=str(ARTIFACTS / "web-07-dashboard.png"), full_page=True)
    context.close()


def _stored_writes(site: Site) -> tuple[list[tuple[int, str, list[str]]], list[int]]:
    """Every item's state and topics, and the newest audit event: what a refused write must leave alone."""
    with site.database.session() as session:
        items = [(r.id, r.state, sorted(t.label for t in r.topics)) for r in all_items(session)]
        return items, [event.id for event in audit_trail(session, limit=1)]


def test_curator_cannot_publish_and_csrf_is_enforced(running: Running, browser: object) -> None:
    base = running.base
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, base, "curator")
    page.goto(f"{base}/items?state=")
    token = page.get_attribute("meta[name=csrf-token]", "content")
    links = page.locator("table.items a.title")
    if links.count():
        href = links.first.get_attribute("href")
        page.goto(f"{base}{href}")
        assert page.locator("button[value=publish]").count() == 0
    before = _stored_writes(running.site)
    response = context.request.post(f"{base}/items/1/state/publish", form={"csrf_token": token})
    assert response.status == 403
    # a POST without the CSRF token is refused even with a valid session cookie
    response = context.request.post(
        f"{base}/items/1/decisions", form={"kind": "topic", "label": "x", "action": "add"}
    )
    assert response.status == 403
    assert _stored_writes(running.site) == before  # the refused posts changed nothing
    context.close()
    anonymous = browser.new_context()  # type: ignore[attr-defined]
    page = anonymous.new_page()
    page.goto(f"{base}/dashboard")
    assert page.url.startswith(f"{base}/login")
    anonymous.close()
