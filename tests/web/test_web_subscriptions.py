"""Subscriptions and scheduled publishing through the web app: /api/sources, /sources, the dashboard
tile, "Publish at". Every write is checked in the database, not only by its status code.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcurate.models import ItemState
from medcurate.scheduler.ticker import Ticker
from medcurate.store.models import ItemRecord, SourceRecord
from medcurate.store.subscriptions import get_subscription
from medcurate.users import Role
from websupport import Site, add, make_site, news_item, sign_in, store, token_for


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with an editor, a curator and a viewer, and one draft (argon2 is slow on purpose)."""
    home = tmp_path_factory.mktemp("seeded")
    template = make_site(home)
    for name, role in (("eve", Role.EDITOR), ("cal", Role.CURATOR), ("vic", Role.VIEWER)):
        add(template.database, name, role)
    store(template.database, news_item(1, title="Ransomware hits hospital"))
    template.database.dispose()
    return home / "medcurate.db"


@pytest.fixture()
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    shutil.copyfile(seeded, tmp_path / "medcurate.db")
    site = make_site(tmp_path)
    yield site
    site.database.dispose()


@pytest.fixture()
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        yield client


def bearer(site: Site, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(site.database, username)}"}


def stored_source(site: Site, source_id: int) -> SourceRecord:
    with site.database.session() as session:
        source = get_subscription(session, source_id)
        session.expunge(source)
    return source


def test_api_follows_pauses_resumes_and_removes_a_source(client: TestClient, site: Site) -> None:
    curator = bearer(site, "cal")
    body = {
        "location": "https://healthitnews.example/sitemap-news.xml",
        "kind": "sitemap",
        "refresh_minutes": 15,
        "community": "news",
        "topics": ["Cybersecurity", "Policy"],
    }
    created = client.post("/api/sources", json=body, headers=curator)
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    stored = stored_source(site, source_id)
    assert (stored.kind, stored.refresh_minutes, stored.community) == ("sitemap", 15, "news")
    assert (
        stored.topics == ["Cybersecurity", "Policy"] and stored.enabled and stored.next_refresh_at is not None
    )

    refused = client.post("/api/sources", json={**body, "location": "ftp://x.example/feed"}, headers=curator)
    assert refused.status_code == 422
    unknown = client.post(
        "/api/sources", json={**body, "location": "https://x.example/f", "community": "nope"}, headers=curator
    )
    assert unknown.status_code == 422 and "unknown community" in unknown.text
    assert client.post("/api/sources", json=body, headers=bearer(site, "vic")).status_code == 403

    paused = client.post(f"/api/sources/{source_id}/pause", json={"reason": "site redesign"}, headers=curator)
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert stored_source(site, source_id).paused_reason == "site redesign"
    listed = client.get("/api/sources", headers=bearer(site, "vic")).json()
    assert listed["data"][0]["paused_reason"] == "site redesign" and listed["data"][0]["drafts_30d"] == 0

    resumed = client.post(f"/api/sources/{source_id}/resume", headers=curator)
    assert resumed.status_code == 200
    stored = stored_source(site, source_id)
    assert stored.enabled and stored.paused_reason is None and stored.consecutive_failures == 0

    assert client.delete(f"/api/sources/{source_id}", headers=curator).status_code == 403
    assert client.delete(f"/api/sources/{source_id}", headers=bearer(site, "eve")).status_code == 204
    with site.database.session() as session:
        assert session.get(SourceRecord, source_id) is None


def test_sources_page_and_dashboard_show_failing_sources(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    response = client.post(
        "/sources",
        data={
            "csrf_token": csrf,
            "location": "https://gone.example/feed.xml",
            "title": "Gone Weekly",
            "refresh_minutes": "60",
            "topics": "Policy, Payers",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    with site.database.session() as session:
        source = session.query(SourceRecord).filter_by(location="https://gone.example/feed.xml").one()
        assert source.refresh_minutes == 60 and source.topics == ["Policy", "Payers"]
        source.last_error = "the server answered HTTP 500"
        source.consecutive_failures = 2
        source_id = source.id
    page = client.get("/sources").text
    assert "Gone Weekly" in page and "every 60 min" in page and "2 in a row" in page
    client.post(f"/sources/{source_id}/pause", data={"csrf_token": csrf, "reason": "dead"})
    assert stored_source(site, source_id).paused_reason == "dead"
    assert "Paused: dead" in client.get("/sources").text
    dashboard = client.get("/dashboard").text
    assert "Sources needing a look" in dashboard and "Gone Weekly" in dashboard


def test_a_scheduled_item_is_published_by_the_ticker_and_the_site_has_it(
    client: TestClient, site: Site
) -> None:
    publish_at = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)
    response = client.post(
        "/api/items/1/schedule", json={"publish_at": publish_at.isoformat()}, headers=bearer(site, "eve")
    )
    assert response.status_code == 200, response.text
    with site.database.session() as session:
        stored = session.get(ItemRecord, 1)
        assert stored is not None and stored.publish_at is not None
        assert stored.publish_at.replace(tzinfo=UTC) == publish_at
    assert (
        client.post(
            "/api/items/1/schedule", json={"publish_at": None}, headers=bearer(site, "cal")
        ).status_code
        == 403
    )

    now = publish_at - timedelta(minutes=1)
    ticker = Ticker(site.database, site.settings, clock=lambda: now, site_dir=site.home / "site")
    assert ticker.tick().published == []
    now = publish_at + timedelta(seconds=30)
    assert ticker.tick().published == [1]
    assert ticker.tick().published == []  # published once
    with site.database.session() as session:
        record = session.get(ItemRecord, 1)
        assert record is not None and record.state == ItemState.PUBLISHED.value and record.publish_at is None
    pages = [p.read_text(encoding="utf-8") for p in (site.home / "site").rglob("*.html")]
    assert any("Ransomware hits hospital" in page for page in pages)


def test_the_review_page_schedules_and_unschedules(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    assert 'name="publish_at"' in client.get("/items/1").text
    client.post("/items/1/schedule", data={"csrf_token": csrf, "publish_at": "2030-02-01T08:30"})
    with site.database.session() as session:
        record = session.get(ItemRecord, 1)
        assert record is not None and record.publish_at is not None
        assert record.publish_at.replace(tzinfo=UTC) == datetime(2030, 2, 1, 8, 30, tzinfo=UTC)
    assert "Unschedule" in client.get("/items/1").text
    client.post("/items/1/schedule", data={"csrf_token": csrf, "clear": "1"})
    with site.database.session() as session:
        record = session.get(ItemRecord, 1)
        assert record is not None and record.publish_at is None
