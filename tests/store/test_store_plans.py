"""Query plans at 100,000 items: every list, filter, keyset page and search walks an index, no sort.

The store is filled with bulk SQL (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL),
analysed, and each of ``store.listing``'s statements is captured as it runs and explained with the
same parameters. A plan fails when it scans ``items`` (or ``item_topics``) whole, or sorts rows read
from such a scan; ranked search may sort its bounded first cut, never the matches themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from psycopg import sql
from sqlalchemy import event, text

from dbsupport import fresh_postgres, fresh_sqlite
from medcurate.store.db import Database
from medcurate.store.listing import analyze, encode_cursor, item_page, item_total
from medcurate.store.repository import ItemQuery

ITEMS = 100_000
RARE, COMMON = "zeppelin", "hospital"

_FILL = """
INSERT INTO items (id, md_name, url, url_key, title, state, variant, community, brand, published_at,
                   sort_at, front_matter, body, text, created_at, updated_at)
SELECT i, 'item-' || i, 'https://s' || (i % 40) || '.example/' || i,
       'https://s' || (i % 40) || '.example/' || i,
       'Item ' || i || CASE WHEN i % 500 = 0 THEN ' {rare}' ELSE '' END,
       CASE WHEN i % 10 < 6 THEN 'draft' WHEN i % 10 < 8 THEN 'published' ELSE 'rejected' END,
       'news-2022', 'community-' || (i % 5), 's' || (i % 40) || '.example',
       CASE WHEN i % 7 = 0 THEN NULL ELSE {moment} END, {moment},
       {empty_json}, '', CASE WHEN i % 10 = 9 THEN 'quiet' ELSE 'a {common} story' END, {moment}, {moment}
FROM {numbers}
"""
SQLITE_FILL = (
    f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ITEMS})"
    + _FILL.format(
        rare=RARE,
        common=COMMON,
        moment="strftime('%Y-%m-%d %H:%M:%S.000000', 1700000000 + i * 60, 'unixepoch')",
        empty_json="'{}'",
        numbers="n",
    )
)
POSTGRES_FILL = _FILL.format(
    rare=RARE,
    common=COMMON,
    moment="timestamptz '2023-11-14' + i * interval '1 minute'",
    empty_json="'{}'::json",
    numbers=f"generate_series(1, {ITEMS}) AS i",
)
TOPICS_FILL = (
    "INSERT INTO item_topics (item_id, label_key, label, position, sort_at) "
    "SELECT id, 'topic ' || (id % 20), 'Topic ' || (id % 20), 0, sort_at FROM items"
)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def big_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A store of 100,000 items, built once per backend for this module."""
    databases = (
        fresh_sqlite(tmp_path_factory.mktemp("plans")) if request.param == "sqlite" else fresh_postgres()
    )
    database = next(databases)
    dialect = database.engine.dialect.name
    with database.session() as session:
        session.execute(text(SQLITE_FILL if dialect == "sqlite" else POSTGRES_FILL))
        session.execute(text(TOPICS_FILL))
    with database.session() as session:
        analyze(session)
    yield database
    databases.close()


@contextmanager
def captured(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run inside the block, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _explain(database: Database, statement: str, parameters: Any) -> Any:
    with database.engine.connect() as connection:
        raw = connection.connection.cursor()
        if database.engine.dialect.name == "sqlite":
            raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[3]) for row in raw.fetchall()]
        raw.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = raw.fetchone()[0]
        return (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]


def _sqlite_problems(details: list[str], *, ranked: bool) -> list[str]:
    whole = {"items", "item_topics", "topic"}
    problems = [d for d in details if d.startswith("SCAN ") and d.split()[1] in whole and "USING" not in d]
    if not ranked:  # a ranked search sorts its bounded cut; a list never sorts
        problems += [d for d in details if "TEMP B-TREE FOR ORDER BY" in d]
    return problems


def _pg_problems(node: dict[str, Any]) -> list[str]:
    kind, relation = node["Node Type"], node.get("Relation Name", "")
    problems = []
    if kind == "Seq Scan" and relation in {"items", "item_topics"}:
        problems.append(f"Seq Scan on {relation}")
    if kind in {"Sort", "Incremental Sort"} and node["Plans"][0]["Plan Rows"] > ITEMS // 10:
        problems.append(f"sorts about {node['Plans'][0]['Plan Rows']} rows")
    for child in node.get("Plans", []):
        problems += _pg_problems(child)
    return problems


def _plans_are_indexed(
    database: Database, statements: list[tuple[str, Any]], *, ranked: bool = False
) -> None:
    assert statements
    for n, (statement, parameters) in enumerate(statements):
        plan = _explain(database, statement, parameters)
        is_labels = n > 0 and "item_topics.label" in statement and "IN (" in statement.upper()
        if isinstance(plan, list):
            problems = _sqlite_problems(plan, ranked=ranked or is_labels)
        else:
            problems = _pg_problems(plan)
        assert not problems, f"{problems} in the plan of {statement}: {plan}"


