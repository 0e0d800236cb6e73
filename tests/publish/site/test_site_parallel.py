"""A full build rendered by worker processes (``publish.site.parallel``) equals the serial one."""

from __future__ import annotations

from pathlib import Path

import pytest

from goldensite import GOLDEN, drop_state, golden_store
from medcurate.errors import PublishError
from medcurate.models import ItemState
from medcurate.publish.service import StoredItems
from medcurate.publish.site import SiteOptions, build_site, context
from medcurate.publish.site.liststate import CardReader
from medcurate.publish.site.parallel import OBJECT_CHARS, WORKERS_ENV, PageJob, worker_count
from medcurate.publish.site.state import KeptItem, Member, SiteState
from sitesupport import site_files


@pytest.mark.parametrize("in_flight_chars", [context.IN_FLIGHT_CHARS, 1])
def test_a_build_by_two_workers_is_the_golden_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_flight_chars: int
) -> None:
    # With a budget of one character, every batch waits for the one before: the order of the
    # pages written still does not show in the site.
    monkeypatch.setattr(context, "IN_FLIGHT_CHARS", in_flight_chars)
    out = tmp_path / "site"
    with golden_store() as (settings, database):
        options = SiteOptions(
            images_dir=settings.images_dir,
            template_dirs=(settings.home / "templates",),
            workers=2,
            pool_min_items=0,
        )
        config = settings.load_site_config()
        report = build_site(StoredItems(database, [ItemState.PUBLISHED]), out, config=config, options=options)
        again = build_site(StoredItems(database, [ItemState.PUBLISHED]), out, config=config, options=options)
    drop_state(out)
    built, golden = site_files(out), site_files(GOLDEN)
    differing = sorted(path for path in built.keys() | golden.keys() if built.get(path) != golden.get(path))
    assert not differing, f"{len(differing)} files differ from tests/golden/site: {differing[:10]}"
    assert report.written == report.files == len(golden)
    assert again.written == 0


def test_the_number_of_workers_comes_from_the_option_the_environment_or_the_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert worker_count(1) == 1
    assert worker_count(None) == 3
    monkeypatch.setenv(WORKERS_ENV, "many")
    with pytest.raises(PublishError, match=WORKERS_ENV):
        worker_count(None)
    monkeypatch.delenv(WORKERS_ENV)
    assert worker_count(None) >= 1


def test_a_page_job_counts_the_text_it_holds() -> None:
    cards = ["<li>one</li>", "<li>two</li>"]
    listing_job = PageJob("topic/x/index.html", "listing_page", (object(), object(), cards))
    alias_job = PageJob("old/index.html", "alias_page", ("/news/x/", "A title", "/old/"))
    assert listing_job.size == 2 * OBJECT_CHARS + len(cards[0]) + len(cards[1])
    assert alias_job.size == len("/news/x/") + len("A title") + len("/old/")


def _kept(key: str, sort: str) -> KeptItem:
    return KeptItem(
        key,
        "print",
        f"/news/{key}/",
        f"/news/{key}/",
        key,
        f"digest-{key}",
        sort,
        "",
        0,
        f"<li>{key}</li>",
        "{}",
    )


def test_a_worker_reads_a_pages_cards_from_what_the_build_committed(tmp_path: Path) -> None:
    state = SiteState(tmp_path / "state.sqlite")
    state.reset_items()
    rows = [_kept(key, f"2020-01-0{day}\t{key}") for day, key in enumerate("abcd", start=1)]
    state.put_items(rows, [Member("/topic/t/", r.sort, r.key, "topic", "T") for r in rows], [])
    state.commit_items()
    late = _kept("e", "2020-01-05\te")  # put after the commit: not the workers' to see yet
    state.put_items([late], [Member("/topic/t/", late.sort, "e", "topic", "T")], [])
    reader = CardReader(tmp_path / "state.sqlite")
    try:
        assert reader.cards("/topic/t/", rows[1].sort, late.sort) == [
            "<li>b</li>",
            "<li>c</li>",
            "<li>d</li>",
        ]
        assert reader.cards("/topic/other/", rows[0].sort, late.sort) == []
    finally:
        reader.close()
        state.close()
    again = SiteState(tmp_path / "state.sqlite")
    assert [sort for sort, _ in again.listing_digests("/topic/t/")] == [*(r.sort for r in rows), late.sort]
    again.close()


def test_a_build_stopped_after_committing_its_items_leaves_the_next_one_full(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SiteState(path)
    state.set_meta("site", "digest of the last whole build")
    state.close()
    state = SiteState(path)
    state.reset_items()
    state.put_items([_kept("a", "2020-01-01\ta")], [], [])
    state.commit_items()
    state.close(commit=False)  # what a build killed in its listings leaves
    again = SiteState(path)
    assert again.meta("site") == "" and again.item_count() == 1
    again.close()
