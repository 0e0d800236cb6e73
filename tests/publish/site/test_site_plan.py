"""The site's layout rules: stable pagination and the pages a change reaches (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from medcurate.publish.site.plan import numbered_pages, page_of_rank, pager, pages_reached, parts_for


def _pages(sorts: list[int], size: int) -> dict[int, tuple[object, ...]]:
    """Every page of a listing (0: front) with what it shows: its items and its links."""
    numbered = numbered_pages(len(sorts), size)
    pages: dict[int, list[int]] = {}
    for rank, sort in enumerate(sorted(sorts)):
        pages.setdefault(page_of_rank(rank, numbered, size), []).append(sort)
    shown = {}
    for number, items in pages.items():
        page = pager("/l/", number, numbered)
        # What a page prints: its items, its links, and on the front page the listing's size.
        shown[number] = (tuple(items), page.url, page.older_url, page.newer_url, number or len(sorts))
    return shown


@given(
    before=st.sets(st.integers(0, 60), max_size=25),
    removed=st.sets(st.integers(0, 60), max_size=4),
    added=st.sets(st.integers(61, 120), max_size=4) | st.sets(st.integers(0, 120), max_size=4),
    size=st.integers(1, 4),
)
def test_pages_reached_names_every_page_a_change_alters(
    before: set[int], removed: set[int], added: set[int], size: int
) -> None:
    removed &= before
    after = (before - removed) | added
    moved = removed | (added - before)
    if not moved or not after:
        return
    old, new = _pages(sorted(before), size), _pages(sorted(after), size)
    first = sum(1 for s in after if s < min(moved))
    last = sum(1 for s in after if s < max(moved))
    reached = set(pages_reached(first, last, before=len(before), after=len(after), size=size))
    altered = {number for number, page in new.items() if old.get(number) != page}
    assert altered <= reached, (sorted(before), sorted(removed), sorted(added), size, first, last)


def test_numbered_pages_count_from_the_oldest_and_the_front_holds_the_rest() -> None:
    assert numbered_pages(1, 20) == 0
    assert numbered_pages(20, 20) == 0
    assert numbered_pages(21, 20) == 1
    assert [page_of_rank(r, 1, 20) for r in (0, 19, 20)] == [1, 1, 0]
    front, first = pager("/news/", 0, 2), pager("/news/", 2, 2)
    assert (front.older_url, front.newer_url) == ("/news/page/2/", None)
    assert (first.older_url, first.newer_url) == ("/news/page/1/", "/news/")


def test_parts_double_as_the_site_grows() -> None:
    assert [parts_for(n, 256) for n in (0, 256, 257, 512, 513, 1_000_000)] == [0, 0, 1, 1, 2, 12]
