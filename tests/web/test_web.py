"""The web app through its HTTP interface (TestClient): sign-in, CSRF, roles, items, audit, publishing."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from medcurate.models import ItemState
from medcurate.store.queries import list_batches, list_sources
from medcurate.store.repository import get_item, item_from_record
from medcurate.users import Role, get_user, list_api_tokens
from medcurate.web.auth import LoginLimits
from medcurate.web.charts import horizontal_bars, line_chart, stacked_bars
from websupport import PASSWORD, Site, add, item_in_store, make_site, news_item, sign_in, store, token_for


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with one user of each role and three items, built once (argon2 is slow on purpose)."""
    home = tmp_path_factory.mktemp("seeded")
    template = make_site(home)
    for name, role in (
        ("ada", Role.ADMIN),
        ("eve", Role.EDITOR),
        ("cal", Role.CURATOR),
        ("vic", Role.VIEWER),
    ):
        add(template.database, name, role)
    topics = ["Healthcare IT News: Cybersecurity"]
    store(template.database, news_item(1, title="Ransomware hits hospital", topics=topics))
    store(
        template.database,
        news_item(2, title="AI reads chest X-rays", brand="radiology.example", date="2024-02-01"),
    )
    store(template.database, news_item(3, title="Telehealth rules extended"), state=ItemState.PUBLISHED)
    template.database.dispose()
    return home / "medcurate.db"


@pytest.fixture()
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    """A copy of the seeded site for one test."""
    shutil.copyfile(seeded, tmp_path / "medcurate.db")
    site = make_site(tmp_path, login_limits=LoginLimits(free_failures=3, first_delay=timedelta(hours=1)))
    yield site
    site.database.dispose()


@pytest.fixture()
def client(site: Site) -> Iterator[TestClient]:
    """An anonymous client."""
    with TestClient(site.app) as client:
        yield client


