"""Factories for the web app's tests: a site on a tmp SQLite database, users, items, a signed-in client."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.rules import derive_md_name, topic_fields
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import record_audit, save_item
from medcurate.users import Role, add_user, create_api_token
from medcurate.web import WebOptions, create_app

PASSWORD = "correct horse battery"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"


@dataclass
class Site:
    """A web app over its own data directory."""

    app: FastAPI
    settings: Settings
    database: Database
    home: Path


def make_site(home: Path, *, allowed_hosts: Sequence[str] = (), **options: Any) -> Site:
    """A fresh site in ``home`` and its app (Secure cookies off: the tests talk plain HTTP)."""
    settings = Settings(home=home, allowed_hosts=tuple(allowed_hosts))
    options.setdefault("secure_cookies", False)
    options.setdefault("site_dir", home / "site")
    app = create_app(settings, options=WebOptions(**options))
    return Site(app=app, settings=settings, database=app.state.context.database, home=home)


def add(database: Database, username: str, role: Role, password: str = PASSWORD) -> None:
    """Create a user."""
    with database.session() as session:
        add_user(session, username=username, password=password, role=role, actor="test")


def token_for(database: Database, username: str) -> str:
    """A fresh API token's secret."""
    with database.session() as session:
        _, secret = create_api_token(session, username=username, name="test", actor="test")
    return secret


def news_item(
    n: int,
    *,
    title: str | None = None,
    brand: str = "healthitnews.example",
    topics: Sequence[str] = (),
    date: str = "2024-03-04",
    body: str = "<p>Hospitals report ransomware attacks.</p>",
) -> CuratedItem:
    """A news-2022 item like seed 002, small."""
    title = title or f"Item number {n}"
    url = f"https://{brand}/articles/{n}"
    front_matter: dict[str, Any] = {
        "aliases": f"/news/item-{n}",
        "archetype": "curated-content",
        "author": ["A. Writer"],
        "basePath": "/news/",
        **topic_fields(list(topics), Variant.NEWS_2022),
        "date": date,
        "description": f"About {title}",
        "id": n,
        "layOut": "single",
        "link": {"brand": brand, "href": url, "original": url},
        "mdName": derive_md_name(url) + ".md",
        "slug": f"item-{n}",
        "title": title,
        "openProjectCustomFields": {"cleanUrl": url, "medigyTopics": list(topics), "sourceUrl": url},
    }
    return CuratedItem(front_matter=front_matter, body=body, variant=Variant.NEWS_2022)


def store(
    database: Database,
    item: CuratedItem,
    *,
    state: ItemState = ItemState.DRAFT,
    community: str = "news",
    text: str = "",
) -> int:
    """Store an item and return its id."""
    url = item.url or ""
    with database.session() as session:
        record, _ = save_item(
            session,
            item=item,
            md_name=derive_md_name(url),
            url_key=url,
            state=state,
            community=community,
            text=text or item.body,
            item_id=item.item_id,
        )
        record_audit(session, actor="test", action="item.create", entity_type="item", entity_id=record.id)
        return record.id


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its meta tag."""
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert match, "no csrf meta tag"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    login_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert login_token
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": login_token.group(1),
            "next": "/items",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/items").text)


def copied_site(database_file: Path, home: Path, **options: Any) -> Site:
    """A site in ``home`` over a copy of a prepared database file (built once per module)."""
    shutil.copyfile(database_file, home / "medcurate.db")
    return make_site(home, **options)
