"""The web app under issue 14's attacks: unsafe links, hostile JSON, HSTS, sign-in back-off,
sessions of disabled users, the error page's Back link, stalled batches."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from medcurate.errors import AuthError, RateLimited
from medcurate.store.accounts import recent_failures
from medcurate.store.models import BatchEntryRecord, BatchRecord
from medcurate.users import Role, User, get_user
from medcurate.web.auth import LoginLimits, sign_in
from medcurate.web.transport import client_address, served_over_https
from paths import PACKAGE
from websupport import PASSWORD, Site, add, item_in_store, make_site, news_item, store, token_for
from websupport import sign_in as sign_in_form

LIMITS = LoginLimits(free_failures=3, first_delay=timedelta(hours=1))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user of each role, one item with a javascript: link, one ordinary item."""
    home = tmp_path_factory.mktemp("hardening")
    template = make_site(home)
    for name, role in (
        ("ada", Role.ADMIN),
        ("eve", Role.EDITOR),
        ("cal", Role.CURATOR),
        ("vic", Role.VIEWER),
    ):
        add(template.database, name, role)
    store(template.database, news_item(1, title="Ordinary item"))
    hostile = news_item(2, title="Hostile link").updated(
        {"link": {"brand": "x", "href": "javascript:alert(1)", "original": "data:text/html,<b>x</b>"}}
    )
    store(template.database, hostile)
    template.database.dispose()
    return home / "medcurate.db"


@pytest.fixture()
def site(seeded: Path, tmp_path: Path) -> Iterator[Site]:
    shutil.copyfile(seeded, tmp_path / "medcurate.db")
    site = make_site(tmp_path, login_limits=LIMITS)
    yield site
    site.database.dispose()


@pytest.fixture()
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        yield client


def bearer(site: Site, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(site.database, username)}"}


def stored_user(site: Site, username: str) -> User:
    with site.database.session() as session:
        return get_user(session, username=username)


def stored_failures(site: Site, username: str) -> list[datetime]:
    """The failed sign-ins the store counts against ``username`` from the TestClient's address."""
    with site.database.session() as session:
        since = datetime(2000, 1, 1, tzinfo=UTC)
        return recent_failures(session, username=username, address="testclient", since=since)


def attempt(client: TestClient, username: str, password: str) -> int:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": username, "password": password, "csrf_token": token.group(1)}
    return client.post("/login", data=form, follow_redirects=False).status_code


# --- links -----------------------------------------------------------------------------------------


def test_javascript_and_data_links_are_never_rendered_as_href(client: TestClient, site: Site) -> None:
    sign_in_form(client, "vic")
    page = client.get("/items/2").text
    assert "javascript:alert(1)" in page  # shown as text
    assert not re.search(r'href="\s*(javascript|data):', page, re.IGNORECASE)
    assert 'href="https://healthitnews.example/articles/1"' in client.get("/items/1").text


# Template variables the app itself builds as paths on this site: the menu's links, the error
# page's Back link (``app.back_link``).
SITE_PATHS = frozenset({"href", "back"})


def test_templates_make_links_only_through_the_http_url_filter() -> None:
    templates = PACKAGE / "web" / "templates"
    for path in templates.glob("*.html"):
        for expression in re.findall(
            r'(?:href|src|action)="\{\{([^}]*)\}\}', path.read_text(encoding="utf-8")
        ):
            assert "|http_url" in expression or expression.strip() in SITE_PATHS, (path.name, expression)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"front_matter": {"link": {"href": "javascript:alert(1)"}}}, "link.href"),
        ({"front_matter": {"link": "data:text/html,x"}}, "link"),
        ({"front_matter": {"link": "str"}}, "link"),
        ({"front_matter": {"href": "/relative"}}, "href"),
        ({"front_matter": {"title": 5}}, "title"),
        ({"title": 5}, "title"),
        ({"front_matter": {"mdName": "../../../../outside"}}, "mdName"),
        ({"front_matter": {"aliases": ["/../../x/"]}}, "aliases"),
        ({"front_matter": {"featuredImage": {"href": "../x.jpg"}}}, "featuredImage.href"),
    ],
)
def test_api_refuses_unsafe_links_wrong_types_and_traversal_naming_the_field(
    client: TestClient, site: Site, body: dict[str, Any], field: str
) -> None:
    before = item_in_store(site, 1).front_matter
    response = client.patch("/api/items/1", json=body, headers=bearer(site, "eve"))
    assert response.status_code == 422, response.text
    assert field in response.text
    assert item_in_store(site, 1).front_matter == before


