"""The editor's desk in headless Chromium: the review screen's layout, axe-core, a morning by keyboard.

The drafts are the demo's sample articles (``data/demo/site``) and the tests' own, extracted for real
and drafted as ingestion drafts them; their topic suggestions are stored as the suggestion engine
stores them (a fixed, known list, so that "the top suggestion is right" is known too). Uvicorn serves
the app in a thread; the published site is served from its folder. Screenshots and the key counts go
to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn

from browsersupport import browser as browser  # the shared Chromium fixture
from medcurate.demo import demo_site_root, serve_directory
from medcurate.drafts import DraftInput, build_draft
from medcurate.extract import extract
from medcurate.extract.types import PageInput
from medcurate.models import ItemState
from medcurate.scheduler.ticker import Ticker
from medcurate.store.repository import get_item
from medcurate.store.suggestions import NewSuggestion, replace_pending_suggestions
from medcurate.users import Role
from paths import ARTIFACTS, ROOT
from websupport import FIXTURES, PASSWORD, Site, add, make_site, news_item, store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


AXE = ROOT / "tools" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SAMPLE_BASE = "https://news.example"
# What the engine suggested for every draft, best first: the first is right unless the morning says not.
SUGGESTED = [
    ("Healthcare IT News: Cybersecurity", "mentions ‘ransomware’ 6×"),
    ("Gartner: Cybersecurity", "close to 4 items labelled so"),
    ("KLAS: Security", "mentions ‘security’ 2×"),
]
WAIT_MS = 60_000


@dataclass
class Running:
    """The app on a random port, over a site holding ten drafts."""

    site: Site
    base: str
    drafts: list[int]


def _sample_pages() -> list[tuple[str, bytes]]:
    """(url, html) of the demo's sample articles and the tests' own: ten pages."""
    root = demo_site_root()
    listed = [p for p in (root / "urls.txt").read_text(encoding="utf-8").split() if not p.startswith("#")]
    pages = [
        (f"{SAMPLE_BASE}/{path}", (root / path).read_bytes().replace(b"{{BASE}}", SAMPLE_BASE.encode()))
        for path in listed
    ]
    pages.append((f"{SAMPLE_BASE}/news/ransomware-defences", (FIXTURES / "article.html").read_bytes()))
    return pages[:10]


def _store_drafts(site: Site) -> list[int]:
    community = site.settings.load_site_config().community("news")
    ids = []
    for n, (url, html) in enumerate(_sample_pages()):
        extraction = extract(PageInput(html=html, url=url))
        draft = build_draft(
            DraftInput(
                extraction=extraction,
                url=url,
                canonical_url=url,
                community=community,
                item_id=0,
                now=datetime(2026, 12, 1, 8, n, tzinfo=UTC),
            )
        )
        item_id = store(site.database, draft, community="news", text=extraction.text)
        rows = [
            NewSuggestion(
                kind="topic",
                label=label,
                label_key=label.lower(),
                score=0.8 - rank / 10,
                rank=rank + 1,
                reason=reason,
                model_version="fixed",
            )
            for rank, (label, reason) in enumerate(SUGGESTED)
        ]
        with site.database.session() as session:
            replace_pending_suggestions(session, item_id=item_id, suggestions=rows)
        ids.append(item_id)
    return ids


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Uvicorn in a thread serving a site with ten drafts, an editor and a curator."""
    home = tmp_path_factory.mktemp("desk-browser")
    site = make_site(home)
    add(site.database, "editor", Role.EDITOR)
    drafts = _store_drafts(site)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(site.app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a start-up wait: guards against a hang only
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Running(site=site, base=f"http://127.0.0.1:{sock.getsockname()[1]}", drafts=drafts)
    server.should_exit = True
    thread.join(timeout=20)
    sock.close()
    site.database.dispose()


def _sign_in(page: Any, base: str) -> None:
    """Sign in with the keyboard: the name, Tab, the password, Enter."""
    page.goto(f"{base}/login")
    page.focus("input[name=username]")
    page.keyboard.type("editor")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/items**")


def _in_view(page: Any, selector: str, height: int) -> bool:
    box = page.locator(selector).first.bounding_box()
    return bool(box) and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= height


def test_review_screen_fits_the_desktop_and_the_phone(running: Running, browser: Any) -> None:
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        _sign_in(page, running.base)
        page.goto(f"{running.base}/items/{running.drafts[1]}")
        page.screenshot(path=str(ARTIFACTS / f"desk-review-{name}.png"))
        page.goto(f"{running.base}/items")
        page.screenshot(path=str(ARTIFACTS / f"desk-inbox-{name}.png"))
        page.goto(f"{running.base}/items/{running.drafts[1]}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {name} review screen scrolls sideways by {overflow}px"
        if name == "desktop":
            for selector in (
                "#title",
                "#brief",
                "#community",
                "#topics h2",
                "#topics .suggestion",
                ".reader h1",
                ".reader .text p",
            ):
                assert _in_view(page, selector, viewport["height"]), (
                    f"{selector} is not in view without scrolling"
                )
            assert page.evaluate("window.scrollY") == 0
        context.close()


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (axe evaluated through the devtools)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_violation(running: Running, browser: Any) -> None:
    if not AXE.is_file():
        pytest.skip(
            "axe-core is not installed: `make install` runs npm ci in tools/ (npm from `make system-deps`)"
        )
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, running.base)
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ("/items", f"/items/{running.drafts[2]}", "/dashboard", "/audit"):
        page.goto(running.base + path)
        found[path] = _axe(page)
    # the site: publish an item of its own (the morning's drafts stay drafts), then check its pages
    extra = store(running.site.database, news_item(90, title="Accessible by keyboard and screen reader"))
    token = page.get_attribute("meta[name=csrf-token]", "content")
    page.request.post(
        f"{running.base}/items/{extra}/state/publish",
        form={"csrf_token": token or ""},
        headers={"X-CSRF-Token": token or ""},
    )
    with running.site.database.session() as session:
        assert get_item(session, item_id=extra).state == ItemState.PUBLISHED.value
    site_dir = running.site.home / "site"
    item_page = max(
        (
            p
            for p in site_dir.rglob("index.html")
            if "Accessible by keyboard" in p.read_text(encoding="utf-8")
        ),
        key=lambda p: len(p.parts),
    )
    with serve_directory(site_dir, substitute=False) as site_base:
        for path in ["/", "/" + item_page.parent.relative_to(site_dir).as_posix() + "/"]:
            page.goto(site_base + path)
            found["site " + path] = _axe(page)
    context.close()
    (ARTIFACTS / "desk-axe.json").write_text(json.dumps(found, indent=2), encoding="utf-8")
    assert not any(found.values()), json.dumps({k: v for k, v in found.items() if v}, indent=2)


class Keys:
    """The keys pressed, counted per item."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.per_item: dict[int, list[str]] = {}

    def item(self) -> int:
        match = re.search(r"/items/(\d+)", self.page.url)
        assert match, self.page.url
        return int(match.group(1))

    def press(self, key: str, *, on: int | None = None) -> None:
        if key != "?":  # the help, shown once, is no item's work
            self.per_item.setdefault(on if on is not None else self.item(), []).append(key)
        self.page.keyboard.press(key)


def _accept(page: Any, keys: Keys, key: str, label: str) -> None:
    """Toggle a suggestion by key and wait for the topic panel to come back with it accepted."""
    keys.press(key)
    page.locator(f'#topics .chips li[title="{label}"]').wait_for(timeout=WAIT_MS)


def _next_item(page: Any, keys: Keys, key: str, current: int) -> None:
    """Press a key that leaves the item (p, x, j) and wait for the next one."""
    keys.press(key)
    page.wait_for_url(re.compile(rf".*/items/(?!{current}\b)\d+.*"), timeout=WAIT_MS)
    page.wait_for_selector("#title")


TOP, SECOND, THIRD = (label for label, _ in SUGGESTED)
FIXED_TITLE = "Ransomware Diverts Ambulances at Lakemont Health"


class Morning:
    """An editor's walk through the drafts with the keyboard: what was published, walked and pressed."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.keys = Keys(page)
        self.published: list[int] = []
        self.walked: list[int] = []
        self.undone_on = 0
        self.scheduled = 0
        self._shots = iter(range(1, 100))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"desk-morning-{next(self._shots):02d}-{name}.png"))

    def arrive(self, n: int) -> None:
        self.walked.append(self.keys.item())
        self.shot(f"draft-{n}")

    def publish(self) -> None:
        item = self.keys.item()
        self.published.append(item)
        _next_item(self.page, self.keys, "p", item)

    def open_inbox(self, base: str) -> None:
        """Open the inbox, look at the keys once, open the first draft."""
        self.page.goto(f"{base}/items")
        self.shot("inbox")
        first = int(self.page.locator("[data-row]").first.get_attribute("data-id") or 0)
        self.keys.press("?", on=first)
        self.shot("keys")
        self.keys.press("?", on=first)
        self.keys.press("Enter", on=first)
        self.page.wait_for_selector("#title")

    def fix_title(self) -> None:
        self.keys.press("e")
        self.page.keyboard.press("Control+a")
        self.page.keyboard.type(FIXED_TITLE)  # typing, not triage: counted apart
        self.keys.press("Enter")
        self.page.wait_for_selector(".notice:has-text('Saved')", timeout=WAIT_MS)

    def accept_undo_and_take_the_second(self) -> None:
        self.undone_on = self.keys.item()
        _accept(self.page, self.keys, "1", TOP)
        self.keys.press("u")
        self.page.wait_for_selector(".notice:has-text('Undone')", timeout=WAIT_MS)
        assert self.page.locator(f'#topics .chips li[title="{TOP}"]').count() == 0
        self.shot("undone")
        _accept(self.page, self.keys, "2", SECOND)

    def walk(self) -> None:
        """Ten drafts: five published, one rejected, one decision undone, one title fixed."""
        page, keys = self.page, self.keys
        self.arrive(1)  # the top suggestion is right: accept it, publish
        _accept(page, keys, "a", TOP)
        self.publish()
        self.arrive(2)  # fix the title, then as the first
        self.fix_title()
        _accept(page, keys, "a", TOP)
        self.publish()
        self.arrive(3)  # two suggestions are right
        _accept(page, keys, "a", TOP)
        _accept(page, keys, "2", SECOND)
        self.publish()
        self.arrive(4)  # not for us: reject the draft
        _next_item(page, keys, "x", keys.item())
        self.arrive(5)  # accept the top, think again, undo it, take the second instead
        self.accept_undo_and_take_the_second()
        self.publish()
        self.arrive(6)  # accept the top, reject it again with the same key; the third is right
        _accept(page, keys, "a", TOP)
        keys.press("1")
        page.locator(f'#topics .suggestion.rejected[data-label="{TOP}"]').wait_for(timeout=WAIT_MS)
        _accept(page, keys, "3", THIRD)
        self.publish()
        for n in range(7, 11):  # walk on: they stay in the inbox
            self.arrive(n)
            if n < 10:
                _next_item(page, keys, "j", keys.item())
        self.schedule()

    def schedule(self) -> None:
        """The last draft: `t` fills "Publish at" with the next full hour, Enter schedules it."""
        self.scheduled = self.keys.item()
        self.keys.press("t")
        self.keys.press("Enter")
        self.page.wait_for_selector(".notice:has-text('Will be published at')", timeout=WAIT_MS)
        self.shot("scheduled")

    def key_report(self) -> dict[str, Any]:
        """Key presses per published item (typing a title apart); goal: <= 3 where the top one is right."""
        per_item = {i: self.keys.per_item.get(i, []) for i in self.published}
        top_right = [self.published[0], self.published[2]]  # the top suggestion accepted as it came
        return {
            "published": {str(i): per_item[i] for i in self.published},
            "presses_per_published_item": sum(len(v) for v in per_item.values()) / len(self.published),
            "top_suggestion_right": {str(i): len(per_item[i]) for i in top_right},
            "scheduled": {str(self.scheduled): self.keys.per_item.get(self.scheduled, [])},
        }


