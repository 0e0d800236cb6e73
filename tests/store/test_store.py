"""The storage suite: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from medcurate.config import load_config
from medcurate.errors import NotFound
from medcurate.frontmatter import parse_document, read_document, render_document
from medcurate.importer import import_paths
from medcurate.models import ItemState
from medcurate.store.db import (
    Database,
    alembic_config,
    declared_revision,
    migrations_head,
    open_database,
    schema_revision,
)
from medcurate.store.models import Base
from medcurate.store.repository import (
    ItemQuery,
    audit_trail,
    count_items,
    find_item,
    get_item,
    item_from_record,
    list_items,
    record_audit,
    save_item,
    set_state,
)
from medcurate.store.search import include_name

DOC = """---
title: Ransomware hits a hospital network
date: 2019-01-31T10:38:39Z
archetype: bookmark
categories:
- Cybersecurity
- ' Hospitals '
link: https://example.org/ransomware
linkBrand: example.org
source:
  name: Dropmark
  apiendpoint: https://example.org/api.json
---
Body text about ransomware.
"""


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        # The same filter as migrations/env.py: the full-text index is DDL the models do not describe.
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_save_is_idempotent_and_keeps_front_matter_types(database: Database) -> None:
    item = parse_document(DOC)
    with database.session() as session:
        record, outcome = save_item(session, item=item, md_name="m-1", url_key="example.org/ransomware")
        assert outcome == "created"
        first_id = record.id
    with database.session() as session:
        again, outcome = save_item(session, item=item, md_name="m-1", url_key="example.org/ransomware")
        assert (again.id, outcome) == (first_id, "unchanged")
    with database.session() as session:
        stored = item_from_record(get_item(session, item_id=first_id))
    assert dict(stored.front_matter) == dict(item.front_matter)
    assert stored.front_matter["date"] == datetime(2019, 1, 31, 10, 38, 39, tzinfo=UTC)
    assert list(stored.front_matter) == list(item.front_matter)
    assert render_document(stored) == render_document(item)


def test_same_url_key_never_makes_a_second_item(database: Database) -> None:
    item = parse_document(DOC)
    with database.session() as session:
        first, _ = save_item(session, item=item, md_name="m-1", url_key="example.org/ransomware")
        second, outcome = save_item(
            session,
            item=item.updated({"title": "New title"}),
            md_name="m-other",
            url_key="example.org/ransomware",
        )
        assert second.id == first.id and outcome == "updated"
        assert count_items(session) == 1


def test_filters_topics_text_state_and_ids_increase(database: Database) -> None:
    item = parse_document(DOC)
    with database.session() as session:
        a, _ = save_item(
            session, item=item, md_name="a", url_key="a", state=ItemState.DRAFT, community="news"
        )
        b, _ = save_item(
            session,
            item=item.updated({"title": "Telehealth grows", "categories": ["Telemedicine"]}),
            md_name="b",
            url_key="b",
            state=ItemState.PUBLISHED,
        )
        assert b.id > a.id
        assert [r.id for r in list_items(session, query=ItemQuery(topic="hospitals"))] == [a.id]
        assert [r.id for r in list_items(session, query=ItemQuery(topic="  TELEMEDICINE "))] == [b.id]
        assert [r.id for r in list_items(session, query=ItemQuery(state="draft"))] == [a.id]
        assert [r.id for r in list_items(session, query=ItemQuery(text="telehealth"))] == [b.id]
        assert [r.id for r in list_items(session, query=ItemQuery(community="news"))] == [a.id]
        set_state(session, item_id=a.id, state=ItemState.REJECTED, reason="off topic")
        assert get_item(session, item_id=a.id).state == "rejected"
        with pytest.raises(NotFound):
            get_item(session, item_id=999_999)


def test_audit_trail(database: Database) -> None:
    with database.session() as session:
        record_audit(
            session, actor="ann", action="item.approve", entity_type="item", entity_id=7, detail={"a": 1}
        )
        record_audit(session, actor="bob", action="item.publish", entity_type="item", entity_id=7)
        record_audit(session, actor="bob", action="user.add", entity_type="user", entity_id="carol")
    with database.session() as session:
        events = audit_trail(session, entity_type="item", entity_id=7)
        assert [e.action for e in events] == ["item.publish", "item.approve"]
        assert events[1].detail == {"a": 1}


def test_import_seeds_twice_adds_nothing(database: Database, seeds_dir: Path) -> None:
    config = load_config(None)
    first = import_paths(database, [seeds_dir], config=config)
    assert (first.created, first.failures) == (5, ())
    second = import_paths(database, [seeds_dir], config=config)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    with database.session() as session:
        record = get_item(session, item_id=15771)
        assert record.community == "news"
        assert dict(item_from_record(record).front_matter) == dict(
            read_document(next(seeds_dir.glob("002_*.txt"))).front_matter
        )


def test_import_dev_corpus(database: Database, curated_posts_dir: Path) -> None:
    config = load_config(None)
    report = import_paths(database, [curated_posts_dir], config=config)
    assert (report.created, len(report.failures)) == (260, 0)
    again = import_paths(database, [curated_posts_dir], config=config)
    assert (again.created, again.unchanged) == (0, 260)
    with database.session() as session:
        assert count_items(session) == 260
        labelled = list_items(session, query=ItemQuery(topic="iot", limit=500))
        assert labelled and all("iot" in [t.label_key for t in r.topics] for r in labelled)


def test_every_change_sets_last_mod(database: Database) -> None:
    item = parse_document(
        "---\ntitle: A\nlastMod: '2020-01-01T00:00:00.000000Z'\ncommunityTopics: []\n---\nbody\n"
    )
    with database.session() as session:
        save_item(session, item=item, md_name="lm", url_key="lm")
        record, outcome = save_item(session, item=item.updated({"title": "B"}), md_name="lm", url_key="lm")
        assert outcome == "updated"
        assert record.front_matter["lastMod"] > "2020-01-01T00:00:00.000000Z"
        stamp = record.front_matter["lastMod"]
        same, outcome = save_item(session, item=item_from_record(record), md_name="lm", url_key="lm")
        assert outcome == "unchanged" and same.front_matter["lastMod"] == stamp


def test_sqlite_runs_in_wal_mode(sqlite_database: Database) -> None:
    with sqlite_database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_database_is_migrated_to_the_newest_revision(database: Database) -> None:
    script = ScriptDirectory.from_config(alembic_config(database.engine))
    assert script.get_current_head() == schema_revision(database.engine)


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert migrations_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_scripts_revisions_are_read_as_written() -> None:
    typed = 'revision: str = "0002"\ndown_revision: str | None = "0001"\n'
    assert declared_revision(typed) == ("0002", ("0001",))
    assert declared_revision('revision = "m"\ndown_revision = ("a", "b")\n') == ("m", ("a", "b"))
    assert declared_revision('revision = "0001"\ndown_revision = None\n') == ("0001", ())
    assert declared_revision("def upgrade() -> None:\n    revision = 'x'\n") == (None, ())
    assert declared_revision("revision = make_revision()\n") == (None, ())


def test_a_current_database_is_opened_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    open_database(url).dispose()  # migrated here, with Alembic
    probe = (
        "import sys\n"
        "from medcurate.store.db import open_database\n"
        f"open_database({url!r}).dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'alembic', 'mako'}))\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[]"


def test_revision_follows_the_content_and_nothing_else(database: Database) -> None:
    item = parse_document(DOC)
    with database.session() as session:
        record, _ = save_item(session, item=item, md_name="rev", url_key="rev")
        first = record.revision
        assert first == item_from_record(record).revision and len(first or "") == 32
        assert record.featured_image is None
        set_state(session, item_id=record.id, state=ItemState.PUBLISHED)
        save_item(session, item=item_from_record(record), md_name="rev", url_key="rev", community="ccm")
        assert record.revision == first  # state and community are not content
        pictured = item.updated({"featuredImage": {"href": "x-featuredImage.png", "alt": "A"}})
        save_item(session, item=pictured, md_name="rev", url_key="rev", touch=False)
        assert record.revision != first and record.featured_image == "x-featuredImage.png"
        second = record.revision
        save_item(session, item=pictured, md_name="rev", url_key="rev", touch=False)
        assert record.revision == second
        save_item(session, item=pictured.updated({}, body="Another body."), md_name="rev", url_key="rev")
        assert record.revision not in {first, second}


def test_migration_0003_fills_revisions_of_stored_rows(database: Database) -> None:
    item = parse_document(DOC)
    with database.session() as session:
        for n in range(3):
            image = {"href": f"img-{n}.png"} if n else "not a mapping"
            changed = item.updated({"title": f"Item {n}", "featuredImage": image})
            save_item(session, item=changed, md_name=f"m-{n}", url_key=f"u-{n}")
    config = alembic_config(database.engine)
    command.downgrade(config, "0002")
    assert "revision" not in {c["name"] for c in inspect(database.engine).get_columns("items")}
    command.upgrade(config, "head")
    with database.session() as session:
        records = list_items(session, query=ItemQuery(limit=10))
        assert len({r.revision for r in records}) == 3 and all(len(r.revision or "") == 32 for r in records)
        assert sorted(r.featured_image or "" for r in records) == ["", "img-1.png", "img-2.png"]
        # The full-text index of 0002 still follows edits: no table copy dropped its triggers.
        record = find_item(session, md_name="m-1")
        assert record is not None
        save_item(
            session,
            item=item_from_record(record).updated({"title": "Zeppelin"}),
            md_name="m-1",
            url_key="u-1",
        )
        assert [r.md_name for r in list_items(session, query=ItemQuery(text="zeppelin"))] == ["m-1"]
