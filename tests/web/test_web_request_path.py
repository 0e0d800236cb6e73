"""What every API request costs besides its own work: one query to authenticate, no idle commit,
a connection for each request thread, headers added without a task per middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from medcurate.models import ItemState
from medcurate.store.db import Database
from medcurate.store.listing import item_total
from medcurate.store.models import ApiTokenRecord
from medcurate.store.repository import ItemQuery
from medcurate.users import Role
from websupport import Site, add, make_site, news_item, sign_in, store, token_for


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path, request_threads=6)
    add(site.database, "eve", Role.EDITOR)
    store(site.database, news_item(1, title="Telehealth story"), state=ItemState.DRAFT)
    yield site
    site.database.dispose()


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement the engine runs inside the block (COMMIT included)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    def committed(_conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(database.engine, "before_cursor_execute", record)
    event.listen(database.engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
        event.remove(database.engine, "commit", committed)


def test_a_token_read_authenticates_in_one_query_and_commits_nothing(site: Site) -> None:
    token = token_for(site.database, "eve")
    with TestClient(site.app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get("/api/items/1").status_code == 200  # stamps the token's last use
        with statements(site.database) as seen:
            assert client.get("/api/items/1").status_code == 200
    auth = [s for s in seen if "api_tokens" in s or "FROM users" in s]
    assert len(auth) == 1 and "JOIN users" in auth[0], seen
    assert not any(s.startswith("UPDATE") for s in seen), seen
    # The route's own session commits once when it ends; the authentication adds no commit of its own.
    assert seen.count("COMMIT") == 1, seen


def test_a_stale_last_use_stamp_is_written_once(site: Site) -> None:
    token = token_for(site.database, "eve")
    with site.database.session() as session:
        session.execute(update(ApiTokenRecord).values(last_used_at=datetime.now(UTC) - timedelta(hours=1)))
    with TestClient(site.app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        with statements(site.database) as seen:
            assert client.get("/api/items/1").status_code == 200
        with statements(site.database) as again:
            assert client.get("/api/items/1").status_code == 200
    assert len([s for s in seen if s.startswith("UPDATE api_tokens")]) == 1, seen
    assert not [s for s in again if s.startswith("UPDATE")], again


def test_a_signed_in_page_reads_the_session_and_its_user_in_one_query(site: Site) -> None:
    with TestClient(site.app) as client:
        sign_in(client, "eve")
        with statements(site.database) as seen:
            assert client.get("/items").status_code == 200
    auth = [s for s in seen if "web_sessions" in s]
    assert len(auth) == 1 and "JOIN users" in auth[0], seen


def _threads(app: FastAPI) -> float:
    async def limit() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(app) as client:
        return client.portal.call(limit)  # type: ignore[union-attr]


def test_the_pool_has_a_connection_for_each_request_thread(site: Site) -> None:
    assert _threads(site.app) == 6
    pool = site.database.engine.pool
    assert pool.size() == 6  # type: ignore[attr-defined]


def test_answers_carry_the_security_headers_and_a_request_id(site: Site) -> None:
    with TestClient(site.app) as client:
        for response in (client.get("/login"), client.get("/api/items"), client.get("/nowhere")):
            assert response.headers["x-frame-options"] == "DENY"
            assert len(response.headers["x-request-id"]) == 16
        given = client.get("/login", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"


def test_a_search_total_on_sqlite_counts_the_index_alone(site: Site) -> None:
    for n in range(2, 6):
        store(site.database, news_item(n, title=f"Telehealth note {n}"), state=ItemState.PUBLISHED)
    with site.database.session() as session, statements(site.database) as seen:
        words_only = item_total(session, query=ItemQuery(text="telehealth"), exact_up_to=2)
        filtered = item_total(session, query=ItemQuery(text="telehealth", state="published"))
    assert (words_only.value, words_only.exact) == (5, False)
    assert (filtered.value, filtered.exact) == (4, True)
    counts = [s for s in seen if "count(" in s]
    assert "FROM items " not in counts[0] and "items_fts MATCH" in counts[0], counts


def test_a_burst_of_requests_queues_for_a_place_and_never_for_a_connection(tmp_path: Path) -> None:
    site = make_site(tmp_path, request_threads=2)
    add(site.database, "eve", Role.EDITOR)
    for n in range(1, 4):
        store(site.database, news_item(n), state=ItemState.DRAFT)
    token = token_for(site.database, "eve")
    in_use, peak = 0, 0

    def checkout(*_args: Any) -> None:
        nonlocal in_use, peak
        in_use += 1
        peak = max(peak, in_use)

    def checkin(*_args: Any) -> None:
        nonlocal in_use
        in_use -= 1

    event.listen(site.database.engine, "checkout", checkout)
    event.listen(site.database.engine, "checkin", checkin)

    async def burst() -> list[int]:
        # httpx's in-process transport runs no lifespan: the threadpool keeps anyio's 40 threads,
        # more than the pool's connections, as when requests outnumber them.
        transport = httpx.ASGITransport(app=site.app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            paths = [f"/api/items/{1 + n % 3}" if n % 2 else "/api/items" for n in range(30)]
            answers = await asyncio.gather(*(client.get(path) for path in paths))
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 30
    assert peak <= 2, peak  # one session per admitted request
    site.database.dispose()
