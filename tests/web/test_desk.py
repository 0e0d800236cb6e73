"""The editor's desk without a browser: one field saved changes one field, undo, readable history.

The draft is what ingestion makes of the tests' sample article (real extraction, the news section's
seed shape), stored in a tmp SQLite site; the review form is read from the page the app serves and
sent back as a browser without JavaScript sends it: every field, the edited one changed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from factories import news_item
from medcurate.drafts import DraftInput, build_draft
from medcurate.extract import extract
from medcurate.extract.types import PageInput
from medcurate.history import describe, readable
from medcurate.models import ItemState
from medcurate.store.models import DecisionRecord, SuggestionRecord
from medcurate.store.repository import get_item
from medcurate.store.suggestions import NewSuggestion, replace_pending_suggestions
from medcurate.users import Role
from websupport import FIXTURES, Site, add, make_site, sign_in, store

ARTICLE_URL = "https://healthsec.example/news/hospitals-tighten-ransomware-defences"
TOPIC = "Healthcare IT News: Cybersecurity"


class ReviewForm(HTMLParser):
    """The fields of the review form (``form="review"``) as a browser would submit them, without JS."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if values.get("form") != "review" and tag != "option":
            return
        name = values.get("name", "")
        if tag == "input" and name and "disabled" not in values:
            if values.get("type") not in ("checkbox", "radio") or "checked" in values:
                self.fields.append((name, values.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in values:
            self.fields.append((self._select, values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea:
            # A textarea's first newline belongs to the markup, not to its value (HTML's parsing rule).
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def review_form(client: TestClient, item_id: int) -> list[tuple[str, str]]:
    parser = ReviewForm()
    parser.feed(client.get(f"/items/{item_id}").text)
    return parser.fields


def as_data(fields: list[tuple[str, str]], csrf: str) -> dict[str, list[str]]:
    """Form fields as the test client sends them (a repeated name keeps every value)."""
    data: dict[str, list[str]] = {"csrf_token": [csrf]}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def ingested_draft(site: Site) -> int:
    """The sample article as ingestion drafts it, stored."""
    html = (FIXTURES / "article.html").read_text(encoding="utf-8")
    extraction = extract(PageInput(html=html, url=ARTICLE_URL))
    community = site.settings.load_site_config().community("news")
    draft = build_draft(
        DraftInput(
            extraction=extraction,
            url=ARTICLE_URL,
            canonical_url=ARTICLE_URL,
            community=community,
            item_id=1,
            now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        )
    )
    return store(site.database, draft, community="news", text=extraction.text)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path / "home")
    add(site.database, "ed", Role.EDITOR)
    add(site.database, "cal", Role.CURATOR)
    yield site
    site.database.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as client:
        yield client


def _stored(site: Site, item_id: int) -> dict[str, Any]:
    with site.database.session() as session:
        record = get_item(session, item_id=item_id)
        return {**record.front_matter, "body": record.body}


def _edited(name: str, value: str) -> str:
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return str(int(float(value)) + 1)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return "2025-01-02"
    if value.lstrip().startswith(("{", "[", "-")) or (":" in value.split("\n", 1)[0] and "\n" in value):
        return value  # YAML fields: covered by the form's own tests
    return value + "\nedited" if "\n" in value else value + " edited"


def test_saving_any_one_field_changes_only_that_field(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "ed")
    fields = review_form(client, item_id)
    names = [n for n, _ in fields if n.startswith("fm.") or n == "body"]
    assert {"fm.title", "body", "fm.description", "fm.author", "fm.date", "fm.breadcrumbLinks"} <= set(names)
    tried = 0
    for name in names:
        fields = review_form(client, item_id)
        value = dict(fields)[name]
        edited = _edited(name, value)
        if edited == value:
            continue
        sent = [(n, edited if n == name else v) for n, v in fields]
        before = _stored(site, item_id)
        response = client.post(f"/items/{item_id}", data=as_data(sent, csrf), follow_redirects=False)
        assert response.status_code == 303, (name, response.text[:300])
        after = _stored(site, item_id)
        changed = {k for k in {*before, *after} if before.get(k) != after.get(k)} - {"lastMod"}
        top = name.removeprefix("fm.").split(".")[0]
        assert changed == {top}, f"saving {name} changed {sorted(changed)}"
        tried += 1
    assert tried >= 20, "every kind of field is tried"


def test_the_whole_form_sent_back_unedited_changes_nothing(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "ed")
    before = _stored(site, item_id)
    fields = review_form(client, item_id)
    client.post(f"/items/{item_id}", data=as_data(fields, csrf), follow_redirects=False)
    assert _stored(site, item_id) == before


def test_the_review_screen_reads_like_the_article(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    sign_in(client, "ed")
    page = client.get(f"/items/{item_id}").text
    assert '<article class="reader"' in page
    assert "Read the original at" in page
    assert page.index('id="title"') < page.index('id="brief"') < page.index('id="community"')
    assert page.index('id="community"') < page.index('id="topics"') < page.index('id="advanced"')
    assert page.index('name="fm.htmlMetaData.viewport"') > page.index('id="advanced"')
    assert '<option value="news" selected>News</option>' in page  # names, not keys


def test_derived_fields_follow_a_new_title(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "ed")
    page = client.get(f"/items/{item_id}").text
    assert 'data-follows="title"' in page and 'data-follows="brief"' in page
    values = client.post(
        f"/items/{item_id}/derived",
        data={"title": "Ransomware: what hospitals changed", "brief": "<p>Short brief.</p>"},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert values["fields"]["fm.aliases"] == "/news/ransomware-what-hospitals-changed"
    assert values["fields"]["fm.slug"].endswith("-ransomware-what-hospitals-changed")
    assert values["fields"]["fm.breadcrumbs"].endswith("\nRansomware: what hospitals changed")
    assert values["description"] == "Short brief." and values["length"] == len("Short brief.")


def _history(client: TestClient, item_id: int) -> list[dict[str, Any]]:
    return list(client.get(f"/api/items/{item_id}/audit").json()["data"])


def test_a_title_edit_is_undone_from_the_history_and_redone(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "cal")
    title = _stored(site, item_id)["title"]
    client.post(f"/items/{item_id}", data={"csrf_token": csrf, "fm.title": "A better title"})
    page = client.get(f"/items/{item_id}").text
    assert f"Title: {title} → A better title" in page
    assert "{&#39;" not in page and "{'" not in page  # never a raw dictionary
    edit = next(e for e in _history(client, item_id) if e["action"] == "item.edit")
    response = client.post(
        f"/items/{item_id}/undo", data={"csrf_token": csrf, "event": edit["id"]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert _stored(site, item_id)["title"] == title
    undo = _history(client, item_id)[0]
    assert undo["action"] == "item.undo" and undo["detail"]["undoes"] == edit["id"]
    assert f"Title: A better title → {title}" in undo["summary"]
    again = client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf, "event": edit["id"]})
    assert again.status_code == 422  # already undone
    client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf, "event": undo["id"]})
    assert _stored(site, item_id)["title"] == "A better title"  # the undo undone: redo


def test_undo_refuses_a_field_changed_again_since(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "cal")
    client.post(f"/items/{item_id}", data={"csrf_token": csrf, "fm.title": "First"})
    first = _history(client, item_id)[0]["id"]
    client.post(f"/items/{item_id}", data={"csrf_token": csrf, "fm.title": "Second"})
    response = client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf, "event": first})
    assert response.status_code == 422
    assert "changed again" in response.text
    client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf})  # `u`: the newest first
    assert _stored(site, item_id)["title"] == "First"


