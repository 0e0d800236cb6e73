"""A local newsroom for scheduler tests: three feeds whose entries change, with ETag or Last-Modified.

Each ``Feed`` answers 304 to a request carrying its current validator, 200 with the RSS otherwise,
or whatever ``failing`` says; its articles are distinct pages (no near-duplicates).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from httpserver import LocalServer, Reply, SeenRequest
from medcurate.scheduler.follow import follow_source
from medcurate.settings import Settings
from medcurate.store.db import Database

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
_WORDS = (
    "clinic nurses vendor audit budget network device patient server backup policy board insurer outage "
    "pharmacy imaging laboratory portal identity password firewall training drill regulator hospital "
    "surgeon oncology cardiology trial dose vaccine screening registry telehealth billing coding claims "
    "privacy breach ransomware encryption staffing shortage rural urban pediatric geriatric emergency"
)
VOCABULARY = _WORDS.split()


def article(title: str, seed: int) -> bytes:
    """An article page whose words no other seed's page shares in order (no near-duplicates)."""
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(VOCABULARY) for _ in range(60)).capitalize() + ".</p>" for _ in range(6)
    )
    return (
        f"<!doctype html><html><head><title>{title}</title><meta name='author' content='Ann Writer'>"
        f"<meta property='article:published_time' content='2026-11-30T08:00:00Z'></head>"
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


@dataclass
class Feed:
    """One feed the server serves: its entries (newest first) and how it answers now."""

    path: str
    validator: str  # "etag" or "last-modified"
    entries: list[tuple[str, datetime]] = field(default_factory=list)
    version: int = 1
    failing: Reply | None = None
    ttl: int | None = None  # the channel's <ttl> (minutes), when it gives one

    def add(self, server: LocalServer, slug: str, when: datetime) -> None:
        server.route(f"/articles/{slug}", Reply(body=article(f"Story {slug}", zlib.crc32(slug.encode()))))
        self.entries.insert(0, (slug, when))
        self.version += 1

    def answer(self, server: LocalServer, request: SeenRequest) -> Reply:
        if self.failing is not None:
            return self.failing
        etag = f'"{self.path}-v{self.version}"'
        modified = format_datetime(T0 + timedelta(minutes=self.version), usegmt=True)
        if self.validator == "etag" and request.headers.get("if-none-match") == etag:
            return Reply(status=304, body=b"", content_type=None, headers={"ETag": etag})
        if self.validator == "last-modified" and request.headers.get("if-modified-since") == modified:
            return Reply(status=304, body=b"", content_type=None, headers={"Last-Modified": modified})
        items = "".join(
            f"<item><title>Story {slug}</title><link>{server.url('/articles/' + slug)}</link>"
            f"<guid isPermaLink='false'>urn:{self.path}:{slug}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
            for slug, when in self.entries
        )
        ttl = f"<ttl>{self.ttl}</ttl>" if self.ttl is not None else ""
        channel = f"<channel><title>{self.path}</title>{ttl}{items}</channel>"
        body = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
        headers = {"ETag": etag} if self.validator == "etag" else {"Last-Modified": modified}
        return Reply(body=body.encode(), content_type="application/rss+xml", headers=headers)


@pytest.fixture()
def newsroom() -> Iterator[tuple[LocalServer, dict[str, Feed]]]:
    """Three feeds: one with an ETag, one with Last-Modified, one that will fail."""
    with LocalServer() as server:
        server.route("/robots.txt", Reply(body=b"", content_type="text/plain"))
        feeds = {
            "alpha": Feed("/alpha.xml", "etag"),
            "beta": Feed("/beta.xml", "last-modified"),
            "gamma": Feed("/gamma.xml", "etag"),
        }
        for name, feed in feeds.items():
            server.route(feed.path, lambda request, feed=feed: feed.answer(server, request))
            for number in range(3):
                feed.add(server, f"{name}-{number}", T0 - timedelta(hours=3 - number))
        yield server, feeds


def follow_newsroom(
    database: Database, server: LocalServer, settings: Settings, *, now: datetime = T0
) -> dict[str, int]:
    """Follow the three feeds for the community "news"; alpha and gamma with default topics."""
    ids = {}
    for name, topics in (("alpha", ["Cybersecurity"]), ("beta", []), ("gamma", ["Telehealth", "Policy"])):
        source = follow_source(
            database,
            location=server.url(f"/{name}.xml"),
            actor="tester",
            now=now,
            config=settings.load_site_config(),
            community="news",
            topics=topics,
        )
        ids[name] = source.id
    return ids
