"""The store ``bench/scale.py api`` plays against: N items of realistic text, on SQLite or PostgreSQL.

Words come from the dev corpora's vocabulary (``../shared/corpora``) when present, else from a built-in
list, drawn with Zipf weights so that a mid-ranked word matches hundreds of items and a few common
words match most: search is measured on both. Rows go in with ``executemany`` in chunks (the search
index follows through 0002's triggers on SQLite, the generated ``tsvector`` on PostgreSQL), then
``ANALYZE``.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from api import WORDS as API_WORDS
from medcurate.models import normalize_label
from medcurate.store.db import Database, open_database
from medcurate.store.listing import analyze
from medcurate.store.models import ItemRecord, ItemTopic
from medcurate.users import Role, add_user, create_api_token

SHARED_CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 2_000
# The API bench's words and more: enough that a mid-ranked one is rare.
BUILT_IN_WORDS = [
    *API_WORDS,
    "sepsis",
    "dialysis",
    "pediatrics",
    "vaccine",
    "insulin",
    "opioid",
    "dementia",
    "stroke",
    "asthma",
    "obesity",
    "triage",
    "billing",
    "coding",
    "audit",
    "outage",
    "merger",
    "acquisition",
    "layoffs",
    "staffing",
    "shortage",
    "residency",
    "surgery",
    "anesthesia",
    "robotics",
    "sensor",
    "algorithm",
    "model",
    "dataset",
    "accuracy",
    "bias",
    "fairness",
    "trial",
    "enrollment",
    "pathology",
    "biopsy",
    "screening",
    "mammography",
    "colonoscopy",
    "telemetry",
    "monitoring",
    "alarm",
    "fatigue",
    "handoff",
]
COMMON_WORDS = ("health", "care", "patients")  # each in about 90% of the items
BRANDS = tuple(f"source{i}.example" for i in range(40))
COMMUNITIES = ("news", "research", "policy", "industry", "clinical")
TOPICS = tuple(f"Topic {i}" for i in range(60))
STATES = ("draft",) * 6 + ("approved", "published", "published", "rejected")
PASSWORD = "bench-password-1"


@dataclass(frozen=True)
class BuiltStore:
    """What the load generator needs to know about the store it plays against."""

    url: str
    token: str
    items: int
    newest: datetime
    oldest: datetime
    rare_words: tuple[str, ...]
    common_words: tuple[str, ...]


def vocabulary(corpora: Path = SHARED_CORPORA, size: int = 5_000) -> list[str]:
    """Words of four letters or more, most frequent first: the corpora's, else the built-in list."""
    counts: Counter[str] = Counter()
    if corpora.is_dir():
        for path in sorted(corpora.rglob("*.md"))[:2_000]:
            counts.update(
                re.findall(r"[a-z]{4,}", path.read_text(encoding="utf-8", errors="replace").lower())
            )
    words = [w for w, _ in counts.most_common(size) if w not in COMMON_WORDS]
    return words if len(words) >= 200 else list(BUILT_IN_WORDS)


def _row(
    n: int, rng: random.Random, words: list[str], weights: list[float], start: datetime
) -> dict[str, object]:
    drawn = rng.choices(words, cum_weights=weights, k=120)
    common = [w for w in COMMON_WORDS if rng.random() < 0.9]
    title = " ".join(drawn[:8]).capitalize()
    brand = rng.choice(BRANDS)
    url = f"https://{brand}/articles/{n}"
    published = start + timedelta(minutes=5 * n) if n % 9 else None
    created = start + timedelta(minutes=5 * n, seconds=30)
    topics = rng.sample(TOPICS, 3)
    return {
        "id": n,
        "md_name": f"bench-{n}",
        "url": url,
        "url_key": url,
        "title": title,
        "state": rng.choice(STATES),
        "variant": "news-2022",
        "community": rng.choice(COMMUNITIES),
        "brand": brand,
        "published_at": published,
        "sort_at": published or created,
        "front_matter": {
            "title": title,
            "description": " ".join(drawn[8:30]),
            "link": {"brand": brand, "href": url},
            "categories": topics,
            "layOut": "single",
            "id": n,
        },
        "body": " ".join(drawn[30:60] + common),
        "text": " ".join(drawn[60:]),
        "created_at": created,
        "updated_at": created,
        "_topics": topics,
    }


