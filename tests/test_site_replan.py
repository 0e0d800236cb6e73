"""Rebuilds that plan only the pages of a few changed items write what a full build writes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import NoReturn

import pytest

from medcurate.config import load_config
from medcurate.frontmatter import read_document
from medcurate.models import CuratedItem
from medcurate.publish.site import BuildReport, SiteOptions, build_site, replan
from medcurate.publish.site import build as site_build
from medcurate.publish.site.manifest import MANIFEST_NAME
from medcurate.publish.site.replan import load_plan_state, plan_state_path
from medcurate.publish.site.viewcache import view_cache_path
from sitesupport import forget_views

NEWS_FIXTURE = Path(__file__).parent / "fixtures" / "publish" / "items" / "news-item.md"
TOPICS = [
    "Healthcare IT News: Cybersecurity",
    "KLAS: Security",
    "Gartner: Risk Management",
    "MeSH: Telemedicine",
]
COUNT = 40
NEWEST = 27  # the item ``many_items`` dates last (28 March)
OPTIONS = SiteOptions(page_size=3, feed_size=4)


def many_items() -> list[CuratedItem]:
    """``COUNT`` news items over four topics and three sources, one alias each, newest last."""
    base = read_document(NEWS_FIXTURE)
    items = []
    for n in range(COUNT):
        brand = f"source{n % 3}.example.com"
        changes = {
            "title": f"Item number {n}",
            "slug": f"item-{n}",
            "mdName": f"item-{n}",
            "date": f"2022-03-{1 + n % 28:02d}T{n % 24:02d}:{n:02d}:00Z",
            "categories": [TOPICS[n % 4], TOPICS[(n + 1) % 4]],
            "aliases": f"/old/item-{n}",
            "description": f"About item {n}.",
            "link": {"brand": brand, "href": f"https://{brand}/articles/{n}"},
        }
        items.append(base.updated(changes, body=f"<p>The brief of item {n}.</p>"))
    return items


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("planned every page although only a few items changed")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _stamps(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _manifest(root: Path) -> dict[str, str]:
    files: dict[str, str] = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    return files


def _build(items: list[CuratedItem], out: Path) -> BuildReport:
    return build_site(items, out, config=load_config(None), options=OPTIONS)


def _partial_rebuild(items: list[CuratedItem], out: Path, monkeypatch: pytest.MonkeyPatch) -> BuildReport:
    """A rebuild in which planning every page fails the test."""
    with monkeypatch.context() as patched:
        patched.setattr(site_build, "plan_site", _refuse)
        return _build(items, out)


def _assert_same_as_a_full_build(items: list[CuratedItem], out: Path, tmp_path: Path) -> None:
    fresh = tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}"
    site_build._VIEW_CACHE.clear()
    build_site(items, fresh, config=load_config(None), options=OPTIONS)
    assert _files(out).keys() == _files(fresh).keys()
    assert {k: v for k, v in _files(out).items() if k != MANIFEST_NAME} == {
        k: v for k, v in _files(fresh).items() if k != MANIFEST_NAME
    }
    assert _manifest(out) == _manifest(fresh)


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A full build of ``many_items``, with partial plans allowed for a change of any size."""
    monkeypatch.setattr(site_build, "PARTIAL_PLAN_SHARE", 1.0)
    monkeypatch.setattr(site_build, "_VIEW_CACHE", {})
    monkeypatch.setattr(site_build, "_ON_DISK", {})
    out = tmp_path / "site"
    _build(many_items(), out)
    return out


def _edit(n: int, **changes: str) -> Callable[[list[CuratedItem]], None]:
    def edit(items: list[CuratedItem]) -> None:
        fields = {k: v for k, v in changes.items() if k != "body"}
        items[n] = items[n].updated(fields, body=changes.get("body"))

    return edit


@pytest.mark.parametrize(
    "edits",
    [
        pytest.param([_edit(20, description="A new description.")], id="brief-of-an-old-item"),
        pytest.param([_edit(NEWEST, body="<p>A new brief.</p>")], id="brief-of-the-newest-item"),
        pytest.param([_edit(NEWEST, title="Newest, renamed")], id="title-on-the-home-page"),
        pytest.param([_edit(7, title="A new title")], id="title-with-an-alias-page"),
        pytest.param([_edit(3, title="Three"), _edit(33, description="Thirty-three")], id="two-items"),
    ],
)
@pytest.mark.parametrize("warm", [False, True], ids=["new-process", "warm-process"])
def test_a_few_changed_items_are_planned_alone_and_the_site_is_the_same(
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edits: list[Callable[[list[CuratedItem]], None]],
    warm: bool,
) -> None:
    items = many_items()
    for edit in edits:
        edit(items)
    if not warm:
        forget_views(monkeypatch)
    before = _stamps(site)
    report = _partial_rebuild(items, site, monkeypatch)
    after = _stamps(site)
    rewritten = {path for path in after if after[path] != before.get(path)} - {MANIFEST_NAME}
    assert 0 < report.written == len(rewritten) < 30
    assert report.items == COUNT and report.files == len(after) - 1
    _assert_same_as_a_full_build(items, site, tmp_path)


