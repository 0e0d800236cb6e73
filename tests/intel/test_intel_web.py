"""The review screen's Source panel, source-type corrections, and filtering by identifier (inbox and API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcurate.store.repository import get_item
from medcurate.users import Role
from websupport import Site, add, copied_site, make_site, news_item, sign_in, store, token_for

ARTICLE = (
    "<p>The trial (NCT01234567), published in the New England Journal of Medicine "
    "(doi:10.1056/NEJMoa2100001), found that remote monitoring did not reduce readmissions. "
    + "Patients were followed for six months after discharge from hospital. " * 12
    + "</p>"
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Users of three roles and three items, two sharing a trial, built once."""
    home = tmp_path_factory.mktemp("intel-web")
    template = make_site(home)
    for name, role in (("eve", Role.EDITOR), ("cal", Role.CURATOR), ("vic", Role.VIEWER)):
        add(template.database, name, role)
    first = news_item(1, title="Remote monitoring trial", body=ARTICLE).updated(
        {
            "identifiers": ["nct:NCT01234567", "doi:10.1056/nejmoa2100001", "cfr:45 CFR 164.312"],
            "sourceType": {"type": "news", "reason": "JSON-LD @type NewsArticle; a byline"},
        }
    )
    second = news_item(2, title="Device maker's release", brand="wire.example").updated(
        {"identifiers": ["nct:NCT01234567"], "sourceType": {"type": "press-release", "reason": "a wire"}}
    )
    store(template.database, first)
    store(template.database, second)
    store(template.database, news_item(3, title="Unrelated story"))
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


@pytest.mark.parametrize(
    ("identifier", "titles"),
    [
        ("NCT01234567", {"Remote monitoring trial", "Device maker's release"}),
        ("nct:NCT01234567", {"Remote monitoring trial", "Device maker's release"}),
        ("https://doi.org/10.1056/NEJMoa2100001", {"Remote monitoring trial"}),
        ("10.1056/nejmoa2100001", {"Remote monitoring trial"}),
        ("45 CFR 164.312", {"Remote monitoring trial"}),
        ("PMID: 123", set()),
        ("not an identifier", set()),
    ],
)
def test_api_filters_by_identifier_as_typed(
    client: TestClient, site: Site, identifier: str, titles: set[str]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(site.database, 'vic')}"}
    body = client.get("/api/items", params={"identifier": identifier}, headers=headers).json()
    assert {item["title"] for item in body["data"]} == titles
    assert body["count"] == len(titles)


def test_inbox_filters_by_identifier(client: TestClient) -> None:
    sign_in(client, "vic")
    page = client.get("/items", params={"identifier": "NCT01234567"}).text
    assert "Remote monitoring trial" in page and "Device maker" in page and "Unrelated story" not in page
    assert 'name="identifier" value="NCT01234567"' in page


def test_review_page_shows_source_identifiers_and_readability(client: TestClient) -> None:
    sign_in(client, "vic")
    page = client.get("/items/1").text
    assert 'id="source"' in page and "News report" in page
    assert "Why: JSON-LD @type NewsArticle; a byline" in page
    assert 'href="https://clinicaltrials.gov/study/NCT01234567"' in page
    assert 'href="https://doi.org/10.1056/nejmoa2100001"' in page
    assert 'href="https://www.ecfr.gov/current/title-45/section-164.312"' in page
    assert "min read" in page and "grade " in page and "Flesch" in page
    assert 'name="source_type"' not in page  # a viewer reads, a curator corrects
    assert 'name="fm.identifiers"' not in page and 'name="fm.sourceType"' not in page  # not raw YAML fields


def test_curator_corrects_the_source_type_from_the_review_page(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "cal")
    assert 'name="source_type"' in client.get("/items/1").text
    response = client.post(
        "/items/1/source-type", data={"source_type": "research"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200  # followed the redirect back to the review page
    assert "Peer-reviewed research" in response.text and "set by cal" in response.text
    with site.database.session() as session:
        assert get_item(session, item_id=1).front_matter["sourceType"]["type"] == "research"


def test_api_correction_is_refused_to_viewers_and_for_unknown_types(client: TestClient, site: Site) -> None:
    viewer = {"Authorization": f"Bearer {token_for(site.database, 'vic')}"}
    editor = {"Authorization": f"Bearer {token_for(site.database, 'eve')}"}
    url = "/api/items/2/source-type"
    with site.database.session() as session:
        before = get_item(session, item_id=2).front_matter.get("sourceType")
    assert client.post(url, json={"source_type": "news"}, headers=viewer).status_code == 403
    assert client.post(url, json={"source_type": "blog"}, headers=editor).status_code == 422
    with site.database.session() as session:
        assert get_item(session, item_id=2).front_matter.get("sourceType") == before
    body = client.post(url, json={"source_type": "vendor"}, headers=editor).json()
    assert body["front_matter"]["sourceType"] == {"type": "vendor", "reason": "set by eve"}
    with site.database.session() as session:
        assert get_item(session, item_id=2).front_matter["sourceType"] == {
            "type": "vendor",
            "reason": "set by eve",
        }
