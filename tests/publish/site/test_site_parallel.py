"""A full build rendered by worker processes (``publish.site.parallel``) equals the serial one."""

from __future__ import annotations

from pathlib import Path

import pytest

from goldensite import GOLDEN, drop_state, golden_store
from medcurate.errors import PublishError
from medcurate.models import ItemState
from medcurate.publish.service import StoredItems
from medcurate.publish.site import SiteOptions, build_site, context
from medcurate.publish.site.parallel import OBJECT_CHARS, WORKERS_ENV, PageJob, worker_count
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
