"""Stories in the web app and the API: the inbox card, the review panel, primary, split and merge, roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcurate.store import stories as store
from medcurate.store.repository import audit_trail
from medcurate.users import Role
from websupport import Site, add, copied_site, make_site, news_item, sign_in, token_for
from websupport import store as store_item


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An editor, a viewer, a story of three outlets (one a government page), and two lone items."""
    home = tmp_path_factory.mktemp("stories-web")
    template = make_site(home)
    add(template.database, "eve", Role.EDITOR)
    add(template.database, "vic", Role.VIEWER)
    brands = ["fiercehealthcare.com", "healthit.gov", "himss.org", "cnbc.com", "theverge.com"]
    for n, brand in enumerate(brands, start=1):
        item = news_item(n, title=f"Story item {n}", brand=brand)
        if brand == "healthit.gov":
            item = item.updated({"sourceType": {"type": "government", "reason": "a .gov site"}})
        store_item(template.database, item)
    with template.database.session() as session:
        store.new_story(session, item_ids=[1, 2, 3], reason="test")
    template.database.dispose()
    return home / "medcurate.db"


@pytest.fixture()
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    """A copy of the seeded site for one test."""
    site = copied_site(seeded, tmp_path)
    yield site
    site.database.dispose()


@pytest.fixture()
def client(site: Site) -> Iterator[TestClient]:
    """An anonymous client."""
    with TestClient(site.app) as client:
        yield client


def _api(client: TestClient, site: Site, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(site.database, username)}"}


def test_the_inbox_shows_a_story_once_as_a_card(client: TestClient) -> None:
    sign_in(client, "eve")
    page = client.get("/items").text
    assert page.count('class="story-card"') == 1
    assert "3 outlets" in page
    for n in (1, 2, 3):
        assert page.count(f">Story item {n}<") == 1
    assert "suggested primary" in page  # the government page, the primary source


def test_api_lists_stories_and_suggests_the_primary_source(client: TestClient, site: Site) -> None:
    (story,) = client.get("/api/stories", headers=_api(client, site, "vic")).json()
    assert [i["id"] for i in story["items"]] == [1, 2, 3]
    assert (story["primary"], story["suggested_primary"], story["outlets"]) == (None, 2, 3)


def test_editor_chooses_splits_and_merges_through_the_api(client: TestClient, site: Site) -> None:
    headers = _api(client, site, "eve")
    story_id = client.get("/api/stories", headers=headers).json()[0]["id"]
    chosen = client.post(f"/api/stories/{story_id}/primary", json={"item_id": 2}, headers=headers)
    assert chosen.status_code == 200 and chosen.json()["primary"] == 2
    split = client.post(f"/api/stories/{story_id}/split", json={"item_ids": [3]}, headers=headers)
    assert [i["id"] for i in split.json()["items"]] == [2, 1]  # the primary first
    with site.database.session() as session:
        other = store.new_story(session, item_ids=[4, 5], reason="test")
    merged = client.post(f"/api/stories/{story_id}/merge", json={"other_story_id": other}, headers=headers)
    assert sorted(i["id"] for i in merged.json()["items"]) == [1, 2, 4, 5]
    with site.database.session() as session:
        actions = [e.action for e in audit_trail(session, entity_type="story", entity_id=str(story_id))]
        decisions = {d.action for d in store.decisions(session)}
    assert sorted(actions) == ["story.merge", "story.primary", "story.split"]
    assert decisions == {"split", "merge"}


def test_viewers_may_not_change_stories_and_bad_requests_are_refused(client: TestClient, site: Site) -> None:
    story_id = client.get("/api/stories", headers=_api(client, site, "vic")).json()[0]["id"]
    refused = client.post(
        f"/api/stories/{story_id}/primary", json={"item_id": 1}, headers=_api(client, site, "vic")
    )
    assert refused.status_code == 403
    editor = _api(client, site, "eve")
    outsider = client.post(f"/api/stories/{story_id}/primary", json={"item_id": 4}, headers=editor)
    assert outsider.status_code == 422
    everything = client.post(f"/api/stories/{story_id}/split", json={"item_ids": [1, 2, 3]}, headers=editor)
    assert everything.status_code == 422
    assert client.get("/api/stories/999", headers=editor).status_code == 404


def test_review_page_panel_splits_and_merges(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    page = client.get("/items/1").text
    assert 'id="story"' in page and "Story item 2" in page
    story_id = client.get("/api/stories", headers=_api(client, site, "eve")).json()[0]["id"]
    done = client.post(
        f"/stories/{story_id}/split", data={"item_id": 1, "csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    merged = client.post(
        "/items/4/story/merge", data={"other_item_id": 5, "csrf_token": csrf}, follow_redirects=False
    )
    assert merged.status_code == 303
    stories = client.get("/api/stories", headers=_api(client, site, "eve")).json()
    assert sorted(sorted(i["id"] for i in s["items"]) for s in stories) == [[2, 3], [4, 5]]