def _fill(database: Database, count: int, seed: int) -> tuple[Counter[str], datetime]:
    rng = random.Random(seed)
    words = vocabulary()
    weights = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(words))))
    start = datetime(2015, 1, 1, tzinfo=UTC)
    frequency: Counter[str] = Counter()
    for first in range(1, count + 1, CHUNK):
        rows = [_row(n, rng, words, weights, start) for n in range(first, min(count, first + CHUNK - 1) + 1)]
        topics = [
            {
                "item_id": r["id"],
                "label_key": normalize_label(t),
                "label": t,
                "position": i,
                "sort_at": r["sort_at"],
            }
            for r in rows
            for i, t in enumerate(r.pop("_topics"))  # type: ignore[arg-type]
        ]
        for r in rows:
            fields = (r["title"], r["front_matter"]["description"], r["body"], r["text"])  # type: ignore[index]
            frequency.update(set(" ".join(str(f) for f in fields).lower().split()))
        with database.session() as session:
            session.execute(insert(ItemRecord.__table__), rows)
            session.execute(insert(ItemTopic.__table__), topics)
    return frequency, start


# SQLite builds its rows in SQL: the same shape as ``_row``, words drawn inside SQLite (a product of
# two uniform ranks skews towards the frequent words), because on a loaded machine the Python loop
# and the search index's upkeep in one process took over 40 minutes for 100,000 items.
_SQLITE_WORDS = (
    "(SELECT group_concat(word, ' ') FROM slots JOIN words "
    "ON words.rank = (abs(random() + 0 * slots.k) % {n}) * (abs(random() + 0 * slots.k) % {n}) / {n} "
    "WHERE slots.k < {k} + 0 * i)"
)
_SQLITE_FILL = """
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {count}),
drawn AS MATERIALIZED (
    SELECT i, 'source' || (abs(random()) % 40) || '.example' AS brand, {title} AS title,
           {description} AS description, {body} AS body, {text} AS text,
           strftime('%Y-%m-%d %H:%M:%S.000000', {start} + i * 300, 'unixepoch') AS moment
    FROM seq
)
INSERT INTO items (id, md_name, url, url_key, title, state, variant, community, brand, published_at,
                   sort_at, front_matter, body, text, created_at, updated_at)
SELECT i, 'bench-' || i, 'https://' || brand || '/articles/' || i, 'https://' || brand || '/articles/' || i,
       title, {state}, 'news-2022', {community}, brand, CASE WHEN i % 9 = 0 THEN NULL ELSE moment END,
       moment,
       json_object('title', title, 'description', description,
                   'link', json_object('brand', brand, 'href', 'https://' || brand || '/articles/' || i),
                   'categories', json_array('Topic ' || (i % 60), 'Topic ' || ((i + 20) % 60),
                                            'Topic ' || ((i + 40) % 60)),
                   'layOut', 'single', 'id', i),
       body, text, moment, moment
FROM drawn
"""
_SQLITE_TOPICS = (
    "INSERT INTO item_topics (item_id, label_key, label, position, sort_at) "
    "SELECT id, 'topic ' || ((id + 20 * k) % 60), 'Topic ' || ((id + 20 * k) % 60), k, sort_at "
    "FROM items JOIN slots ON slots.k < 3"
)


def _sql_choice(values: tuple[str, ...]) -> str:
    """A SQL expression that picks one of ``values`` at random."""
    cases = " ".join(f"WHEN {i} THEN '{value}'" for i, value in enumerate(values))
    return f"CASE abs(random()) % {len(values)} {cases} END"