def test_a_topic_accepted_is_undone_and_withdrawn_from_learning(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    with site.database.session() as session:
        suggestion = NewSuggestion(
            kind="topic",
            label=TOPIC,
            label_key=TOPIC.lower(),
            score=0.8,
            rank=1,
            reason="r",
            model_version="t",
        )
        replace_pending_suggestions(session, item_id=item_id, suggestions=[suggestion])
    csrf = sign_in(client, "cal")
    client.post(
        f"/items/{item_id}/decisions",
        data={"csrf_token": csrf, "kind": "topic", "label": TOPIC, "action": "accept"},
    )
    assert TOPIC in _stored(site, item_id)["categories"]
    accepted = _history(client, item_id)[0]
    assert f"Topic {TOPIC} accepted" in accepted["summary"]
    client.post(
        f"/api/items/{item_id}/undo", json={"event_id": accepted["id"]}, headers={"X-CSRF-Token": csrf}
    )
    assert TOPIC not in _stored(site, item_id)["categories"]
    with site.database.session() as session:
        status = session.scalar(select(SuggestionRecord.status).where(SuggestionRecord.item_id == item_id))
        actions = list(session.scalars(select(DecisionRecord.action).order_by(DecisionRecord.id)))
    assert status == "pending"
    assert actions == ["accept", "withdraw"]


def test_publish_is_undone_by_an_editor_and_the_site_rebuilt(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "ed")
    client.post(f"/items/{item_id}/state/publish", data={"csrf_token": csrf})
    with site.database.session() as session:
        assert get_item(session, item_id=item_id).state == ItemState.PUBLISHED.value
    title = _stored(site, item_id)["title"]
    assert any(title in p.read_text(encoding="utf-8") for p in site.home.joinpath("site").rglob("*.html"))
    client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf})
    with site.database.session() as session:
        assert get_item(session, item_id=item_id).state == ItemState.DRAFT.value
    log = client.get("/audit").text
    assert "State: published → draft" in log
    builds = client.get("/api/audit?entity_type=site").json()["data"]
    assert len(builds) == 2 and "undo" in builds[0]["detail"]  # publishing built it, the undo again
    assert not any(title in p.read_text(encoding="utf-8") for p in site.home.joinpath("site").rglob("*.html"))


