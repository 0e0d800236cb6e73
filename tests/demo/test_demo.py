"""``make demo`` runs: the demo's whole story, without the final blocking servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcurate.demo import main
from medcurate.models import ItemState
from medcurate.store.db import open_database
from medcurate.store.queries import audit_page
from medcurate.store.repository import ItemQuery, count_items


@pytest.mark.slow
def test_demo_ingests_publishes_and_builds_offline(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    main(["--no-serve", "--home", str(home)])
    database = open_database(f"sqlite:///{home / 'medcurate.db'}")
    try:
        with database.session() as session:
            events, _ = audit_page(session, limit=500)
            drafts = count_items(session, query=ItemQuery(state=ItemState.DRAFT.value))
            duplicates = count_items(session, query=ItemQuery(state=ItemState.DUPLICATE.value))
            published = count_items(
                session, query=ItemQuery(state=ItemState.PUBLISHED.value, text="hospital")
            )
    finally:
        database.dispose()
    assert drafts >= 3, "half the sample articles stay in the inbox"
    assert duplicates == 1, "the syndicated copy is flagged"
    assert published >= 1
    publishes = [e for e in events if e.action == "item.publish"]
    assert publishes and all(e.actor == "editor" for e in publishes), "the demo's publishes are audited"
    assert any(e.action == "site.build" for e in events)
    assert (home / "site" / "index.html").exists()
    assert (home / "hugo" / "hugo.toml").exists()
    assert any((home / "export").rglob("*.md"))
