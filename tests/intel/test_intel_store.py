"""Identifiers on stored items (filtering, the 0006 backfill), and source-type corrections that teach."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from factories import store_item
from medcurate.errors import InvalidInput
from medcurate.frontmatter import parse_document, render_document
from medcurate.intel.service import correct_source_type, memory_for
from medcurate.intel.signals import PageSignals
from medcurate.intel.source_type import SourceType, classify
from medcurate.store.db import Database, alembic_config
from medcurate.store.intel import source_type_corrections
from medcurate.store.models import DecisionRecord
from medcurate.store.repository import (
    ItemQuery,
    audit_trail,
    find_item,
    item_from_record,
    list_items,
    save_item,
)

DOC = """---
title: Trial results
link:
  href: https://wire.example/releases/1
identifiers:
- doi:10.1056/nejmoa2100001
- nct:NCT01234567
sourceType:
  type: news
  reason: a byline
---
<p>Body.</p>
"""


def _store(database: Database, n: int, identifiers: list[str] | None, url: str | None = None) -> int:
    item = parse_document(DOC).updated(
        {
            "title": f"Item {n}",
            "identifiers": identifiers,
            "link": {"href": url or f"https://site{n}.example/a"},
        }
    )
    return store_item(
        database, item, md_name=f"m-{n}", url_key=f"u-{n}", text=f"Text {n}", community=None, audit=False
    )


def _titles(database: Database, identifier: str) -> list[str]:
    with database.session() as session:
        return sorted(r.title for r in list_items(session, query=ItemQuery(identifier=identifier)))


def test_identifiers_round_trip_losslessly_through_the_codec() -> None:
    item = parse_document(DOC)
    assert parse_document(render_document(item)).front_matter == item.front_matter
    assert item.front_matter["identifiers"] == ["doi:10.1056/nejmoa2100001", "nct:NCT01234567"]


def test_items_filter_by_identifier_and_follow_edits(database: Database) -> None:
    _store(database, 1, ["doi:10.1056/nejmoa2100001", "nct:NCT01234567"])
    _store(database, 2, ["nct:NCT01234567"])
    _store(database, 3, None)
    assert _titles(database, "nct:NCT01234567") == ["Item 1", "Item 2"]
    assert _titles(database, "doi:10.1056/nejmoa2100001") == ["Item 1"]
    assert _titles(database, "pmid:1") == []
    with database.session() as session:
        record = find_item(session, md_name="m-2")
        assert record is not None
        changed = item_from_record(record).updated({"identifiers": ["pmid:1"]})
        save_item(session, item=changed, md_name="m-2", url_key="u-2")
    assert _titles(database, "nct:NCT01234567") == ["Item 1"]
    assert _titles(database, "pmid:1") == ["Item 2"]


def test_migration_0006_fills_identifiers_of_stored_rows(database: Database) -> None:
    _store(database, 1, ["doi:10.1056/nejmoa2100001"])
    _store(database, 2, None)
    config = alembic_config(database.engine)
    command.downgrade(config, "0003")
    assert "item_identifiers" not in inspect(database.engine).get_table_names()
    command.upgrade(config, "head")
    assert _titles(database, "doi:10.1056/nejmoa2100001") == ["Item 1"]


def test_a_correction_is_a_decision_the_classifier_learns_from(sqlite_database: Database) -> None:
    database = sqlite_database
    page = PageSignals(
        url="https://www.hospital.example/stories/new-wing", title="New wing", text="We opened."
    )
    assert classify(page).source_type is SourceType.NEWS
    ids = [_store(database, n, None, url=f"https://hospital.example/stories/{n}") for n in range(2)]
    for item_id in ids:
        correct_source_type(database, item_id=item_id, source_type="press-release", actor="eve")
    with database.session() as session:
        record = find_item(session, md_name="m-0")
        assert record is not None
        assert record.front_matter["sourceType"] == {"type": "press-release", "reason": "set by eve"}
        assert audit_trail(session, entity_type="item", entity_id=ids[0])[0].action == "item.source_type"
        assert session.query(DecisionRecord).filter_by(kind="source_type").count() == 2
        assert len(source_type_corrections(session)) == 2
        verdict = classify(page, memory_for(session))
    assert verdict.source_type is SourceType.PRESS_RELEASE
    assert "editors classed 2 items from hospital.example as press release" in verdict.reason
    # A later correction of the same item replaces its earlier one, and the memory follows.
    correct_source_type(database, item_id=ids[0], source_type="news", actor="eve")
    correct_source_type(database, item_id=ids[1], source_type="news", actor="eve")
    with database.session() as session:
        assert classify(page, memory_for(session)).source_type is SourceType.NEWS


def test_unknown_source_type_is_refused(sqlite_database: Database) -> None:
    item_id = _store(sqlite_database, 1, None)
    with pytest.raises(InvalidInput, match="unknown source type"):
        correct_source_type(sqlite_database, item_id=item_id, source_type="blog", actor="eve")