def test_a_curator_cannot_undo_a_state_change(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "ed")
    client.post(f"/items/{item_id}/state/approve", data={"csrf_token": csrf})
    approve = _history(client, item_id)[0]["id"]
    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, "cal")
    response = client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf, "event": approve})
    assert response.status_code == 403
    with site.database.session() as session:
        assert get_item(session, item_id=item_id).state == ItemState.APPROVED.value
    assert _history(client, item_id)[0]["id"] == approve, "the refused undo recorded nothing"


def _png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 100), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_change_is_undone_with_its_file(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    csrf = sign_in(client, "cal")
    for colour in ("teal", "orange"):
        client.post(
            f"/items/{item_id}/image",
            data={"csrf_token": csrf, "alt": colour},
            files={"image": ("i.png", _png(colour), "image/png")},
        )
    assert client.get(f"/items/{item_id}/image").content == _png("orange")
    client.post(f"/items/{item_id}/undo", data={"csrf_token": csrf})
    assert client.get(f"/items/{item_id}/image").content == _png("teal")
    assert _stored(site, item_id)["featuredImage"]["alt"] == "teal"


def test_history_lines_are_for_people() -> None:
    lines = describe(
        "item.edit",
        {
            "changes": [
                {"field": "title", "before": "A", "after": "B"},
                {
                    "field": "relatedOfferings",
                    "before": [],
                    "after": [{"label": "Care Plans", "permalink": "/x"}],
                },
                {"field": "lastMod", "before": "1", "after": "2"},
            ]
        },
    )
    assert lines == ["Title: A → B", "Related offerings: (empty) → Care Plans"]
    assert describe("item.edit", {"title": {"from": "A", "to": "B"}}) == ["Title: A → B"]  # 0.1.0's shape
    assert describe("item.publish", {"from": "draft", "to": "published"}) == ["State: draft → published"]
    assert readable({"$date": "2024-03-04"}) == "2024-03-04"
    assert readable({"width": 3, "valid": True}) == "width: 3; valid: yes"


def test_a_cli_site_build_is_in_the_audit_log(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medcurate.cli import app
    from medcurate.store.queries import audit_page

    home = tmp_path / "home"
    runner = CliRunner(env={"MEDCURATE_HOME": str(home), "MEDCURATE_DATABASE_URL": ""})
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["site", "build", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    site = make_site(home)
    try:
        with site.database.session() as session:
            events, _ = audit_page(session, entity_type="site", limit=10)
        assert [e.action for e in events] == ["site.build"]
        assert describe(events[0].action, events[0].detail)[-1] == "By: medcurate site build"
    finally:
        site.database.dispose()


def test_one_of_the_pages_images_is_chosen_and_cropped(tmp_path: Path) -> None:
    from httpserver import LocalServer, Reply

    site = make_site(tmp_path / "home", allowed_hosts=("127.0.0.1",))
    add(site.database, "cal", Role.CURATOR)
    server = LocalServer().start()
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 400), "navy").save(buffer, format="PNG")
    server.route("/img/wide.png", Reply(body=buffer.getvalue(), content_type="image/png"))
    try:
        item_id = ingested_draft(site)
        with site.database.session() as session:
            get_item(session, item_id=item_id).provenance = {
                "image_candidates": [server.url("/img/wide.png")]
            }
        with TestClient(site.app) as client:
            csrf = sign_in(client, "cal")
            assert "wide.png" in client.get(f"/items/{item_id}").text
            refused = client.post(
                f"/items/{item_id}/image/candidate",
                data={"csrf_token": csrf, "url": server.url("/elsewhere.png"), "crop": "true"},
            )
            assert refused.status_code == 422
            client.post(
                f"/items/{item_id}/image/candidate",
                data={
                    "csrf_token": csrf,
                    "url": server.url("/img/wide.png"),
                    "crop": "true",
                    "alt": "A ward",
                },
            )
            image = _stored(site, item_id)["featuredImage"]
            assert image["alt"] == "A ward" and image["size"] == [762, 400]  # 1200:630 around the centre
            with Image.open(io.BytesIO(client.get(f"/items/{item_id}/image").content)) as stored:
                assert stored.size == (762, 400)
    finally:
        server.stop()
        site.database.dispose()


def test_bulk_accept_of_top_suggestions_and_undo_of_the_last(client: TestClient, site: Site) -> None:
    item_id = ingested_draft(site)
    with site.database.session() as session:
        rows = [
            NewSuggestion(
                kind="topic",
                label=label,
                label_key=label.lower(),
                score=s,
                rank=r,
                reason="",
                model_version="t",
            )
            for r, (label, s) in enumerate([(TOPIC, 0.9), ("KLAS: Security", 0.5)], start=1)
        ]
        replace_pending_suggestions(session, item_id=item_id, suggestions=rows)
    csrf = sign_in(client, "cal")
    inbox = client.get("/items").text
    assert f'data-top="{TOPIC}"' in inbox and "Accept top suggestions" in inbox
    response = client.post(
        "/items/bulk/accept-top",
        data={"csrf_token": csrf, "ids": [str(item_id)], "back": "/items"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "accepted+on+1+item" in response.headers["location"]
    assert _stored(site, item_id)["categories"] == [TOPIC]
    response = client.post("/undo", data={"csrf_token": csrf, "back": "/items"}, follow_redirects=False)
    assert response.headers["location"].startswith("/items?notice=Undone")
    assert _stored(site, item_id)["categories"] == []
    nothing = client.post("/undo", data={"csrf_token": csrf, "back": "/items"})
    assert nothing.status_code == 422 and "nothing of yours to undo" in nothing.text


def test_the_brief_shows_as_sanitised_markup_beside_its_source(client: TestClient, site: Site) -> None:
    brief = '<p>Hospitals <em>changed</em> course.</p><script>alert("x")</script><p onclick="go()">Then</p>'
    item_id = store(site.database, news_item(1, body=brief), text="")
    sign_in(client, "ed")
    page = client.get(f"/items/{item_id}").text
    shown = page[page.index('id="brief-shown"') :]
    shown = shown[: shown.index("</div>")]
    # The paragraph is markup, not text; the script and the handler are gone, not escaped.
    assert "<p>Hospitals <em>changed</em> course.</p>" in shown and "<p>Then</p>" in shown
    assert "&lt;p&gt;" not in shown and "alert" not in shown and "onclick" not in shown
    # No script reaches the page as markup anywhere: the textarea holds the source, escaped.
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert dict(review_form(client, item_id))["body"] == brief