def test_an_editors_morning_by_keyboard(running: Running, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, running.base)
    morning = Morning(page)
    morning.open_inbox(running.base)
    morning.walk()
    published = morning.published
    assert len(set(morning.walked)) == 10 and len(published) == 5
    with running.site.database.session() as session:
        states = {i: get_item(session, item_id=i).state for i in morning.walked}
        titles = {i: get_item(session, item_id=i).title for i in published}
    assert [i for i, s in states.items() if s == ItemState.PUBLISHED.value] == published
    assert list(states.values()).count(ItemState.REJECTED.value) == 1
    assert FIXED_TITLE in titles.values()

    # the history says what happened, readably; the site has the five
    page.goto(f"{running.base}/items/{morning.undone_on}")
    page.locator("#history").scroll_into_view_if_needed()
    history = page.inner_text("#history")
    assert f"Topic {TOP} accepted" in history and "Undid accepted (event #" in history
    morning.shot("history")
    page.goto(f"{running.base}/audit")
    morning.shot("audit")
    site_dir = running.site.home / "site"
    built = "".join(p.read_text(encoding="utf-8") for p in site_dir.rglob("index.html"))
    for title in titles.values():
        assert title.replace("'", "&#39;") in built or title in built, f"{title!r} is not on the site"
    # the scheduled draft: the scheduler's tick, on a clock the test moves past its moment, publishes it
    with running.site.database.session() as session:
        moment = get_item(session, item_id=morning.scheduled).publish_at
    assert moment is not None and states[morning.scheduled] == ItemState.DRAFT.value
    moment = moment.replace(tzinfo=UTC)
    ticker = Ticker(running.site.database, running.site.settings, clock=lambda: moment, site_dir=site_dir)
    assert ticker.tick().published == [morning.scheduled]
    with running.site.database.session() as session:
        scheduled_title = get_item(session, item_id=morning.scheduled).title
    built = "".join(p.read_text(encoding="utf-8") for p in site_dir.rglob("index.html"))
    assert scheduled_title.replace("'", "&#39;") in built or scheduled_title in built
    with serve_directory(site_dir, substitute=False) as site_base:
        page.goto(site_base + "/")
        morning.shot("site")
    context.close()

    report = morning.key_report()
    (ARTIFACTS / "desk-morning-keys.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    per_item = report["published"]
    assert per_item[str(published[0])] == ["Enter", "a", "p"]  # opened from the inbox
    assert per_item[str(published[2])] == ["a", "2", "p"]  # the top one and the second: still three
    assert per_item[str(published[1])] == ["e", "Enter", "a", "p"]  # and the new title typed


def test_inbox_keys_accept_tick_and_undo(running: Running, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _sign_in(page, running.base)
    page.goto(f"{running.base}/items")
    page.keyboard.press("j")
    second = page.locator("tr.current")
    item = second.get_attribute("data-id")
    assert item == page.locator("[data-row]").nth(1).get_attribute("data-id")
    page.keyboard.press("s")
    assert second.locator("input[name=ids]").is_checked()
    label = second.get_attribute("data-top")
    page.keyboard.press("a")
    page.wait_for_selector(".notice:has-text('Accepted')", timeout=WAIT_MS)
    row = page.locator(f"tr[data-id='{item}']")
    assert row.locator(f'.chip[title="{label}"]').count() == 1
    assert "current" in (row.get_attribute("class") or "")  # the cursor stays where it was
    page.screenshot(path=str(ARTIFACTS / "desk-inbox-accepted.png"))
    page.keyboard.press("u")
    page.wait_for_selector(".notice:has-text('Undone')", timeout=WAIT_MS)
    assert page.locator(f"tr[data-id='{item}'] .chip").count() == 0
    context.close()
