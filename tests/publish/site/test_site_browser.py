"""The built site in Debian's headless Chromium: pages render, search works, hostile items run nothing.

Screenshots go to ``test-artifacts/site/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from threading import Thread
from typing import Any

import pytest
from PIL import Image

import paths
from medcurate.config import load_config
from medcurate.frontmatter import read_document
from medcurate.publish.site import SiteOptions, build_site
from medcurate.publish.site.serve import make_server

pytestmark = pytest.mark.browser

FIXTURES = paths.FIXTURES / "publish" / "items"
ARTIFACTS = paths.ARTIFACTS / "site"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ZEPPELIN = (
    "/communities/chronic-care-management/curated-content/"
    "example-health-zeppelin-networks-for-remote-monitoring/"
)
IMAGE = "11111111-1111-5111-8111-111111111111-featuredImage.jpeg"


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fixtures built into a site, served by the preview server on 127.0.0.1."""
    root = tmp_path_factory.mktemp("browser")
    images = root / "images"
    images.mkdir()
    Image.new("RGB", (64, 32), (30, 90, 160)).save(images / IMAGE, "JPEG")
    items = [read_document(p) for p in sorted(FIXTURES.glob("*.md"))]
    out = root / "site"
    build_site(items, out, config=load_config(None), options=SiteOptions(images_dir=images))
    server = make_server(out, port=0)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian (never a downloaded one)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package `chromium`); browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records dialogs, page errors and failed requests."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.errors = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def shoot(page: Any, name: str) -> None:
    """Save a screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_home_item_and_topic_pages_render(page: Any, site_url: str) -> None:
    page.goto(f"{site_url}/")
    assert page.locator("h1").first.inner_text() == "Curated Health-IT News"
    assert page.locator("main .item-card").count() == 4
    shoot(page, "home")
    page.get_by_role("link", name="Zeppelin Networks for Remote Monitoring").first.click()
    page.wait_for_url(f"{site_url}{ZEPPELIN}")
    assert page.locator("h1").inner_text() == "Zeppelin Networks for Remote Monitoring"
    image = page.locator("figure.featured img")
    assert image.get_attribute("alt") == "An airship above a clinic"
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 64
    assert page.get_by_role("link", name="Read the full article on example-health.org").count() == 1
    shoot(page, "item")
    page.get_by_role("link", name="Gartner: Cybersecurity").click()
    page.wait_for_url(f"{site_url}/topic/gartner-cybersecurity/")
    assert page.locator("h1").inner_text() == "Gartner: Cybersecurity"
    assert page.locator("main .item-card").count() == 1
    shoot(page, "topic")
    assert not page.errors


def test_alias_redirects_to_the_item(page: Any, site_url: str) -> None:
    page.goto(f"{site_url}/news/zeppelin-networks-for-remote-monitoring/")
    page.wait_for_url(f"{site_url}{ZEPPELIN}")
    assert page.locator("h1").inner_text() == "Zeppelin Networks for Remote Monitoring"


def test_search_finds_an_item_by_a_word_of_its_brief(page: Any, site_url: str) -> None:
    page.goto(f"{site_url}/search/")
    page.get_by_label("Words to find").fill("quixotic")
    page.get_by_role("button", name="Search").last.click()
    results = page.locator("#search-results .item-card")
    results.first.wait_for()
    assert results.count() == 1
    assert "Zeppelin Networks" in results.first.inner_text()
    assert "1 item match" in page.locator("#search-status").inner_text()
    shoot(page, "search")
    results.first.get_by_role("link").click()
    page.wait_for_url(f"{site_url}{ZEPPELIN}")
    page.goto(f"{site_url}/search/?q=nothing-matches-this")
    page.locator("#search-status").filter(has_text="No items match").wait_for()
    assert not page.errors


def test_hostile_items_run_no_script(page: Any, site_url: str) -> None:
    page.goto(f"{site_url}/search/?q=mallory")
    page.locator("#search-results .item-card").first.wait_for()
    page.locator("#search-results a").first.click()
    page.wait_for_load_state("load")
    assert "mallory marker word" in page.locator(".brief").inner_text()
    shoot(page, "hostile-item")
    visited = [page.url]
    for path in [
        "/",
        "/archive/",
        "/news/",
        "/topic/healthcare-it-news-cybersecurity/",
        "/source/",
        "/topic/",
    ]:
        page.goto(f"{site_url}{path}")
        page.wait_for_load_state("load")
        visited.append(page.url)
        assert page.evaluate("() => window.__xss") is None, page.url
    page.goto(visited[0])
    page.locator("a.more").first.click()  # the page of the hostile brand
    page.wait_for_load_state("load")
    assert "evil.example" in page.locator("h1").inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []
    assert not page.errors
