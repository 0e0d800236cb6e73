"""Stories in the store, on SQLite and PostgreSQL: placement, rebuild, split, merge, primary, publish."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from httpserver import LocalServer, Reply, local_fetch_options
from medcurate.cli import app
from medcurate.frontmatter import parse_document, render_document
from medcurate.models import ItemState
from medcurate.pipeline import default_options, ingest_urls
from medcurate.settings import Settings
from medcurate.store import stories as store
from medcurate.store.db import Database
from medcurate.store.repository import audit_trail, get_item, item_from_record, save_item
from medcurate.stories import service
from medcurate.users import Role, User
from medcurate.web.services import transition
from storysupport import (
    BREACH_ONE,
    BREACH_TWO,
    COPY_BLOG,
    COPY_LAW_FIRM,
    SCRIBES_BUSINESS,
    SCRIBES_JOURNAL,
    SCRIBES_TRADE,
    WATCH,
)

EDITOR = User(
    id=1, username="eve", role=Role.EDITOR, disabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
SCRIBES = [
    (SCRIBES_JOURNAL, "healthmanagement.org"),
    (SCRIBES_TRADE, "fiercehealthcare.com"),
    (SCRIBES_BUSINESS, "businessinsider.com"),
]


def _item(
    database: Database, n: int, article: tuple[str, str], brand: str, *, day: str = "2026-03-02"
) -> int:
    title, text = article
    document = (
        f"---\ntitle: {json.dumps(title)}\ndate: {day}T09:00:00Z\n"
        f"link: https://{brand}/a/{n}\nlinkBrand: {brand}\n---\n{text}\n"
    )
    with database.session() as session:
        record, _ = save_item(
            session, item=parse_document(document), md_name=f"story-{n}", url_key=f"{brand}/a/{n}", text=text
        )
        return record.id


def _placed(database: Database, articles: list[tuple[tuple[str, str], str]]) -> list[int]:
    ids = [_item(database, n, article, brand) for n, (article, brand) in enumerate(articles, start=1)]
    for item_id in ids:
        service.place_item(database, item_id=item_id)
    return ids


def _stories(database: Database) -> list[list[int]]:
    return [[i.id for i in view.items] for view in service.all_stories(database)]


def test_each_stored_item_joins_its_story_and_a_rebuild_agrees(database: Database) -> None:
    ids = _placed(
        database, [*SCRIBES, (BREACH_ONE, "healthcareinfosecurity.com"), (WATCH, "mobihealthnews.com")]
    )
    assert _stories(database) == [ids[:3]]
    view = service.all_stories(database)[0]
    assert view.outlets == 3 and all(i.reason for i in view.items)
    report = service.rebuild(database)
    assert (report.items, report.featurised, report.stories) == (5, 0, 1)
    assert _stories(database) == [ids[:3]]


def test_different_stories_sharing_words_stay_apart(database: Database) -> None:
    _placed(database, [(BREACH_ONE, "healthcareinfosecurity.com"), (BREACH_TWO, "beckershospitalreview.com")])
    assert _stories(database) == []


def test_a_split_is_audited_kept_through_rebuilds_and_learned(database: Database) -> None:
    ids = _placed(database, SCRIBES)
    story_id = service.all_stories(database)[0].id
    assert service.split(database, story_id=story_id, item_ids=[ids[2]], actor="eve") is None
    assert _stories(database) == [ids[:2]]
    with database.session() as session:
        decisions = store.decisions(session)
        events = audit_trail(session, entity_type="story", entity_id=str(story_id))
    assert {(d.action, d.item_a, d.item_b) for d in decisions} == {
        ("split", ids[0], ids[2]),
        ("split", ids[1], ids[2]),
    }
    assert all(0 < d.score < 1 for d in decisions)
    assert [e.action for e in events] == ["story.split"]
    service.rebuild(database)
    assert _stories(database) == [ids[:2]]
    # The scores the editor refused are now below the threshold.
    assert service.current_lessons(database).model.threshold > max(d.score for d in decisions)


def test_a_merge_is_audited_and_kept_through_rebuilds(database: Database) -> None:
    ids = _placed(
        database, [(BREACH_ONE, "healthcareinfosecurity.com"), (BREACH_TWO, "beckershospitalreview.com")]
    )
    story_id = service.merge_items(database, item_id=ids[0], other_item_id=ids[1], actor="eve")
    assert _stories(database) == [ids]
    with database.session() as session:
        assert [d.action for d in store.decisions(session)] == ["merge"]
        assert [e.action for e in audit_trail(session, entity_type="story", entity_id=str(story_id))] == [
            "story.merge"
        ]
    service.rebuild(database)
    assert _stories(database) == [ids]


def test_the_published_primary_lists_the_others_as_also_covered_by(database: Database) -> None:
    ids = _placed(database, SCRIBES)
    view = service.all_stories(database)[0]
    service.choose_primary(database, story_id=view.id, item_id=ids[1], actor="eve")
    with database.session() as session:
        transition(session, item_id=ids[1], action="publish", user=EDITOR)
    with database.session() as session:
        published = item_from_record(get_item(session, item_id=ids[1]))
        untouched = get_item(session, item_id=ids[0])
    assert published.front_matter["alsoCoveredBy"] == [
        {
            "title": SCRIBES_JOURNAL[0],
            "url": f"https://healthmanagement.org/a/{1}",
            "brand": "healthmanagement.org",
        },
        {
            "title": SCRIBES_BUSINESS[0],
            "url": "https://businessinsider.com/a/3",
            "brand": "businessinsider.com",
        },
    ]
    assert "alsoCoveredBy:" in render_document(published)  # the seed codec carries it
    assert "alsoCoveredBy" not in untouched.front_matter and untouched.state == ItemState.DRAFT.value


def test_publishing_an_item_of_no_story_changes_nothing_else(database: Database) -> None:
    (item_id,) = _placed(database, [(WATCH, "mobihealthnews.com")])
    with database.session() as session:
        transition(session, item_id=item_id, action="publish", user=EDITOR)
    with database.session() as session:
        assert "alsoCoveredBy" not in get_item(session, item_id=item_id).front_matter


def _page(title: str, text: str) -> Reply:
    paragraphs = "".join(f"<p>{sentence}.</p>" for sentence in text.split(". "))
    html = (
        f"<html><head><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )
    return Reply(body=html.encode("utf-8"))


def test_ingestion_places_new_items_in_stories(sqlite_database: Database, tmp_path: Path) -> None:
    # Two outlets: the same local server under two host names (syndication is across outlets).
    settings = Settings(home=tmp_path / "home", allowed_hosts=("127.0.0.1", "localhost"))
    with LocalServer() as server:
        server.route("/law/oig", _page(*COPY_LAW_FIRM))
        server.route("/blog/oig", _page(*COPY_BLOG))
        server.route("/mhn/watch", _page(*WATCH))
        options = replace(
            default_options(settings, suggest=False, download_images=False),
            fetch=local_fetch_options(cache_dir=settings.cache_dir),
        )
        urls = [server.url("/law/oig"), server.url("/blog/oig").replace("127.0.0.1", "localhost")]
        urls.append(server.url("/mhn/watch"))
        report = ingest_urls(sqlite_database, urls, settings=settings, actor="ann", options=options)
    by_url = {o.url: o for o in report.outcomes}  # links run concurrently: outcomes in any order
    copies = sorted(by_url[url].item_id or 0 for url in urls[:2])
    assert sorted(o.status for o in report.outcomes) == ["created", "created", "duplicate"]
    assert _stories(sqlite_database) == [copies]


@pytest.fixture()
def run(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": ""})


def test_cli_rebuild_list_and_evaluate(run: CliRunner, tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    urls = []
    for n, (article, brand) in enumerate([*SCRIBES, (WATCH, "mobihealthnews.com")], start=1):
        title, text = article
        url = f"https://{brand}/a/{n}"
        urls.append(url)
        (posts / f"post-{n}.md").write_text(
            f"---\narchetype: bookmark\ntitle: {json.dumps(title)}\ndate: 2026-03-0{n}T09:00:00Z\n"
            f"link: {url}\nlinkBrand: {brand}\nslug: post-{n}\n---\n{text}\n",
            encoding="utf-8",
        )
    assert run.invoke(app, ["init"]).exit_code == 0
    assert run.invoke(app, ["import", str(posts)]).exit_code == 0
    rebuilt = run.invoke(app, ["stories", "rebuild", "--json"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.output)["stories"] == 1
    listed = json.loads(run.invoke(app, ["stories", "list", "--json"]).output)
    assert [[i["url"] for i in s["items"]] for s in listed] == [urls[:3]]
    assert set(listed[0]) == {"id", "items"} and set(listed[0]["items"][0]) == {"id", "url", "title"}
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([urls[:3]]), encoding="utf-8")
    scored = json.loads(run.invoke(app, ["stories", "evaluate", "--labels", str(labels), "--json"]).output)
    assert (scored["precision"], scored["recall"], scored["f1"]) == (1.0, 1.0, 1.0)
