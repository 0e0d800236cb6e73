"""The database-facing functions: stored suggestions, decisions, training, learning from editors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import paths
from medcurate.config import load_config
from medcurate.importer import import_paths
from medcurate.models import Decision, DecisionAction
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.store.models import AuditRecord, DecisionRecord, ModelVersionRecord, SuggestionRecord
from medcurate.store.repository import all_items, get_item, item_from_record
from medcurate.suggest import Suggestion
from medcurate.suggest.embedding import load_sentence_transformer
from medcurate.suggest.service import load_suggester, record_decision, suggest_for_item, train

FIXTURES = paths.FIXTURES / "suggest"


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[tuple[Database, Settings]]:
    """A real SQLite database and settings whose models directory is in tmp_path."""
    settings = Settings(home=tmp_path / "home")
    database = open_database(f"sqlite:///{tmp_path / 'medcurate.db'}")
    yield database, settings
    database.dispose()


def _import(database: Database, *paths: Path) -> dict[str, int]:
    import_paths(database, list(paths), config=load_config(None))
    with database.session() as session:
        return {Path(r.source_path or "").stem: r.id for r in all_items(session)}


def _topic_rank(suggestions: list[Suggestion], label: str) -> int:
    labels = [s.label for s in suggestions if s.kind == "topic"]
    return labels.index(label) if label in labels else len(labels)


def test_cold_start_on_an_empty_site_suggests_cybersecurity_and_stores_it(
    site: tuple[Database, Settings],
) -> None:
    database, settings = site
    ids = _import(database, FIXTURES / "new" / "hospital-ransomware.md")
    suggestions = suggest_for_item(database, item_id=ids["hospital-ransomware"], settings=settings, k=5)
    topics = [s for s in suggestions if s.kind == "topic"]
    assert any("Cybersecurity" in s.label for s in topics[:3]), [s.label for s in topics]
    assert [s.rank for s in topics] == list(range(1, len(topics) + 1))
    assert any(s.kind == "offering" and s.entry["permalink"].startswith("/offering/") for s in suggestions)
    with database.session() as session:
        rows = list(
            session.scalars(select(SuggestionRecord).order_by(SuggestionRecord.kind, SuggestionRecord.rank))
        )
        versions = list(session.scalars(select(ModelVersionRecord)))
    assert len(rows) == len(suggestions)
    assert all(0.0 <= row.score <= 1.0 and row.reason and row.status == "pending" for row in rows)
    assert {row.model_version for row in rows} == {versions[0].version}
    assert Path(versions[0].path).is_relative_to(settings.models_dir)


def test_a_decision_is_stored_applied_and_audited(site: tuple[Database, Settings]) -> None:
    database, settings = site
    ids = _import(database, FIXTURES / "new" / "hospital-ransomware.md")
    item_id = ids["hospital-ransomware"]
    suggestions = suggest_for_item(database, item_id=item_id, settings=settings)
    first = next(s for s in suggestions if s.kind == "topic")
    record_decision(database, item_id=item_id, kind="topic", label=first.label, action="accept", actor="ana")
    record_decision(
        database, item_id=item_id, kind="topic", label="Mine: Extra", action=DecisionAction.ADD, actor="ana"
    )
    with database.session() as session:
        decisions = [
            Decision.model_validate(
                {"item_id": d.item_id, "kind": d.kind, "label": d.label, "action": d.action, "actor": d.actor}
            )
            for d in session.scalars(select(DecisionRecord).order_by(DecisionRecord.id))
        ]
        item = item_from_record(get_item(session, item_id=item_id))
        status = session.scalar(select(SuggestionRecord.status).where(SuggestionRecord.label == first.label))
        audit = [
            a.action
            for a in session.scalars(select(AuditRecord).where(AuditRecord.entity_id == str(item_id)))
        ]
    assert [(d.action, d.label) for d in decisions] == [
        (DecisionAction.ACCEPT, first.label),
        (DecisionAction.ADD, "Mine: Extra"),
    ]
    assert item.topics == [first.label, "Mine: Extra"]
    assert item.front_matter["categories"] == [first.label, "Mine: Extra"]  # the bookmark variant's key
    assert status == "accepted"
    assert audit.count("suggestion.accept") == 1 and audit.count("suggestion.add") == 1
    # A reject removes the topic, and the next suggestions do not offer it again.
    record_decision(database, item_id=item_id, kind="topic", label=first.label, action="reject", actor="bo")
    with database.session() as session:
        assert item_from_record(get_item(session, item_id=item_id)).topics == ["Mine: Extra"]
    again = suggest_for_item(database, item_id=item_id, settings=settings)
    assert first.label not in [s.label for s in again if s.kind == "topic"]


def test_accepting_a_topic_ranks_it_higher_for_a_similar_new_item(site: tuple[Database, Settings]) -> None:
    database, settings = site
    ids = _import(database, FIXTURES / "history", FIXTURES / "new" / "rural-internet-telemedicine.md")
    new_item = ids["rural-internet-telemedicine"]
    before = suggest_for_item(database, item_id=new_item, settings=settings, k=50)
    record_decision(
        database,
        item_id=ids["rural-broadband"],
        kind="topic",
        label="Editors' Picks",
        action="accept",
        actor="ana",
    )
    after = suggest_for_item(database, item_id=new_item, settings=settings, k=50)
    assert _topic_rank(after, "Editors' Picks") < _topic_rank(before, "Editors' Picks")
    score = {s.label: s.score for s in after if s.kind == "topic"}["Editors' Picks"]
    assert score > {s.label: s.score for s in before if s.kind == "topic"}["Editors' Picks"]
    # Retraining keeps what was learned, and embeds nothing that is already cached.
    info = train(database, settings=settings)
    assert info.metrics["texts_embedded"] == 0
    retrained = suggest_for_item(database, item_id=new_item, settings=settings, k=50)
    assert _topic_rank(retrained, "Editors' Picks") < _topic_rank(before, "Editors' Picks")
    assert {s.model_version for s in retrained} == {info.version}


def test_the_built_in_suggester_loads_the_model_once_per_process(
    site: tuple[Database, Settings],
) -> None:
    database, settings = site
    ids = _import(database, FIXTURES / "history", FIXTURES / "new" / "hospital-ransomware.md")
    suggester = load_suggester(database, settings=settings)
    with database.session() as session:
        item = item_from_record(get_item(session, item_id=ids["hospital-ransomware"]))
    suggester.suggest(item)
    loads = load_sentence_transformer.cache_info().misses
    suggestions = suggester.suggest(item.updated({"title": "Ransomware strikes again at two hospitals"}))
    assert suggestions[0].label == "Cybersecurity"
    assert load_sentence_transformer.cache_info().misses == loads == 1  # one model per process
    # Warm latency (about 20 ms on an idle 2-core CPU) is a figure of bench/suggest.py, not a timed test.


def test_unknown_kind_or_action_is_refused(site: tuple[Database, Settings]) -> None:
    from medcurate.errors import SuggestError

    database, _ = site
    ids = _import(database, FIXTURES / "new" / "hospital-ransomware.md")
    with pytest.raises(SuggestError, match="unknown kind"):
        record_decision(
            database, item_id=ids["hospital-ransomware"], kind="tag", label="x", action="accept", actor="a"
        )
    with pytest.raises(SuggestError, match="not a valid decision"):
        record_decision(
            database, item_id=ids["hospital-ransomware"], kind="topic", label="x", action="maybe", actor="a"
        )
