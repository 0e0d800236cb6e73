"""Hostile front matter: names that become paths, link schemes, YAML bombs, deep nesting, empty items.

Each test reproduces an attack of issue 14 and checks it is refused at the entry (API, import) and,
for paths, again at the writer (seed export, Hugo export, site build).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from medcurate.cli import app
from medcurate.config import SiteConfig
from medcurate.errors import FrontMatterError, PublishError
from medcurate.frontmatter import parse_document
from medcurate.models import CuratedItem, Variant
from medcurate.publish.hugo import export_hugo
from medcurate.publish.seed import export_seed
from medcurate.publish.site.write import SiteWriter
from medcurate.validation import MAX_NESTING, contained_path, nesting_problem, path_name_problems
from websupport import news_item

TRAVERSALS: list[tuple[str, Any]] = [
    ("mdName", "../../../../outside"),
    ("mdName", "..\\outside"),
    ("slug", "../up"),
    ("basePath", "/news/../../../etc/"),
    ("aliases", ["/ok/", "/../../x/"]),
    ("aliases", "/%2e%2e/x/"),
    ("featuredImage", {"href": "../../secret.jpg"}),
    ("categoryUrl", ["/topic/../../../x/"]),
]


def hostile(key: str, value: Any) -> CuratedItem:
    """A well-formed item with one hostile name."""
    item = news_item(1)
    return item.updated({key: value})


def cli_runner(tmp_path: Path) -> CliRunner:
    """A runner on a fresh data directory, wide enough that Rich never wraps a reason."""
    return CliRunner(
        env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": "", "COLUMNS": "400"}
    )


def document(front_matter_yaml: str, body: str = "Body.\n") -> str:
    return f"---\n{front_matter_yaml}---\n{body}"


@pytest.mark.parametrize(("key", "value"), TRAVERSALS)
def test_names_that_leave_their_folder_are_refused_by_the_validator(key: str, value: Any) -> None:
    problems = path_name_problems(hostile(key, value).front_matter)
    assert problems and key.split(".")[0] in problems[0]


def test_safe_names_of_the_seeds_shape_pass() -> None:
    assert path_name_problems(news_item(1).front_matter) == []


def test_seed_export_refuses_a_path_outside_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c" / "out"
    with pytest.raises(PublishError, match="outside"):
        export_seed([hostile("mdName", "../../../../outside")], out)
    assert not list(tmp_path.rglob("outside*"))


def test_hugo_export_refuses_a_path_outside_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "site"
    with pytest.raises(PublishError, match="outside"):
        export_hugo([hostile("mdName", "../../../../../outside")], out, config=SiteConfig())
    assert not list(tmp_path.rglob("index.md"))


@pytest.mark.parametrize("rel", ["../outside.html", "a/../../outside.html", "/tmp/outside.html"])
def test_site_writers_refuse_a_path_outside_the_root(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root" / "site"
    root.mkdir(parents=True)
    source = tmp_path / "image.png"
    source.write_bytes(b"png")
    writer = SiteWriter(root)
    with pytest.raises(PublishError, match="not a path inside the site"):
        writer.write(rel, b"x")
    with pytest.raises(PublishError, match="not a path inside the site"):
        writer.copy(rel, str(source))
    assert not list(tmp_path.rglob("outside.html"))
    assert writer.written == 0


def test_contained_path_accepts_what_stays_inside(tmp_path: Path) -> None:
    assert contained_path(tmp_path, "a/b.md") == tmp_path / "a" / "b.md"
    with pytest.raises(PublishError):
        contained_path(tmp_path, "a/../../b.md")


@pytest.mark.parametrize(("key", "value"), TRAVERSALS[:4])
def test_import_refuses_a_traversal_and_goes_on(tmp_path: Path, key: str, value: Any) -> None:
    import yaml

    folder = tmp_path / "in"
    folder.mkdir()
    fm = dict(hostile(key, value).front_matter)
    (folder / "a-bad.md").write_text(document(yaml.safe_dump(fm)), encoding="utf-8")
    (folder / "b-good.md").write_text(
        document(yaml.safe_dump(dict(news_item(2).front_matter))), encoding="utf-8"
    )
    runner = cli_runner(tmp_path)
    result = runner.invoke(app, ["import", str(folder)])
    assert result.exit_code == 1, result.output
    assert "created 1" in result.output and "a-bad.md" in result.output
    assert key in result.output


# --- YAML bombs and deep nesting -----------------------------------------------------------------

BILLION_LAUGHS = "title: Bomb\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_alias_bomb_is_a_per_file_error() -> None:
    # Refused at the aliases, before anything walks the 9**9 strings they stand for: an expansion
    # would run for minutes (a hang the gate sees), never pass.
    with pytest.raises(FrontMatterError, match="aliases"):
        parse_document(document(BILLION_LAUGHS), path="bomb.md")


def test_deep_nesting_is_a_per_file_error() -> None:
    deep = "title: Deep\nx: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(FrontMatterError, match="nested deeper"):
        parse_document(document(deep), path="deep.md")
    block = "title: Deep\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v\n"
    with pytest.raises(FrontMatterError, match="nested deeper"):
        parse_document(document(block), path="deep.md")


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(FrontMatterError, match="recursive"):
        parse_document(document("title: Loop\nx: &x [*x]\n"), path="loop.md")


def test_nesting_at_the_limit_is_read() -> None:
    value = "[" * (MAX_NESTING - 1) + "1" + "]" * (MAX_NESTING - 1)
    item = parse_document(document(f"title: Deep enough\nx: {value}\n"), path="ok.md")
    assert nesting_problem(dict(item.front_matter)) is None


def test_import_goes_on_after_a_bomb_and_a_deep_file(tmp_path: Path) -> None:
    import yaml

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1-bomb.md").write_text(document(BILLION_LAUGHS), encoding="utf-8")
    (folder / "2-deep.md").write_text(document("x: " + "[" * 5000 + "]" * 5000 + "\n"), encoding="utf-8")
    (folder / "3-good.md").write_text(
        document(yaml.safe_dump(dict(news_item(3).front_matter))), encoding="utf-8"
    )
    runner = cli_runner(tmp_path)
    result = runner.invoke(app, ["import", str(folder)])
    assert result.exit_code == 1, result.output
    assert "created 1" in result.output and "errors 2" in result.output
    assert "1-bomb.md" in result.output and "2-deep.md" in result.output


# --- empty front matter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\n---\n", "title"),
        ("---\ntitle: Only a title\n---\n", "a link or a body"),
        ("---\nlink: https://example.org/a\n---\nBody\n", "title"),
    ],
)
def test_an_item_without_title_or_content_is_refused_with_its_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.md").write_text(text, encoding="utf-8")
    runner = cli_runner(tmp_path)
    result = runner.invoke(app, ["import", str(folder)])
    assert result.exit_code == 1, result.output
    assert "created 0" in result.output and reason in result.output


def test_the_store_refuses_an_item_without_a_title(tmp_path: Path) -> None:
    from medcurate.errors import InvalidInput
    from medcurate.store.db import open_database
    from medcurate.store.repository import save_item

    database = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    empty = CuratedItem(front_matter={}, body="", variant=Variant.COMMUNITY_2020)
    with pytest.raises(InvalidInput, match="title"), database.session() as session:
        save_item(session, item=empty, md_name="x", url_key=None)
    database.dispose()


def test_the_codec_refuses_front_matter_past_the_limit() -> None:
    from medcurate.store.codec import tag_dates

    value: Any = "leaf"
    for _ in range(MAX_NESTING - 1):
        value = [value]
    assert tag_dates({"x": value}) == {"x": value}
    with pytest.raises(FrontMatterError, match="nested deeper"):
        tag_dates({"x": [value]})
    deep: list[Any] = []
    for _ in range(900):  # a RecursionError before the limit
        deep = [deep]
    with pytest.raises(FrontMatterError, match="nested deeper"):
        tag_dates({"x": deep})