CASES = {
    "list": ItemQuery(),
    "state": ItemQuery(state="draft"),
    "brand": ItemQuery(brand="s7.example"),
    "community": ItemQuery(community="community-3"),
    "topic": ItemQuery(topic="Topic 4"),
    "state+brand": ItemQuery(state="draft", brand="s12.example"),
    "state+community": ItemQuery(state="published", community="community-2"),
    "state+topic": ItemQuery(state="draft", topic="TOPIC 4"),
    "search rare": ItemQuery(text=RARE),
    "search common": ItemQuery(text=COMMON),
    "search common, newest": ItemQuery(text=COMMON, sort="newest"),
    "search with a state": ItemQuery(text=COMMON, state="draft"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_first_pages_walk_an_index(big_store: Database, name: str) -> None:
    query = CASES[name]
    with captured(big_store) as statements, big_store.session() as session:
        page = item_page(session, query=query)
    assert len(page.rows) == query.limit
    _plans_are_indexed(big_store, statements, ranked=bool(query.text) and query.sort is None)


@pytest.mark.parametrize("name", ["list", "state", "topic", "state+brand", "search common, newest"])
def test_deep_keyset_pages_walk_an_index(big_store: Database, name: str) -> None:
    query = CASES[name]
    with big_store.session() as session:
        first = item_page(session, query=query)
        deep_key = first.rows[-1].sort_at - timedelta(days=50)  # about 70,000 items further down
        cursor = encode_cursor({"k": [deep_key.isoformat(), 10**9]})
    with captured(big_store) as statements, big_store.session() as session:
        deep = item_page(session, query=query, after=cursor)
        back = item_page(session, query=query, before=deep.prev)
    assert len(deep.rows) == query.limit and all(row.sort_at <= deep_key for row in deep.rows)
    assert back.rows and (back.rows[-1].sort_at, back.rows[-1].id) > (deep.rows[0].sort_at, deep.rows[0].id)
    _plans_are_indexed(big_store, statements)


def test_a_date_range_walks_an_index(big_store: Database) -> None:
    with big_store.session() as session:
        newest = item_page(session, query=ItemQuery(limit=1)).rows[0].sort_at
    query = ItemQuery(state="draft", since=newest - timedelta(days=30), until=newest - timedelta(days=20))
    with captured(big_store) as statements, big_store.session() as session:
        page = item_page(session, query=query)
    assert page.rows and all(query.since <= row.sort_at < query.until for row in page.rows)  # type: ignore[operator]
    _plans_are_indexed(big_store, statements)


def test_totals_are_exact_when_small_and_estimated_when_large(big_store: Database) -> None:
    with big_store.session() as session:
        rare = item_total(session, query=ItemQuery(text=RARE))
        large = item_total(session, query=ItemQuery(state="draft"))
    assert rare.exact and rare.value == ITEMS // 500
    assert not large.exact and 0.5 * 60_000 < large.value < 1.5 * 60_000


def test_a_common_search_total_reads_no_match_list(big_store: Database) -> None:
    # PostgreSQL: the planner's estimate, no count; SQLite: a count of the FTS5 index alone.
    # (A bound of 100: the planner's estimate for this store's one-word texts is a few thousand.)
    with captured(big_store) as statements, big_store.session() as session:
        total = item_total(session, query=ItemQuery(text=COMMON), exact_up_to=100)
    assert not total.exact
    counts = [statement for statement, _ in statements if "count(" in statement.lower()]
    if big_store.engine.dialect.name == "postgresql":
        assert not counts and total.value > 10 * 100, (counts, total)
    else:
        assert total.value == 90_000
        assert counts and all("FROM items " not in statement for statement in counts), counts


def test_the_checks_catch_a_sort_of_the_whole_table(big_store: Database) -> None:
    # The order lists had before sort_at, on a key no index holds.
    statement = "SELECT id FROM items ORDER BY coalesce(published_at, created_at) DESC, id DESC LIMIT 25"
    plan = _explain(big_store, statement, ())
    problems = _sqlite_problems(plan, ranked=False) if isinstance(plan, list) else _pg_problems(plan)
    assert problems, plan


def _generic_plan(database: Database, statement: str, parameters: dict[str, Any]) -> Any:
    """PostgreSQL's generic plan of a captured statement: the one a prepared statement ends up with.

    psycopg prepares a statement run five times on a connection; PostgreSQL then plans it once for
    any parameters, blind to the words searched for.
    """
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, statement)
    with database.engine.connect() as connection:
        raw = connection.connection.cursor()
        raw.execute("SET plan_cache_mode = force_generic_plan")
        raw.execute(f"PREPARE generic AS {prepared}")
        # EXECUTE's arguments as literals: PostgreSQL types no parameter of a utility statement.
        arguments = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
        raw.execute(sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE generic({})").format(arguments))
        plan = raw.fetchone()[0]
        raw.execute("DEALLOCATE generic")
        raw.execute("RESET plan_cache_mode")
        return (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]


def _uses(node: dict[str, Any], index: str) -> bool:
    return node.get("Index Name") == index or any(_uses(child, index) for child in node.get("Plans", []))


def test_a_search_first_cut_keeps_its_plan_when_prepared(big_store: Database) -> None:
    # PostgreSQL: a rare word's matches come from the GIN index, a common word's from a walk of the
    # primary key; a generic plan (a statement prepared by psycopg) must not gather every match of
    # the common word from the index (it guesses 0.5% of the rows match, whatever the word).
    if big_store.engine.dialect.name != "postgresql":
        pytest.skip("generic plans are PostgreSQL's")
    for word, gathers in ((RARE, True), (COMMON, False)):
        with captured(big_store) as statements, big_store.session() as session:
            item_page(session, query=ItemQuery(text=word))
        first_cut = [(s, p) for s, p in statements if "ts_rank" in s]
        assert len(first_cut) == 1, statements
        for plan in (_explain(big_store, *first_cut[0]), _generic_plan(big_store, *first_cut[0])):
            assert _uses(plan, "ix_items_search_vector") == gathers, (word, plan)
            assert not _pg_problems(plan), (word, plan)
