"""The desk's workflow: the site's preview, the live link, assignment, editors' notes, source names."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcurate.models import ItemState
from medcurate.publish.seed import export_seed
from medcurate.store.repository import get_item, item_from_record
from medcurate.users import Role
from websupport import Site, add, make_site, news_item, sign_in, store, token_for

BASE_URL = "https://news.example.org/"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with an editor, a curator, a viewer and two drafts (one naming its source)."""
    home = tmp_path_factory.mktemp("seeded")
    template = make_site(home)
    for name, role in (("eve", Role.EDITOR), ("cal", Role.CURATOR), ("vic", Role.VIEWER)):
        add(template.database, name, role)
    named = news_item(1, title="Ransomware hits hospital", brand="statnews.com")
    link = dict(named.front_matter["link"])
    named = named.updated({"link": {**link, "name": "STAT"}})
    store(template.database, named)
    store(template.database, news_item(2, title="AI reads chest X-rays", brand="radiology.example"))
    topics = ["Gartner: Cybersecurity", "Gartner: Risk Management", "telehealth"]
    store(template.database, news_item(3, title="Risk registers", topics=topics, date="2023-01-01"))
    template.database.dispose()
    return home / "medcurate.db"


@pytest.fixture()
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    """A copy of the seeded site whose configuration names its base URL."""
    shutil.copyfile(seeded, tmp_path / "medcurate.db")
    (tmp_path / "medcurate.toml").write_text(f'[site]\nbase_url = "{BASE_URL}"\n', encoding="utf-8")
    site = make_site(tmp_path)
    yield site
    site.database.dispose()


@pytest.fixture()
def client(site: Site) -> Iterator[TestClient]:
    """An anonymous client."""
    with TestClient(site.app) as client:
        yield client


def bearer(site: Site, username: str) -> dict[str, str]:
    """Headers carrying a fresh API token of ``username``."""
    return {"Authorization": f"Bearer {token_for(site.database, username)}"}


def test_preview_is_the_site_page_before_approval(client: TestClient, site: Site) -> None:
    sign_in(client, "vic")
    page = client.get("/items/1/preview")
    assert page.status_code == 200
    html = page.text
    # The site's own template: its stylesheet (served from the preview's folder), canonical link, JSON-LD.
    assert 'href="/items/1/preview/files/static/style.css"' in html
    assert '<link rel="canonical" href="https://news.example.org/news/' in html
    assert '"@type": "NewsArticle"' in html or '"@type":"NewsArticle"' in html
    assert "Ransomware hits hospital" in html and "More from STAT" in html
    assert "img-src 'self' https:" in page.headers["content-security-policy"]
    assert client.get("/items/1/preview/files/static/style.css").status_code == 200
    assert client.get("/items/1/preview/files/../../medcurate.db").status_code == 404
    with site.database.session() as session:
        assert get_item(session, item_id=1).state == ItemState.DRAFT.value, "a preview publishes nothing"
    assert not (site.home / "site").exists()


