"""The batch page says what became of each link: created, existing, duplicate of #N, failed: reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import paths
from httpserver import LocalServer, Reply, local_fetch_options
from medcurate.pipeline import default_options, ingest_urls
from medcurate.users import Role
from medcurate.web.schemas import BatchEntryPublic
from websupport import Site, add, make_site, sign_in

FIXTURES = paths.FIXTURES / "pipeline"
ARTICLE = "/technology/3-ways-hospitals-can-harden-their-it-security"


@pytest.mark.parametrize(
    ("status", "reason", "duplicate_of", "label"),
    [
        ("created", None, None, "created"),
        ("existing", "already stored as item 3", None, "existing"),
        ("duplicate", "near-duplicate of item 3 (0.93)", 3, "duplicate of #3"),
        ("failed", "HTTPStatusError: 404 Not Found", None, "failed: 404 Not Found"),
        (
            "failed",
            "BlockedURL: refused: 10.0.0.1 is a private address (SSRF guard); to fetch it anyway, add it to "
            'MEDCURATE_ALLOWED_HOSTS (a JSON list, such as ["10.0.0.1"])',
            None,
            "failed: refused: 10.0.0.1 is a private address (SSRF guard); to fetch it anyway, add it to "
            'MEDCURATE_ALLOWED_HOSTS (a JSON list, such as ["10.0.0.1"])',
        ),
        ("pending", None, None, "waiting"),
    ],
)
def test_outcome_labels(status: str, reason: str | None, duplicate_of: int | None, label: str) -> None:
    entry = BatchEntryPublic(
        position=0, url="https://a.example/", status=status, reason=reason, duplicate_of=duplicate_of
    )
    assert entry.label == label


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    """A site with an editor."""
    site = make_site(tmp_path, allowed_hosts=("127.0.0.1",))
    add(site.database, "eve", Role.EDITOR)
    yield site
    site.database.dispose()


def test_batch_page_labels_each_outcome_by_its_real_state(site: Site) -> None:
    article = (FIXTURES / "article.html").read_text(encoding="utf-8")
    copy = article.replace("None of these steps is new", "None of these measures is novel")
    copy = re.sub(r'<link rel="canonical"[^>]*>', "", copy)
    settings = site.settings
    options = replace(
        default_options(settings, suggest=False), fetch=local_fetch_options(cache_dir=settings.cache_dir)
    )
    with LocalServer() as server:
        server.route(ARTICLE, Reply(body=article.encode("utf-8")))
        server.route("/elsewhere/copy", Reply(body=copy.encode("utf-8")))
        first = ingest_urls(
            site.database, [server.url(ARTICLE)], settings=settings, actor="eve", options=options
        )
        urls = [server.url(ARTICLE), server.url("/elsewhere/copy"), server.url("/gone"), "http://10.0.0.1/x"]
        second = ingest_urls(site.database, urls, settings=settings, actor="eve", options=options)
    original = first.outcomes[0].item_id
    statuses = {o.url: o.status for o in second.outcomes}
    assert [statuses[url] for url in urls] == ["existing", "duplicate", "failed", "failed"]
    with TestClient(site.app) as client:
        sign_in(client, "eve")
        page = client.get(f"/batches/{second.batch_id}").text
    badges = re.findall(r'<span class="badge status-[a-z]+">([^<]*)</span>', page)
    assert badges[0] == "existing"
    assert badges[1] == f"duplicate of #{original}"
    assert f'<a href="/items/{original}">item #{original}</a>' in page
    assert badges[2].startswith("failed: ") and "404" in badges[2] and "Error" not in badges[2]
    assert badges[3].startswith("failed: refused") and "MEDCURATE_ALLOWED_HOSTS" in badges[3]
    assert "BlockedURL" not in page and "NetPolicy" not in page
    assert f"Open item #{original}" in page and "Open draft" not in page.split("</tr>")[1]