def test_review_form_refuses_an_unsafe_link(client: TestClient, site: Site) -> None:
    csrf = sign_in_form(client, "eve")
    page = client.get("/items/1").text
    name = re.search(r'name="(fm\.link\.href|[^"]*link[^"]*href[^"]*)"', page)
    assert name, "the review form edits link.href"
    response = client.post("/items/1", data={"csrf_token": csrf, name.group(1): "javascript:alert(1)"})
    assert response.status_code == 422
    assert "link" in response.text
    assert item_in_store(site, 1).front_matter["link"]["href"] == "https://healthitnews.example/articles/1"


@pytest.mark.parametrize("depth", [40, 900, 100_000])
def test_deep_json_answers_422_with_a_reason(client: TestClient, site: Site, depth: int) -> None:
    body = '{"front_matter": {"x": ' + "[" * depth + "]" * depth + "}}"
    headers = {**bearer(site, "eve"), "Content-Type": "application/json"}
    response = client.patch("/api/items/1", content=body.encode(), headers=headers)
    assert response.status_code == 422, response.text[:300]
    assert "deeper than" in response.text
    assert "x" not in item_in_store(site, 1).front_matter


def test_json_at_the_nesting_limit_is_accepted(client: TestClient, site: Site) -> None:
    value: Any = "leaf"
    for _ in range(30):  # the front matter mapping, "x" and 30 lists: 32 levels
        value = [value]
    response = client.patch("/api/items/1", json={"front_matter": {"x": value}}, headers=bearer(site, "eve"))
    assert response.status_code == 200, response.text
    assert item_in_store(site, 1).front_matter["x"] == value


# --- HSTS ------------------------------------------------------------------------------------------


def test_hsts_only_over_https(site: Site) -> None:
    with TestClient(site.app, base_url="https://testserver") as secure:
        assert secure.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
    with TestClient(site.app) as plain:
        assert "Strict-Transport-Security" not in plain.get("/login").headers
        # an untrusted client cannot claim HTTPS
        spoofed = plain.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in spoofed.headers