def test_successive_partial_rebuilds_keep_the_state_in_step(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = many_items()
    for round_ in range(3):
        items[5 + round_] = items[5 + round_].updated({"description": f"Round {round_}."})
        forget_views(monkeypatch)
        _partial_rebuild(items, site, monkeypatch)
    _assert_same_as_a_full_build(items, site, tmp_path)


def _move(items: list[CuratedItem]) -> None:
    items[9] = items[9].updated({"date": "2023-01-01T00:00:00Z"})


def _relist(items: list[CuratedItem]) -> None:
    items[9] = items[9].updated({"categories": [TOPICS[0]]})


def _remove(items: list[CuratedItem]) -> None:
    items.pop(9)


def _add(items: list[CuratedItem]) -> None:
    items.append(items[0].updated({"slug": "extra", "mdName": "extra"}))


@pytest.mark.parametrize(
    "change", [_move, _relist, _remove, _add], ids=["moved", "relisted", "removed", "added"]
)
def test_a_change_of_place_plans_every_page(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[list[CuratedItem]], None]
) -> None:
    items = many_items()
    change(items)
    forget_views(monkeypatch)
    calls: list[int] = []
    full_plan = site_build.plan_site

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return full_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(site_build, "plan_site", counted)
    _build(items, site)
    assert calls == [1]
    _assert_same_as_a_full_build(items, site, tmp_path)


def test_a_search_part_that_cannot_be_read_back_is_made_from_the_views(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / "search/part-00.json").write_text('{"items": "not rows"}', encoding="utf-8")
    items = many_items()
    items[6] = items[6].updated({"title": "Six, renamed"})
    forget_views(monkeypatch)
    _partial_rebuild(items, site, monkeypatch)
    _assert_same_as_a_full_build(items, site, tmp_path)


def test_a_page_deleted_by_hand_takes_a_full_plan(site: Path, tmp_path: Path) -> None:
    items = many_items()
    items[12] = items[12].updated({"description": "Changed."})
    (site / "archive/index.html").unlink()
    report = _build(items, site)
    assert (site / "archive/index.html").is_file()
    assert report.written > 1
    _assert_same_as_a_full_build(items, site, tmp_path)


def test_a_state_left_by_another_build_is_not_trusted(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_path = plan_state_path(view_cache_path(site))
    assert state_path.is_file()
    manifest = json.loads((site / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert load_plan_state(state_path, "another site", manifest["inputs"]) is None
    assert load_plan_state(state_path, "x", "another build") is None
    saved = json.loads(state_path.read_text(encoding="utf-8"))
    assert load_plan_state(state_path, saved["context"], manifest["inputs"]) is not None
    for damage in ({"keys": saved["keys"][:-1]}, {"digests": [1] * len(saved["digests"])}):
        state_path.write_text(json.dumps({**saved, **damage}), encoding="utf-8")
        assert load_plan_state(state_path, saved["context"], manifest["inputs"]) is None
    state_path.write_text("{not json", encoding="utf-8")
    items = many_items()
    items[4] = items[4].updated({"description": "Changed."})
    forget_views(monkeypatch)
    report = _build(items, site)  # a full plan, and a readable state again
    assert report.written > 0
    assert json.loads(state_path.read_text(encoding="utf-8"))["version"] == replan.STATE_VERSION


def test_the_view_cache_holds_exactly_the_current_views_after_a_partial_plan(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = many_items()
    items[11] = items[11].updated({"description": "Changed."})
    forget_views(monkeypatch)
    _partial_rebuild(items, site, monkeypatch)
    manifest = json.loads((site / MANIFEST_NAME).read_text(encoding="utf-8"))
    state = load_plan_state(plan_state_path(view_cache_path(site)), _shared_inputs(site), manifest["inputs"])
    assert state is not None
    with closing(sqlite3.connect(view_cache_path(site))) as db:
        cached = {fingerprint for (fingerprint,) in db.execute("SELECT fingerprint FROM views")}
    assert cached == set(state.fingerprints) and len(cached) == COUNT


def _shared_inputs(site: Path) -> str:
    state = json.loads(plan_state_path(view_cache_path(site)).read_text(encoding="utf-8"))
    context: str = state["context"]
    return context


def test_one_changed_item_of_ten_thousand_is_planned_alone() -> None:
    assert int(10_000 * site_build.PARTIAL_PLAN_SHARE) >= 1