def test_publishing_notice_links_to_the_live_page(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    response = client.post("/items/1/state/publish", data={"csrf_token": csrf}, follow_redirects=True)
    assert response.status_code == 200
    with site.database.session() as session:
        assert get_item(session, item_id=1).state == ItemState.PUBLISHED.value
    live = "https://news.example.org/news/"
    assert f'<a href="{live}' in response.text.split('class="notice"')[1].split("</div>")[0]
    panel = response.text.split('id="workflow"')[1]
    assert f'Live: <a href="{live}' in panel
    # The live path is the one the site's build gave the item.
    path = panel.split(f'Live: <a href="{BASE_URL.rstrip("/")}')[1].split('"')[0]
    assert (site.home / "site" / path.strip("/") / "index.html").is_file()


def test_a_notice_links_only_to_the_site_itself(client: TestClient) -> None:
    sign_in(client, "eve")
    page = client.get("/items", params={"notice": 'Published: https://evil.example/x "><script>'}).text
    notice = page.split('class="notice"')[1].split("</div>")[0]
    assert "<a " not in notice and "<script>" not in notice


def test_assign_a_draft_and_filter_assigned_to_me(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    review = client.get("/items/2").text
    assert '<option value="cal">cal</option>' in review and "vic</option>" not in review
    response = client.post("/items/2/assign", data={"csrf_token": csrf, "assignee": "eve"})
    assert response.status_code == 200 and "Assigned to eve." in response.text
    mine = client.get("/items", params={"assigned": "me"}).text
    assert "AI reads chest X-rays" in mine and "Ransomware hits hospital" not in mine
    api = client.get("/api/items", params={"assigned": "me"}, headers=bearer(site, "eve")).json()
    assert [i["id"] for i in api["data"]] == [2] and api["data"][0]["assigned_to"] == "eve"
    calls = client.get("/api/items", params={"assigned": "me"}, headers=bearer(site, "cal")).json()
    assert calls["data"] == []
    refused = client.put("/api/items/2/assignee", json={"assignee": "vic"}, headers=bearer(site, "eve"))
    assert refused.status_code == 422 and "curator, editor or admin" in refused.json()["detail"]
    assert client.get("/api/items/2", headers=bearer(site, "eve")).json()["assigned_to"] == "eve"
    cleared = client.put("/api/items/2/assignee", json={"assignee": None}, headers=bearer(site, "cal"))
    assert cleared.json() == {"assignee": None}
    assert client.get("/api/items/2", headers=bearer(site, "eve")).json()["assigned_to"] is None
    history = client.get("/api/items/2/audit", headers=bearer(site, "eve")).json()["data"]
    assert [e["action"] for e in history[:2]] == ["assign", "assign"]


def test_notes_stay_in_the_history_and_are_never_published(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    secret = "Check the figures with the hospital before this goes out"
    response = client.post("/items/1/notes", data={"csrf_token": csrf, "text": secret})
    assert response.status_code == 200 and secret in response.text
    api_note = client.post("/api/items/1/notes", json={"text": "Second look"}, headers=bearer(site, "cal"))
    assert api_note.status_code == 201
    notes = client.get("/api/items/1/notes", headers=bearer(site, "vic")).json()
    assert [n["text"] for n in notes] == [secret, "Second look"]
    refused = client.post("/api/items/1/notes", json={"text": "x"}, headers=bearer(site, "vic"))
    assert refused.status_code == 403
    assert len(client.get("/api/items/1/notes", headers=bearer(site, "vic")).json()) == 2
    history = client.get("/api/items/1/audit", headers=bearer(site, "cal")).json()["data"]
    assert any(e["action"] == "note" and e["detail"] == {"note": secret} for e in history)
    # Published and exported: the note is in neither.
    assert client.post("/api/items/1/publish", headers=bearer(site, "eve")).status_code == 200
    with site.database.session() as session:
        item = item_from_record(get_item(session, item_id=1))
    assert secret not in str(item.front_matter) and secret not in item.body
    export_seed([item], site.home / "export")
    exported = [p.read_text(encoding="utf-8") for p in (site.home / "export").rglob("*.md")]
    built = [p.read_text(encoding="utf-8") for p in (site.home / "site").rglob("*.*") if p.suffix != ".gz"]
    assert exported and not any(secret in text for text in exported + built)


def test_source_name_is_shown_and_the_brand_keeps_its_domain(client: TestClient, site: Site) -> None:
    sign_in(client, "vic")
    inbox = client.get("/items").text
    assert 'title="statnews.com">STAT</a>' in inbox
    assert '<option value="statnews.com">STAT</option>' in inbox
    assert ">radiology.example</a>" in inbox, "no name given: the domain stands in"
    review = client.get("/items/1").text
    assert 'title="statnews.com">STAT</span>' in review, (
        "the reading view names the source, its domain on hover"
    )
    row = client.get("/api/items/1", headers=bearer(site, "vic")).json()
    assert row["brand"] == "statnews.com" and row["source_name"] == "STAT"
    assert row["front_matter"]["link"]["brand"] == "statnews.com"


def test_dashboard_counts_by_the_date_of_the_editors_action(client: TestClient, site: Site) -> None:
    from datetime import UTC, datetime

    from medcurate.store.queries import editor_actions

    headers = bearer(site, "eve")
    assert client.post("/api/items/2/approve", headers=headers).status_code == 200
    assert client.post("/api/items/1/publish", headers=headers).status_code == 200
    stats = client.get("/api/stats", headers=headers).json()
    # The articles are dated 2024; the actions were taken this week, and count there.
    this_week = stats["actions_per_week"][-1]
    assert this_week["counts"] == {"approved": 1, "published": 1}
    assert all(sum(w["counts"].values()) == 0 for w in stats["actions_per_week"][:-1])
    assert stats["weeks"][-1].startswith("2024-03")
    # The window is the injected one: a year on, this week's actions are out of it.
    with site.database.session() as session:
        later = editor_actions(session, now=datetime(2099, 1, 1, tzinfo=UTC))
    assert later.counts == {}
    sign_in(client, "vic")
    page = client.get("/dashboard").text
    assert "Editors&#39; actions per week" in page or "Editors' actions per week" in page


def test_topic_chips_say_the_taxonomy_once(client: TestClient) -> None:
    sign_in(client, "vic")
    row = client.get("/items").text.split("Risk registers")[1].split("</tr>")[0]
    assert row.count(">Gartner</span>") == 1
    assert 'title="Gartner: Cybersecurity">Cybersecurity</a>' in row
    assert 'title="Gartner: Risk Management">Risk Management</a>' in row
    review = client.get("/items/3").text.split('id="topics"')[1]
    assert review.count('<h3 class="taxonomy">Gartner</h3>') == 1
    assert '<li class="chip" title="Gartner: Cybersecurity">Cybersecurity' in review