def _request(peer: str, headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "query_string": b"",
        "server": ("app", 80),
        "client": (peer, 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


def test_a_trusted_proxy_says_https_and_names_the_client() -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    assert served_over_https(_request("10.0.0.2", headers), ["10.0.0.0/8"])
    assert client_address(_request("10.0.0.2", headers), ["10.0.0.0/8"]) == "203.0.113.9"
    assert not served_over_https(_request("192.0.2.1", headers), ["10.0.0.0/8"])
    assert client_address(_request("192.0.2.1", headers), ["10.0.0.0/8"]) == "192.0.2.1"


# --- sign-in back-off ------------------------------------------------------------------------------


def test_failures_from_one_address_do_not_lock_other_accounts(client: TestClient) -> None:
    assert {attempt(client, f"ghost{i}", "x") for i in range(8)} == {401}
    assert attempt(client, "eve", "wrong") == 401
    assert attempt(client, "eve", PASSWORD) == 303


def test_an_attacker_elsewhere_does_not_lock_the_account(site: Site) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with site.database.session() as session:
        for _ in range(8):
            with pytest.raises(AuthError):  # wrong password, then slowed down
                sign_in(
                    session, username="eve", password="guess", address="203.0.113.66", limits=LIMITS, now=now
                )
            session.commit()
            now += timedelta(minutes=1)
        user = sign_in(
            session, username="eve", password=PASSWORD, address="198.51.100.1", limits=LIMITS, now=now
        )
        assert user.username == "eve"


def test_the_delay_grows_with_each_failure(site: Site) -> None:
    limits = LoginLimits(free_failures=2, first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=30))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    waits = []
    with site.database.session() as session:
        now = start
        for _ in range(9):
            while True:
                try:
                    sign_in(session, username="eve", password="guess", address="a", limits=limits, now=now)
                except RateLimited:
                    now += timedelta(milliseconds=250)
                    continue
                except AuthError:
                    break
            waits.append(now)
            now += timedelta(milliseconds=1)
    gaps = [round((b - a).total_seconds()) for a, b in itertools.pairwise(waits)]
    assert gaps == [0, 1, 2, 4, 8, 16, 30, 30]


def test_admin_unlocks_a_user(client: TestClient, site: Site) -> None:
    assert [attempt(client, "eve", "guess") for _ in range(3)] == [401, 401, 401]
    assert attempt(client, "eve", PASSWORD) == 429
    assert len(stored_failures(site, "eve")) == 3
    response = client.post("/api/users/eve/unlock", headers=bearer(site, "ada"))
    assert response.status_code == 200
    assert stored_failures(site, "eve") == []
    assert client.post("/api/users/eve/unlock", headers=bearer(site, "eve")).status_code == 403
    assert attempt(client, "eve", PASSWORD) == 303


def test_users_page_unlocks(client: TestClient, site: Site) -> None:
    with TestClient(site.app) as victim:
        assert [attempt(victim, "cal", "guess") for _ in range(3)] == [401, 401, 401]
        assert attempt(victim, "cal", PASSWORD) == 429
    csrf = sign_in_form(client, "ada")
    assert 'action="/users/cal/unlock"' in client.get("/users").text
    response = client.post("/users/cal/unlock", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    with TestClient(site.app) as victim:
        assert attempt(victim, "cal", PASSWORD) == 303


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example/", "/items?x=1"],
)
def test_sign_in_goes_on_only_to_a_page_of_this_site(client: TestClient, target: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": "vic", "password": PASSWORD, "csrf_token": token.group(1), "next": target}
    location = client.post("/login", data=form, follow_redirects=False).headers["location"]
    assert location == (target if target == "/items?x=1" else "/items")


# --- sessions of disabled users --------------------------------------------------------------------


def test_enabling_a_user_again_does_not_revive_old_sessions(site: Site) -> None:
    admin = bearer(site, "ada")
    with TestClient(site.app) as victim, TestClient(site.app) as admin_client:
        sign_in_form(victim, "cal")
        assert victim.get("/api/me").json()["username"] == "cal"
        assert admin_client.patch("/api/users/cal", json={"disabled": True}, headers=admin).status_code == 200
        assert stored_user(site, "cal").disabled
        assert victim.get("/api/me").status_code == 401
        assert (
            admin_client.patch("/api/users/cal", json={"disabled": False}, headers=admin).status_code == 200
        )
        assert not stored_user(site, "cal").disabled
        assert victim.get("/api/me").status_code == 401
        sign_in_form(victim, "cal")  # a new sign-in works
        assert victim.get("/api/me").json()["username"] == "cal"


# --- the error page --------------------------------------------------------------------------------


def test_error_page_back_link_is_a_real_same_site_url(client: TestClient) -> None:
    sign_in_form(client, "vic")
    page = client.get("/items/99999", headers={"Referer": "http://testserver/items?state=draft"})
    assert page.status_code == 404
    assert "javascript:" not in page.text
    assert 'href="/items?state=draft">Back</a>' in page.text
    foreign = client.get("/items/99999", headers={"Referer": "https://evil.example/phish"})
    assert "evil.example" not in foreign.text and ">Back</a>" not in foreign.text
    sneaky = client.get("/items/99999", headers={"Referer": "http://testserver/\\evil.example/"})
    assert "evil.example" not in sneaky.text


# --- stalled batches -------------------------------------------------------------------------------


def test_a_batch_whose_process_died_is_shown_stalled(client: TestClient, site: Site) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with site.database.session() as session:
        for key, state in (("dead", "running"), ("done", "finished")):
            batch = BatchRecord(key=key, description=key, state=state, created_at=long_ago)
            session.add(batch)
            session.flush()
            session.add(
                BatchEntryRecord(
                    batch_id=batch.id, position=0, url="https://a.example/", url_key="a", updated_at=long_ago
                )
            )
        live = BatchRecord(key="live", description="live", state="running")
        session.add(live)
    states = {
        b["key"]: b["state"] for b in client.get("/api/batches", headers=bearer(site, "vic")).json()["data"]
    }
    assert states == {"dead": "stalled", "done": "finished", "live": "running"}
    sign_in_form(client, "vic")
    assert client.get("/batches").text.count(">stalled</span>") == 1
