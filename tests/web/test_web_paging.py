"""Keyset paging in the JSON API and the inbox: next/prev cursors, capped offsets, exact or "about" totals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcurate.models import ItemState
from medcurate.store.listing import MAX_OFFSET, Total, about, item_total
from medcurate.store.repository import ItemQuery
from medcurate.users import Role
from websupport import Site, add, make_site, news_item, sign_in, store, token_for

ITEMS = 7


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path, page_size=3)
    add(site.database, "eve", Role.EDITOR)
    for n in range(1, ITEMS + 1):
        # Two items share a date: the id breaks the tie, so a page boundary between them loses nothing.
        day = f"2024-03-{min(n, 6):02d}"
        store(site.database, news_item(n, title=f"Telehealth story {n}", date=day), state=ItemState.DRAFT)
    yield site
    site.database.dispose()


@pytest.fixture()
def api(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        client.headers["Authorization"] = f"Bearer {token_for(site.database, 'eve')}"
        yield client


def _walk(api: TestClient, params: dict[str, str | int]) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        answer = api.get("/api/items", params=params | ({"after": cursor} if cursor else {})).json()
        pages.append([item["id"] for item in answer["data"]])
        cursor = answer["next"]
        if cursor is None:
            return pages


def test_next_cursors_walk_every_item_once_newest_first(api: TestClient) -> None:
    everything = [item["id"] for item in api.get("/api/items", params={"limit": 100}).json()["data"]]
    pages = _walk(api, {"limit": 2})
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert [i for page in pages for i in page] == everything == [7, 6, 5, 4, 3, 2, 1]


def test_prev_cursor_leads_back_to_the_page_before(api: TestClient) -> None:
    first = api.get("/api/items", params={"limit": 2}).json()
    assert first["prev"] is None and first["count"] == ITEMS and first["count_exact"] is True
    second = api.get("/api/items", params={"limit": 2, "after": first["next"]}).json()
    back = api.get("/api/items", params={"limit": 2, "before": second["prev"]}).json()
    assert [i["id"] for i in back["data"]] == [i["id"] for i in first["data"]]
    assert back["prev"] is None and back["next"] == first["next"]


def test_a_ranked_search_pages_with_its_own_cursors(api: TestClient) -> None:
    pages = _walk(api, {"limit": 3, "q": "telehealth"})
    assert sorted(i for page in pages for i in page) == list(range(1, ITEMS + 1))
    keyset = api.get("/api/items", params={"limit": 3}).json()["next"]
    refused = api.get("/api/items", params={"limit": 3, "q": "telehealth", "after": keyset})
    assert refused.status_code == 422 and "ranked search" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"offset": MAX_OFFSET + 1}, "after="),
        ({"after": "not a cursor!"}, "not a page cursor"),
    ],
)
def test_deep_offsets_and_broken_cursors_are_422_saying_what_to_do(
    api: TestClient, params: dict[str, str | int], says: str
) -> None:
    answer = api.get("/api/items", params=params)
    assert answer.status_code == 422 and says in answer.json()["detail"]


def test_the_inbox_pages_with_newer_and_older_links(site: Site) -> None:
    with TestClient(site.app) as client:
        sign_in(client, "eve")
        first = client.get("/items?state=draft")
        assert ">7 items<" in first.text.replace("</span>", "<")
        older = re.search(r'href="\?([^"]*after=[^"]*)" rel="next"', first.text)
        assert older and 'rel="prev"' not in first.text
        second = client.get("/items?" + unescape(older.group(1)))
        titles = re.findall(r'class="title">Telehealth story (\d)<', second.text)
        assert titles == ["4", "3", "2"] and 'rel="prev"' in second.text


def test_totals_say_about_past_the_exact_bound(site: Site) -> None:
    with site.database.session() as session:
        small = item_total(session, query=ItemQuery(), exact_up_to=ITEMS)
        large = item_total(session, query=ItemQuery(), exact_up_to=3)
    assert small == Total(ITEMS, exact=True) and large == Total(ITEMS, exact=False)
    assert about(small) == "7" and about(Total(12_437, exact=False)) == "about 12,400"