def attempt(client: TestClient, username: str, password: str) -> int:
    """One sign-in through the form, with a fresh form token; the response's status."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": username, "password": password, "csrf_token": token.group(1)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def bearer(site: Site, username: str) -> dict[str, str]:
    """Headers carrying a fresh API token of ``username``."""
    return {"Authorization": f"Bearer {token_for(site.database, username)}"}


# --- sign-in, sessions, CSRF, rate limits -------------------------------------------------------


@pytest.mark.parametrize("path", ["/items", "/items/1", "/dashboard", "/submit", "/audit", "/users"])
def test_anonymous_visitor_is_sent_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_anonymous_api_call_is_401_with_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/items")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "sign in" in response.json()["detail"]


def test_sign_in_sets_a_hardened_session_cookie(tmp_path: Path) -> None:
    site = make_site(tmp_path, secure_cookies=True)
    add(site.database, "eve", Role.EDITOR)
    with TestClient(site.app, base_url="https://testserver") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/login",
            data={"username": "eve", "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
    cookie = response.headers["set-cookie"].lower()
    assert "medcurate_session=" in cookie
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=lax" in cookie
    site.database.dispose()


def test_sign_in_and_out(client: TestClient) -> None:
    sign_in(client, "eve")
    assert "Ransomware hits hospital" in client.get("/items").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/items").text)
    assert csrf
    assert (
        client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False).status_code == 303
    )
    assert client.get("/items", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: TestClient) -> None:
    for username in ("eve", "nobody"):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        response = client.post(
            "/login", data={"username": username, "password": "wrong password", "csrf_token": token.group(1)}
        )
        assert response.status_code == 401
        assert "wrong username or password" in response.text


def test_sign_in_is_rate_limited_per_username(client: TestClient) -> None:
    assert [attempt(client, "eve", "guess") for _ in range(3)] == [401, 401, 401]
    # now even the right password is refused from this address until the delay passes
    assert attempt(client, "eve", PASSWORD) == 429
    # another user from the same address may still sign in
    assert attempt(client, "cal", PASSWORD) == 303


def test_sign_in_form_needs_its_csrf_cookie(client: TestClient) -> None:
    response = client.post("/login", data={"username": "eve", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert client.get("/items", follow_redirects=False).status_code == 303  # still signed out


def test_post_without_csrf_token_is_refused(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    response = client.post("/items/1/state/approve", follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text
    response = client.post(
        "/items/1/state/approve", data={"csrf_token": "not-the-token"}, follow_redirects=False
    )
    assert response.status_code == 403
    with site.database.session() as session:
        assert get_item(session, item_id=1).state == "draft"
    # JSON API calls made with the cookie need the header too
    assert client.patch("/api/items/1", json={"title": "x"}).status_code == 403
    assert item_in_store(site, 1).title == "Ransomware hits hospital"
    response = client.patch("/api/items/1", json={"title": "Renamed"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert item_in_store(site, 1).title == "Renamed"
    assert (
        client.post("/items/1/state/approve", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 303
    )
    with site.database.session() as session:
        assert get_item(session, item_id=1).state == "approved"


def test_api_token_requests_are_exempt_from_csrf(client: TestClient, site: Site) -> None:
    response = client.patch("/api/items/1", json={"title": "By script"}, headers=bearer(site, "cal"))
    assert response.status_code == 200
    assert response.json()["title"] == "By script"
    assert item_from_record(item_in_store(site, 1)).title == "By script"


def test_revoked_token_and_disabled_user_are_refused(client: TestClient, site: Site) -> None:
    headers = bearer(site, "cal")
    assert client.get("/api/me", headers=headers).json()["username"] == "cal"
    token_id = client.get("/api/tokens", headers=headers).json()["data"][0]["id"]
    assert client.delete(f"/api/tokens/{token_id}", headers=headers).status_code == 204
    with site.database.session() as session:
        assert [t.revoked for t in list_api_tokens(session, username="cal") if t.id == token_id] == [True]
    assert client.get("/api/me", headers=headers).status_code == 401
    other = bearer(site, "vic")
    admin = bearer(site, "ada")
    assert client.patch("/api/users/vic", json={"disabled": True}, headers=admin).json()["disabled"] is True
    with site.database.session() as session:
        assert get_user(session, username="vic").disabled
    assert client.get("/api/me", headers=other).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_session_expires(tmp_path: Path) -> None:
    site = make_site(tmp_path, session_lifetime=timedelta(seconds=-1))
    add(site.database, "eve", Role.EDITOR)
    with TestClient(site.app) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        client.post("/login", data={"username": "eve", "password": PASSWORD, "csrf_token": token.group(1)})
        assert client.get("/items", follow_redirects=False).status_code == 303
    site.database.dispose()


# --- roles ----------------------------------------------------------------------------------------


def test_curator_gets_403_on_publish(client: TestClient, site: Site) -> None:
    headers = bearer(site, "cal")
    response = client.post("/api/items/1/publish", headers=headers)
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]
    csrf = sign_in(client, "cal")
    assert client.post("/items/1/state/publish", data={"csrf_token": csrf}).status_code == 403
    assert (
        client.post("/items/bulk", data={"csrf_token": csrf, "ids": ["1"], "action": "publish"}).status_code
        == 403
    )
    with site.database.session() as session:
        assert get_item(session, item_id=1).state == "draft"


def test_curator_edits_drafts_but_not_published_items(client: TestClient, site: Site) -> None:
    headers = bearer(site, "cal")
    assert client.patch("/api/items/1", json={"description": "New"}, headers=headers).status_code == 200
    assert client.patch("/api/items/3", json={"description": "New"}, headers=headers).status_code == 403
    assert item_in_store(site, 1).front_matter["description"] == "New"
    published = item_in_store(site, 3)
    assert published.state == "published" and published.front_matter.get("description") != "New"


def test_json_with_a_lone_surrogate_is_refused_with_422_not_500(client: TestClient, site: Site) -> None:
    headers = {**bearer(site, "cal"), "Content-Type": "application/json"}
    response = client.patch("/api/items/1", content=b'{"title": "Half \\ud800 a pair"}', headers=headers)
    assert response.status_code == 422
    assert response.content.isascii()
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert client.get("/api/items/1", headers=headers).json()["title"] != "Half \ud800 a pair"


def test_viewer_reads_but_does_not_write(client: TestClient, site: Site) -> None:
    headers = bearer(site, "vic")
    assert client.get("/api/items/1", headers=headers).status_code == 200
    assert client.patch("/api/items/1", json={"title": "x"}, headers=headers).status_code == 403
    assert (
        client.post("/api/batches", json={"text": "https://a.example/"}, headers=headers).status_code == 403
    )
    assert item_in_store(site, 1).title == "Ransomware hits hospital"
    with site.database.session() as session:
        assert list_batches(session, limit=10)[1] == 0
    assert client.get("/api/users", headers=headers).status_code == 403


# --- items: inbox, filters, review, edits, workflow ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({"state": "draft"}, {"Ransomware hits hospital", "AI reads chest X-rays"}),
        ({"state": "published"}, {"Telehealth rules extended"}),
        ({"brand": "radiology.example"}, {"AI reads chest X-rays"}),
        ({"topic": "healthcare it news: CYBERSECURITY"}, {"Ransomware hits hospital"}),
        ({"q": "x-rays"}, {"AI reads chest X-rays"}),
        ({"community": "news", "until": "2024-02-15T00:00:00Z"}, {"AI reads chest X-rays"}),
        ({"since": "2024-03-01T00:00:00Z"}, {"Ransomware hits hospital", "Telehealth rules extended"}),
    ],
)
def test_api_list_filters(client: TestClient, site: Site, params: dict[str, str], titles: set[str]) -> None:
    body = client.get("/api/items", params=params, headers=bearer(site, "vic")).json()
    assert {item["title"] for item in body["data"]} == titles
    assert body["count"] == len(titles)


def test_api_list_paginates(client: TestClient, site: Site) -> None:
    headers = bearer(site, "vic")
    first = client.get("/api/items", params={"limit": 2}, headers=headers).json()
    second = client.get("/api/items", params={"limit": 2, "offset": 2}, headers=headers).json()
    assert first["count"] == second["count"] == 3
    assert len(first["data"]) == 2 and len(second["data"]) == 1
    assert client.get("/api/items", params={"limit": 0}, headers=headers).status_code == 422


def test_inbox_page_filters_and_searches(client: TestClient) -> None:
    sign_in(client, "vic")
    page = client.get("/items").text
    assert "Ransomware hits hospital" in page and "Telehealth rules extended" not in page
    page = client.get("/items", params={"state": "", "q": "telehealth"}).text
    assert "Telehealth rules extended" in page and "Ransomware" not in page
    page = client.get("/items", params={"state": "", "since": "2024-03-01", "until": "2024-03-04"}).text
    assert "Ransomware hits hospital" in page and "X-rays" not in page
    assert 'name="ids"' not in page  # bulk actions are for editors


def test_review_page_shows_every_field_and_saves_edits(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    page = client.get("/items/1").text
    for key in (
        "fm.title",
        "fm.description",
        "fm.slug",
        "fm.link.href",
        "fm.link.brand",
        "fm.author",
        "fm.date",
    ):
        assert f'name="{key}"' in page, key
    assert 'name="fm.id"' not in page  # identity is shown read-only
    response = client.post(
        "/items/1",
        data={
            "csrf_token": csrf,
            "fm.title": "Ransomware hits two hospitals",
            "fm.author": "A. Writer\nB. Reporter",
            "fm.date": "2024-03-05",
            "body": "<p>Edited.</p>",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    with site.database.session() as session:
        item = item_from_record(get_item(session, item_id=1))
    assert item.title == "Ransomware hits two hospitals"
    assert item.front_matter["author"] == ["A. Writer", "B. Reporter"]
    assert item.body == "<p>Edited.</p>"
    assert item.front_matter["slug"] == "item-1"  # untouched fields stay as they were
    audit = client.get("/api/items/1/audit").json()
    edit = next(e for e in audit["data"] if e["action"] == "item.edit")
    assert edit["actor"] == "cal"
    title = next(c for c in edit["detail"]["changes"] if c["field"] == "title")
    assert title["after"] == "Ransomware hits two hospitals"
    assert "Title: Ransomware hits hospital → Ransomware hits two hospitals" in edit["summary"]
    assert "Brief: Hospitals report ransomware attacks. → Edited." in edit["summary"]
    assert "Ransomware hits two hospitals" in client.get("/items/1").text


def test_api_update_validates_input(client: TestClient, site: Site) -> None:
    headers = bearer(site, "eve")
    assert client.patch("/api/items/1", json={"titel": "typo"}, headers=headers).status_code == 422
    assert client.patch("/api/items/1", json={"community": "nowhere"}, headers=headers).status_code == 422
    assert client.patch("/api/items/999", json={"title": "x"}, headers=headers).status_code == 404
    refused = item_in_store(site, 1)
    assert refused.community != "nowhere" and "titel" not in refused.front_matter
    response = client.patch(
        "/api/items/1",
        json={"topics": ["Healthcare IT News: Health IT Security"], "community": "chronic-care-management"},
        headers=headers,
    )
    body = response.json()
    assert body["topics"] == ["Healthcare IT News: Health IT Security"]
    assert body["community"] == "chronic-care-management"
    assert body["front_matter"]["categorySlug"] == ["healthcare it news: health it security"]
    assert body["front_matter"]["basePath"] == "/communities/chronic-care-management/curated-content/"
    record = item_in_store(site, 1)
    assert record.community == "chronic-care-management"
    assert item_from_record(record).topics == ["Healthcare IT News: Health IT Security"]
    assert record.front_matter["basePath"] == "/communities/chronic-care-management/curated-content/"


def test_workflow_and_audit_trail(client: TestClient, site: Site) -> None:
    headers = bearer(site, "eve")
    assert client.post("/api/items/1/approve", headers=headers).json()["state"] == "approved"
    assert client.post("/api/items/1/approve", headers=headers).status_code == 422
    assert client.post("/api/items/1/reject", headers=headers).json()["state"] == "rejected"
    assert client.post("/api/items/1/draft", headers=headers).json()["state"] == "draft"
    assert client.post("/api/items/999/approve", headers=headers).status_code == 404
    assert item_in_store(site, 1).state == "draft"
    actions = [e["action"] for e in client.get("/api/items/1/audit", headers=headers).json()["data"]]
    assert actions[:3] == ["item.draft", "item.reject", "item.approve"]
    everything = client.get("/api/audit", params={"actor": "eve"}, headers=headers).json()
    assert everything["count"] >= 3
    assert all(e["actor"] == "eve" for e in everything["data"])


def test_publish_builds_the_site(client: TestClient, site: Site) -> None:
    response = client.post("/api/items/1/publish", headers=bearer(site, "eve"))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "published"
    assert item_in_store(site, 1).state == "published"
    pages = [p.read_text(encoding="utf-8") for p in (site.home / "site").rglob("*.html")]
    assert any("Ransomware hits hospital" in p for p in pages)
    actions = [e["action"] for e in client.get("/api/audit", headers=bearer(site, "eve")).json()["data"]]
    assert "site.build" in actions and "item.publish" in actions


def test_bulk_actions(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "eve")
    response = client.post(
        "/items/bulk",
        data={"csrf_token": csrf, "ids": ["1", "2", "3"], "action": "approve"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "2 done, 1 refused" in unquote_plus(response.headers["location"])
    assert [item_in_store(site, n).state for n in (1, 2, 3)] == ["approved", "approved", "published"]
    body = client.post(
        "/api/items/bulk", json={"ids": [1, 2, 404], "action": "reject"}, headers=bearer(site, "eve")
    ).json()
    assert body["done"] == [1, 2]
    assert body["failed"][0]["id"] == 404
    assert [item_in_store(site, n).state for n in (1, 2)] == ["rejected", "rejected"]


def test_decisions_update_the_item(client: TestClient, site: Site) -> None:
    headers = bearer(site, "cal")
    label = "Healthcare IT News: Medical Device Security"
    body = client.post(
        "/api/items/2/decisions", json={"kind": "topic", "label": label, "action": "add"}, headers=headers
    ).json()
    assert body["topics"] == [label]
    assert item_from_record(item_in_store(site, 2)).topics == [label]
    body = client.post(
        "/api/items/2/decisions", json={"kind": "topic", "label": label, "action": "reject"}, headers=headers
    ).json()
    assert body["topics"] == []
    assert item_from_record(item_in_store(site, 2)).topics == []
    response = client.post(
        "/api/items/2/decisions",
        json={"kind": "offering", "label": "No such thing", "action": "add"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "No such thing" not in str(item_in_store(site, 2).front_matter)


def test_topic_panel_fragment(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    response = client.post(
        "/items/2/decisions",
        data={"kind": "topic", "label": "Gartner: Cybersecurity", "action": "add"},
        headers={"X-CSRF-Token": csrf, "X-Fragment": "1"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="panel" id="topics"')
    assert "Gartner: Cybersecurity" in response.text
    assert item_from_record(item_in_store(site, 2)).topics == ["Gartner: Cybersecurity"]


def test_featured_image_upload(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "teal").save(buffer, format="PNG")
    response = client.post(
        "/items/1/image",
        data={"csrf_token": csrf, "alt": "A teal square"},
        files={"image": ("picture.png", buffer.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with site.database.session() as session:
        image = item_from_record(get_item(session, item_id=1)).front_matter["featuredImage"]
    assert image["format"] == "PNG" and image["size"] == [64, 32] and image["alt"] == "A teal square"
    assert image["href"].endswith("-featuredImage.png")
    assert client.get("/items/1/image").content == buffer.getvalue()
    bad = client.post(
        "/items/1/image", data={"csrf_token": csrf}, files={"image": ("x.png", b"not an image", "image/png")}
    )
    assert bad.status_code == 422
    assert item_in_store(site, 1).front_matter["featuredImage"] == image  # the refused upload changed nothing


# --- users, sources, batches, dashboard ------------------------------------------------------------


def test_admin_manages_users(client: TestClient, site: Site) -> None:
    admin = bearer(site, "ada")
    created = client.post("/api/users", json={"username": "newbie", "password": "longenough1"}, headers=admin)
    assert created.status_code == 201 and created.json()["role"] == "viewer"
    assert (
        client.post(
            "/api/users", json={"username": "newbie", "password": "longenough1"}, headers=admin
        ).status_code
        == 409
    )
    assert (
        client.patch("/api/users/newbie", json={"role": "editor"}, headers=admin).json()["role"] == "editor"
    )
    assert client.patch("/api/users/ada", json={"role": "viewer"}, headers=admin).status_code == 422
    assert client.patch("/api/users/ghost", json={"role": "viewer"}, headers=admin).status_code == 404
    with site.database.session() as session:
        assert get_user(session, username="newbie").role == Role.EDITOR
        assert get_user(session, username="ada").role == Role.ADMIN
    names = [u["username"] for u in client.get("/api/users", headers=admin).json()["data"]]
    assert names == ["ada", "cal", "eve", "newbie", "vic"]
    csrf = sign_in(client, "ada")
    assert "newbie" in client.get("/users").text
    client.post("/users/newbie", data={"csrf_token": csrf, "disabled": "true"})
    assert client.get("/api/users", headers=admin).json()["data"][3]["disabled"] is True


def test_sources(client: TestClient, site: Site) -> None:
    headers = bearer(site, "cal")
    created = client.post(
        "/api/sources",
        json={"location": "https://healthitnews.example/feed.xml", "title": "HIT News"},
        headers=headers,
    )
    assert created.status_code == 201
    again = client.post(
        "/api/sources", json={"location": "https://healthitnews.example/feed.xml"}, headers=headers
    )
    assert again.status_code == 422
    listed = client.get("/api/sources", headers=headers).json()
    assert listed["count"] == 1 and listed["data"][0]["items"] == 2
    source_id = listed["data"][0]["id"]
    with site.database.session() as session:
        assert [(s.location, s.title) for s, _ in list_sources(session)] == [
            ("https://healthitnews.example/feed.xml", "HIT News")
        ]
    assert client.delete(f"/api/sources/{source_id}", headers=headers).status_code == 403
    with site.database.session() as session:
        assert [s.id for s, _ in list_sources(session)] == [source_id]
    assert client.delete(f"/api/sources/{source_id}", headers=bearer(site, "eve")).status_code == 204
    with site.database.session() as session:
        assert list_sources(session) == []
    sign_in(client, "cal")
    assert "No sources yet" in client.get("/sources").text


def test_submit_refuses_text_without_links(client: TestClient, site: Site) -> None:
    response = client.post("/api/batches", json={"text": "no links here"}, headers=bearer(site, "cal"))
    assert response.status_code == 422
    csrf = sign_in(client, "cal")
    page = client.post("/submit", data={"csrf_token": csrf, "text": "nothing"})
    assert page.status_code == 422 and "no http(s) link" in page.text
    with site.database.session() as session:
        assert list_batches(session, limit=10)[1] == 0


def test_dashboard_draws_svg_charts(client: TestClient, site: Site) -> None:
    sign_in(client, "vic")
    page = client.get("/dashboard").text
    assert page.count("<svg") == 4
    assert "radiology.example" in page
    stats = client.get("/api/stats", headers=bearer(site, "vic")).json()
    assert stats["totals"] == {"draft": 2, "published": 1}
    assert {s["label"] for s in stats["top_sources"]} == {"healthitnews.example", "radiology.example"}


def test_charts_escape_labels() -> None:
    svg = str(stacked_bars(["w1", "w2"], {"draft": [1, 2], "<b>": [0, 1]}, title="t"))
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert svg.count("<rect") == 3
    assert "<polyline" in str(line_chart(["a", "b"], {"x": [0, 3]}, title="t"))
    assert str(horizontal_bars([("a.example", 5), ("b.example", 1)], title="t")).count("<rect") == 2


def test_security_headers_and_openapi(client: TestClient) -> None:
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    schema = client.get("/api/openapi.json").json()
    assert "/api/items" in schema["paths"] and "/api/items/{item_id}/audit" in schema["paths"]
    assert not any(path.startswith("/items") for path in schema["paths"])


def test_static_assets_are_local(client: TestClient) -> None:
    page = client.get("/login").text
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