def _fill_sqlite(database: Database, count: int) -> tuple[tuple[str, ...], datetime]:
    """Fill SQLite in SQL; the rare words are those the FTS index says match 0.1%-1% of the items."""
    words = vocabulary()
    start = datetime(2015, 1, 1, tzinfo=UTC)
    n = len(words)
    common = " || ' ' || ".join(
        f"CASE WHEN abs(random()) % 10 < 9 THEN '{w}' ELSE '' END" for w in COMMON_WORDS
    )
    sql = _SQLITE_FILL.format(
        count=count,
        start=int(start.timestamp()),
        title=_SQLITE_WORDS.format(n=n, k=8),
        description=_SQLITE_WORDS.format(n=n, k=22),
        body=_SQLITE_WORDS.format(n=n, k=30) + f" || ' ' || {common}",
        text=_SQLITE_WORDS.format(n=n, k=60),
        state=_sql_choice(STATES),
        community=_sql_choice(COMMUNITIES),
    )
    with database.session() as session:
        session.execute(text("CREATE TEMP TABLE words (rank INTEGER PRIMARY KEY, word TEXT)"))
        session.execute(text("CREATE TEMP TABLE slots (k INTEGER PRIMARY KEY)"))
        session.execute(
            text("INSERT INTO words VALUES (:rank, :word)"),
            [{"rank": r, "word": w} for r, w in enumerate(words)],
        )
        session.execute(text("INSERT INTO slots VALUES (:k)"), [{"k": k} for k in range(64)])
        session.execute(text(sql))
        session.execute(text(_SQLITE_TOPICS))
        low, high = max(20, count // 1000), max(50, count // 100)
        rare = []
        for word in words[n // 2 :: 7]:
            found = session.scalar(
                text("SELECT count(*) FROM items_fts WHERE items_fts MATCH :w"), {"w": f'"{word}"'}
            )
            if low <= int(found or 0) <= high and len(word) >= 5:
                rare.append(word)
            if len(rare) == 40:
                break
    return tuple(rare), start


def _rare_words(frequency: Counter[str], count: int) -> tuple[str, ...]:
    """Words that match a few hundred items (0.1%-1% of the store), not all."""
    low, high = max(20, count // 1000), max(50, count // 100)
    return tuple(sorted(w for w, n in frequency.items() if low <= n <= high and len(w) >= 5)[:40])


@dataclass
class Backend:
    """A database the bench creates and drops."""

    url: str
    admin_url: str | None = None
    name: str | None = None

    def drop(self) -> None:
        """Drop the PostgreSQL database (SQLite files go with their temporary directory)."""
        if self.admin_url and self.name:
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()


def make_backend(kind: str, home: Path) -> Backend:
    """A fresh SQLite file in ``home`` or a new database on the PostgreSQL server."""
    if kind == "sqlite":
        return Backend(url=f"sqlite:///{home / 'medcurate.db'}")
    admin_url = os.environ.get("MEDCURATE_DATABASE_URL", DEFAULT_POSTGRES_URL)
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"medcurate_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return Backend(url=admin_url.rsplit("/", 1)[0] + f"/{name}", admin_url=admin_url, name=name)


def build_store(backend: Backend, count: int, seed: int = 13) -> BuiltStore:
    """Fill the backend with ``count`` items, an editor and an API token."""
    database = open_database(backend.url)
    if database.engine.dialect.name == "sqlite":
        rare, start = _fill_sqlite(database, count)
    else:
        frequency, start = _fill(database, count, seed)
        rare = _rare_words(frequency, count)
    with database.session() as session:
        add_user(session, username="bench", password=PASSWORD, role=Role.EDITOR, actor="bench")
        _, token = create_api_token(session, username="bench", name="bench", actor="bench")
    with database.session() as session:
        analyze(session)
    database.dispose()
    return BuiltStore(
        url=backend.url,
        token=token,
        items=count,
        newest=start + timedelta(minutes=5 * count),
        oldest=start,
        rare_words=rare,
        common_words=COMMON_WORDS,
    )
