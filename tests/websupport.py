"""The web app's tests' helpers: a site on a tmp SQLite database, users, tokens, a signed-in client.

Items come from ``factories`` (``news_item``, and ``store`` for ``factories.store_item``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

import paths
from factories import news_item as news_item
from factories import store_item
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.models import ItemRecord
from medcurate.store.repository import get_item
from medcurate.users import Role, add_user, create_api_token
from medcurate.web import WebOptions, create_app

PASSWORD = "correct horse battery"
FIXTURES = paths.FIXTURES / "web"
# The web tests' name for ``factories.store_item``.
store = store_item


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


def item_in_store(site: Site, item_id: int) -> ItemRecord:
    """The item as the store holds it now: what a test of a write reads back (topics loaded)."""
    with site.database.session() as session:
        return get_item(session, item_id=item_id)


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
