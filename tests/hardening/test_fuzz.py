"""Fuzzing (Hypothesis) of what hostile files, feeds, URLs and API bodies reach.

Properties, each over generated input:

* the front-matter reader raises nothing but ``FrontMatterError``; every document it accepts
  comes back the same after ``render_document`` (front matter and body, byte for byte);
* the feed, OPML and bookmark readers raise nothing but ``SourceError``;
* URL normalisation raises nothing but medcurate's errors, and is idempotent;
* the API's JSON bodies are answered 200, 403 or 422, never 5xx, and ``ItemUpdate`` refuses with
  ``ValidationError`` only.

``make test`` runs the ``ci`` profile: derandomised (the same examples every run), about a minute
on a loaded machine. ``make fuzz`` runs the ``fuzz`` profile (``MEDCURATE_FUZZ=fuzz``): random,
many more examples. Each example is bounded by a deadline, so a hang fails instead of waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from medcurate.errors import FrontMatterError, MedcurateError, SourceError
from medcurate.frontmatter import parse_document, render_document
from medcurate.ingest.resolve import canonical_key
from medcurate.ingest.sources import parse_bookmarks, parse_feed, parse_opml
from medcurate.models import CuratedItem, Variant
from medcurate.pipeline import clean_url
from medcurate.users import Role
from medcurate.validation import is_http_url
from medcurate.web.schemas import ItemUpdate
from websupport import Site, add, make_site, news_item, store, token_for

PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 100, "derandomize": True},
    "fuzz": {"max_examples": 3_000, "derandomize": False},
}
PROFILE = PROFILES[os.environ.get("MEDCURATE_FUZZ", "ci")]
FUZZ = settings(
    max_examples=PROFILE["max_examples"],
    derandomize=PROFILE["derandomize"],
    deadline=timedelta(seconds=5),  # one example; a hang fails here instead of blocking the suite
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
API_FUZZ = settings(FUZZ, max_examples=max(20, PROFILE["max_examples"] // 10))

# Text without lone surrogates (no UTF-8 file holds one; the readers refuse them separately).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
KEYS = st.one_of(
    st.sampled_from(["title", "link", "href", "mdName", "slug", "aliases", "basePath", "tags", "date", "x"]),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=20,
)
FRONT_MATTER = st.dictionaries(KEYS, VALUES, max_size=8)


@FUZZ
@given(front_matter=FRONT_MATTER, body=TEXT, variant=st.sampled_from(list(Variant)))
def test_codec_round_trip_holds_for_every_accepted_document(
    front_matter: dict[str, Any], body: str, variant: Variant
) -> None:
    text = render_document(CuratedItem(front_matter=front_matter, body=body, variant=variant))
    try:
        parsed = parse_document(text, path="fuzz.md")
    except FrontMatterError:
        return
    assert dict(parsed.front_matter) == front_matter
    assert parsed.body == body
    assert render_document(parsed) == render_document(
        CuratedItem(front_matter=front_matter, body=body, variant=parsed.variant)
    )


YAMLISH = st.lists(
    st.one_of(
        TEXT,
        st.sampled_from(
            [
                "---",
                "\n",
                ": ",
                "- ",
                "&a ",
                "*a",
                "[",
                "]",
                "{",
                "}",
                "!!python/object:os.system",
                "? ",
                "|",
                ">",
            ]
        ),
    ),
    max_size=30,
).map("".join)


@FUZZ
@given(text=st.one_of(YAMLISH.map(lambda y: f"---\n{y}\n---\nbody\n"), st.text(max_size=200)))
def test_the_front_matter_reader_raises_only_its_own_error(text: str) -> None:
    with contextlib.suppress(FrontMatterError):
        parse_document(text, path="fuzz.md")


FEED_PARTS = st.sampled_from(
    [
        '<?xml version="1.0"?>',
        '<rss version="2.0"><channel>',
        "</channel></rss>",
        "<item><title>t</title><link>https://example.org/a</link></item>",
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        '<entry><link href="https://example.org/b"/></entry>',
        "</feed>",
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>',
        "&a;&a;&#xD800;&#0;",
        '{"version": "https://jsonfeed.org/version/1.1", "items": [',
        '{"url": "https://example.org/c", "title": 5}',
        "]}",
        '<opml version="2.0"><body><outline xmlUrl="https://example.org/feed"/></body></opml>',
        '<DT><A HREF="https://example.org/d" ADD_DATE="99999999999999">x</A>',
        "<",
        ">",
    ]
)
DOCUMENTS = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(FEED_PARTS, TEXT), max_size=12).map(lambda parts: "".join(parts).encode("utf-8")),
)


@FUZZ
@given(data=DOCUMENTS)
def test_the_readers_raise_only_source_errors(data: bytes) -> None:
    for read in (parse_feed, parse_opml, parse_bookmarks):
        with contextlib.suppress(SourceError):
            read(data, origin="fuzz")


URLS = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, path, query: f"{scheme}://{host}{path}{query}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        st.one_of(st.sampled_from(["example.org", "[fe80::1]", "[", "ex%41mple.org:99999", "xn--"]), TEXT),
        st.text(max_size=30),
        st.text(max_size=30).map(lambda q: f"?{q}&utm_source=x"),
    ),
)


@FUZZ
@given(url=URLS)
def test_url_normalisation_raises_only_medcurate_errors_and_is_idempotent(url: str) -> None:
    try:
        cleaned = clean_url(url)
        key = canonical_key(cleaned)
    except MedcurateError:
        return
    if not is_http_url(cleaned):
        return  # not a URL the pipeline stores (it refuses those before fetching)
    assert clean_url(cleaned) == cleaned
    assert canonical_key(cleaned) == key


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT
    ),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)),
    max_leaves=25,
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "title": JSON_VALUES,
            "description": JSON_VALUES,
            "body": JSON_VALUES,
            "topics": JSON_VALUES,
            "front_matter": st.one_of(
                FRONT_MATTER.map(lambda fm: json.loads(json.dumps(fm, default=str))), JSON_VALUES
            ),
        },
    ),
    JSON_VALUES,
)


@FUZZ
@given(body=BODIES)
def test_item_update_refuses_with_validation_errors_only(body: Any) -> None:
    with contextlib.suppress(ValidationError):
        ItemUpdate.model_validate(body)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fuzz")
    site = make_site(home)
    add(site.database, "eve", Role.EDITOR)
    store(site.database, news_item(1))
    site.database.dispose()
    return home


@pytest.fixture(scope="module")
def api(
    seeded: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    home = tmp_path_factory.mktemp("fuzz-api")
    shutil.copyfile(seeded / "medcurate.db", home / "medcurate.db")
    site: Site = make_site(home)
    headers = {"Authorization": f"Bearer {token_for(site.database, 'eve')}"}
    with TestClient(site.app, raise_server_exceptions=False) as client:
        yield client, headers
    site.database.dispose()


def test_api_json_bodies_never_answer_5xx(api: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = api

    @API_FUZZ
    @given(body=BODIES)
    def patch(body: Any) -> None:
        response = client.patch("/api/items/1", json=body, headers=headers)
        assert response.status_code in {200, 403, 422}, (response.status_code, response.text[:300])

    patch()
