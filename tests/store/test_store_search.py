"""Full-text search over items, on SQLite (FTS5) and PostgreSQL (tsvector): the same tests on both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, inspect, update
from sqlalchemy.orm import Session

from factories import store_item
from medcurate.models import CuratedItem, ItemState, Variant
from medcurate.store.db import Database, alembic_config
from medcurate.store.models import ItemRecord
from medcurate.store.repository import ItemQuery, count_items, list_items, save_item, set_state
from medcurate.store.search import FTS_TABLE, SEARCH_VECTOR_COLUMN, parse_terms

START = datetime(2024, 1, 1, tzinfo=UTC)

# (md_name, title, description, body, article text, topics, days after START)
ITEMS = [
    (
        "ransom-title",
        "Ransomware attack cripples a regional hospital",
        "A hospital network goes offline.",
        "<p>Systems were restored after a week.</p>",
        "The attackers demanded payment in bitcoin; clinicians returned to paper charts.",
        ["Cybersecurity"],
        1,
    ),
    (
        "ransom-body",
        "Quarterly security roundup",
        "What happened this quarter.",
        "<p>Phishing rose again.</p>",
        "Among the incidents, one ransomware gang hit a clinic; phishing remained the main entry point.",
        ["Cybersecurity"],
        5,
    ),
    (
        "telehealth",
        "Telehealth rules extended through 2025",
        "Virtual visits keep their payment parity.",
        "<p>Medicare keeps paying for video visits.</p>",
        "Congress extended the telehealth flexibilities for Medicare patients.",
        ["Telemedicine"],
        3,
    ),
    (
        "imaging",
        "AI reads chest X-rays",
        "Radiologists compared against a model.",
        "<p>The study covered 40,000 images.</p>",
        "Deep learning matched radiologists on pneumonia detection in hospitals across three states.",
        ["Imaging", "Artificial Intelligence"],
        2,
    ),
]

HOSTILE = [
    '"',
    '""',
    "*",
    "ransom*",
    "OR",
    "a OR",
    "NEAR(",
    "NEAR(a b",
    "-x",
    "-",
    "a:b",
    "title:ransomware",
    "",
    "   ",
    "^",
    "(",
    ")",
    "'",
    "\\",
    "&|!<->",
    "AND NOT",
    "ransomware NOT",
    "x" * 500,
    "ransomware " * 50,
    "é" * 500,
    "\x00null",
    "💉 vaccine",
]


def _item(title: str, description: str, body: str, topics: list[str]) -> CuratedItem:
    return CuratedItem(
        front_matter={"title": title, "description": description, "categories": topics},
        body=body,
        variant=Variant.BOOKMARK_2019,
    )


def _fill(database: Database) -> dict[str, int]:
    return {
        md_name: store_item(
            database,
            _item(title, description, body, topics).updated({"date": START + timedelta(days=days)}),
            md_name=md_name,
            url_key=md_name,
            text=text,
            community=None,
            audit=False,
        )
        for md_name, title, description, body, text, topics, days in ITEMS
    }


def _ids(session: Session, **filters: object) -> list[int]:
    return [record.id for record in list_items(session, query=ItemQuery(**filters))]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("telehealth", {"telehealth"}),  # title
        ("bitcoin", {"ransom-title"}),  # article text only
        ("phishing", {"ransom-body"}),  # body and text
        ("payment parity", {"telehealth"}),  # description (front matter)
        ("offline", {"ransom-title"}),  # description only
        ("TELEHEALTH medicare", {"telehealth"}),  # case-insensitive; every word required
        ("telehealth bitcoin", set()),
        ("zebra", set()),
        ("ransom", set()),  # a submitted word matches whole
        ("ransom*", {"ransom-title", "ransom-body"}),  # a starred last word is a prefix: type-ahead
        ("ransom* attack", set()),  # only the last word can be a prefix
        ("hospitals", {"ransom-title", "imaging"}),  # stemming: hospital / hospitals
        ("radiologist", {"imaging"}),
        ("x-rays", {"imaging"}),
    ],
)
def test_words_in_title_description_body_and_text_are_found(
    database: Database, text: str, expected: set[str]
) -> None:
    ids = _fill(database)
    names = {v: k for k, v in ids.items()}
    with database.session() as session:
        found = _ids(session, text=text)
        assert {names[i] for i in found} == expected
        assert count_items(session, query=ItemQuery(text=text)) == len(found)


def test_a_title_match_ranks_above_a_body_only_match(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        # The body-only item is newer, so without ranking it would come first.
        assert _ids(session, text="ransomware") == [ids["ransom-title"], ids["ransom-body"]]
        assert _ids(session, text="ransomware", sort="newest") == [ids["ransom-body"], ids["ransom-title"]]
        assert _ids(session, text="ransomware", sort="relevance") == [
            ids["ransom-title"],
            ids["ransom-body"],
        ]


def test_without_text_the_order_stays_newest_first(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        assert _ids(session) == [ids["ransom-body"], ids["telehealth"], ids["imaging"], ids["ransom-title"]]
        # No words at all is no filter, as an empty search box is.
        assert _ids(session, text=" * ") == _ids(session)


def test_updates_and_deletes_are_reflected(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        record, outcome = save_item(
            session,
            item=_item("Nurse staffing shortages deepen", "Unions warn.", "<p>Shifts go unfilled.</p>", []),
            md_name="telehealth",
            url_key="telehealth",
            text="Hospitals report open nursing posts.",
        )
        assert outcome == "updated" and record.id == ids["telehealth"]
    with database.session() as session:
        assert _ids(session, text="telehealth") == []
        assert _ids(session, text="medicare") == []
        assert _ids(session, text="staffing") == [ids["telehealth"]]
        assert _ids(session, text="unions") == [ids["telehealth"]]  # the new description
        # A state change is not a content change; the item stays findable.
        set_state(session, item_id=ids["telehealth"], state=ItemState.APPROVED)
        assert _ids(session, text="staffing") == [ids["telehealth"]]
        session.execute(update(ItemRecord).where(ItemRecord.id == ids["imaging"]).values(title="Renamed"))
        assert _ids(session, text="chest") == []
        assert _ids(session, text="renamed") == [ids["imaging"]]
        session.execute(delete(ItemRecord).where(ItemRecord.id == ids["ransom-title"]))
    with database.session() as session:
        assert _ids(session, text="ransomware") == [ids["ransom-body"]]
        assert count_items(session, query=ItemQuery(text="bitcoin")) == 0


def test_hostile_input_never_raises(database: Database) -> None:
    _fill(database)
    # One database for the whole table: creating one per case would make this the slowest test here.
    for text in HOSTILE:
        with database.session() as session:
            found = list_items(session, query=ItemQuery(text=text))
            assert count_items(session, query=ItemQuery(text=text)) == len(found), text
            if parse_terms(text) is None:
                assert len(found) == len(ITEMS), text


def test_operators_are_words_not_syntax(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        # "OR" would widen the search and "-" would exclude were they passed through; they are not.
        assert _ids(session, text="telehealth OR bitcoin") == []
        assert _ids(session, text="ransomware -bitcoin") == [ids["ransom-title"]]
        assert _ids(session, text='"telehealth" (medicare*') == [ids["telehealth"]]
        assert _ids(session, text="NEAR(telehealth medicare)") == []  # "near" is a word it lacks
        assert _ids(session, text="title:bitcoin") == []


def test_search_combines_with_state_topic_and_dates(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        set_state(session, item_id=ids["ransom-body"], state=ItemState.PUBLISHED)
        assert _ids(session, text="ransomware", state="draft") == [ids["ransom-title"]]
        assert _ids(session, text="ransomware", state="published") == [ids["ransom-body"]]
        assert count_items(session, query=ItemQuery(text="ransomware", state="published")) == 1
        assert _ids(session, text="hospital", topic="imaging") == [ids["imaging"]]
        assert count_items(session, query=ItemQuery(text="hospital", topic="imaging")) == 1
        assert _ids(session, text="hospital", since=START + timedelta(days=2)) == [ids["imaging"]]


def test_counts_match_the_list_and_pages_keep_the_rank(database: Database) -> None:
    for n in range(30):
        # Items whose title says "sepsis" rank first; the rest mention it in the text only.
        title = f"Sepsis alert {n}" if n % 3 == 0 else f"Ward report {n}"
        item = _item(title, "", "<p>Ward news.</p>", ["Quality"]).updated({"date": START + timedelta(n)})
        store_item(
            database, item, md_name=f"s{n}", url_key=f"s{n}", text=f"sepsis screening {n}", community=None
        )
    with database.session() as session:
        total = count_items(session, query=ItemQuery(text="sepsis"))
        pages = [_ids(session, text="sepsis", limit=7, offset=offset) for offset in range(0, 35, 7)]
        flat = [i for page in pages for i in page]
        assert total == len(flat) == len(set(flat)) == 30
        titled = {r.id for r in list_items(session, query=ItemQuery(limit=100)) if "Sepsis" in r.title}
        assert set(flat[: len(titled)]) == titled
        assert count_items(session, query=ItemQuery(text="sepsis", topic="quality")) == 30


def test_the_migration_backfills_and_downgrades(database: Database) -> None:
    ids = _fill(database)
    config = alembic_config(database.engine)
    command.downgrade(config, "0001")
    assert not _search_objects_exist(database)
    command.upgrade(config, "head")
    assert _search_objects_exist(database)
    with database.session() as session:
        # Rows stored before the index existed are found: the upgrade filled it.
        assert _ids(session, text="bitcoin") == [ids["ransom-title"]]
        assert _ids(session, text="telehealth") == [ids["telehealth"]]


def _search_objects_exist(database: Database) -> bool:
    inspector = inspect(database.engine)
    if database.engine.dialect.name == "sqlite":
        return FTS_TABLE in inspector.get_table_names()
    return SEARCH_VECTOR_COLUMN in {c["name"] for c in inspector.get_columns("items")}


@pytest.mark.parametrize(
    ("text", "fts5", "prefix"),
    [
        ("ransom", '"ransom"', False),
        ("ransom*", '"ransom"*', True),
        ("Heart attack", '"heart" "attack"', False),
        ("Heart attack* ", '"heart" "attack"*', True),
        ("Heart* attack", '"heart" "attack"', False),  # only the last word can be a prefix
        ('a"b*', '"a" "b"', False),  # a one-letter last word matches whole
        ("NEAR(x, y)", '"near" "x" "y"', False),
        ("foo_bar:baz*", '"foo" "bar" "baz"*', True),
        ("baz *", '"baz"', False),  # the star must touch the word
    ],
)
def test_parse_terms_quotes_every_word(text: str, fts5: str, prefix: bool) -> None:
    terms = parse_terms(text)
    assert terms is not None
    assert (terms.fts5(), terms.prefix) == (fts5, prefix)


@pytest.mark.parametrize("text", [None, "", "  ", '"*"', "-:()^", "_"])
def test_parse_terms_without_words_is_none(text: str | None) -> None:
    assert parse_terms(text) is None
