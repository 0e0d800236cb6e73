"""A story in the editors' app, in headless Chromium: one card for three outlets, a primary, published.

Three outlets' write-ups of one trial are stored and placed in their story (the real MiniLM model);
the editor sees one card in the inbox, picks the item to publish, publishes it, and the built site's
item page lists the other two under "Also covered by". Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from browsersupport import ARTIFACTS, Running, serve_directory, sign_in
from browsersupport import browser as browser  # the shared Chromium fixture
from medcurate.stories.service import place_item
from medcurate.users import Role
from storysupport import SCRIBES_BUSINESS, SCRIBES_JOURNAL, SCRIBES_TRADE, WATCH
from websupport import add, make_site, news_item, store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTLETS = [
    (SCRIBES_JOURNAL, "healthmanagement.org"),
    (SCRIBES_TRADE, "fiercehealthcare.com"),
    (SCRIBES_BUSINESS, "businessinsider.com"),
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Uvicorn in a thread over a site with one 3-outlet story and one lone draft."""
    site = make_site(tmp_path_factory.mktemp("stories-browser"))
    add(site.database, "editor", Role.EDITOR)
    articles = [*OUTLETS, (WATCH, "mobihealthnews.com")]
    for n, ((title, text), brand) in enumerate(articles, start=1):
        item = news_item(n, title=title, brand=brand, date="2026-03-02", body=f"<p>{text}</p>")
        place_item(site.database, item_id=store(site.database, item, text=text))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(site.app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a start-up wait: guards against a hang only
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Running(site=site, base=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()
    site.database.dispose()


def _item_page(site_dir: Path, title: str) -> Path:
    pages = [p for p in site_dir.rglob("index.html") if f"<h1>{title}</h1>" in p.read_text(encoding="utf-8")]
    assert pages, f"{title!r} has no item page in {site_dir}"
    return pages[0]


def test_a_three_outlet_story_is_one_card_and_its_primary_lists_the_others(
    running: Running, browser: object
) -> None:
    base = running.base
    context = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, base, "editor")

    # the inbox: one card for the story, with its three outlets; the lone draft keeps its row
    page.goto(f"{base}/items")
    cards = page.locator("tr.story-card")
    assert cards.count() == 1
    assert cards.first.locator(".outlets").inner_text() == "3 outlets"
    assert cards.first.locator("ol.story-items li").count() == 3
    for (title, _), _brand in OUTLETS:
        assert page.locator("table.items a.title", has_text=title).count() == 1  # once, on the card
    assert page.locator("table.items > tbody > tr:not(.story-card)", has_text=WATCH[0]).count() == 1
    page.screenshot(path=str(ARTIFACTS / "stories-01-inbox-card.png"), full_page=True)

    # the editor picks the trade magazine's write-up, then publishes it from the card
    primary_title = SCRIBES_TRADE[0]
    chosen = cards.first.locator("li", has_text=primary_title)
    chosen.locator("button", has_text="Publish this one").click()
    page.wait_for_url("**/items?*notice=*")
    card = page.locator("tr.story-card").first
    assert card.locator("li", has_text=primary_title).locator(".primary-mark").count() == 1
    page.screenshot(path=str(ARTIFACTS / "stories-02-primary.png"), full_page=True)
    card.locator("button", has_text="Publish the primary").click()
    page.wait_for_selector("#state:text('published')")
    assert "published" in page.inner_text("#history")  # the readable history of the desk's review screen
    page.screenshot(path=str(ARTIFACTS / "stories-03-published.png"), full_page=True)

    # the built site's item page lists the other two outlets as "Also covered by"
    site_dir = running.site.home / "site"
    item_page = _item_page(site_dir, primary_title)
    with serve_directory(site_dir) as site_base:
        page.goto(f"{site_base}/{item_page.relative_to(site_dir).as_posix()}")
        section = page.locator("section.also-covered")
        assert section.locator("h2").inner_text() == "Also covered by"
        listed = section.locator("li").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "stories-04-also-covered-by.png"), full_page=True)
    assert len(listed) == 2
    assert any(SCRIBES_JOURNAL[0] in text and "healthmanagement.org" in text for text in listed)
    assert any(SCRIBES_BUSINESS[0] in text and "businessinsider.com" in text for text in listed)
    context.close()
