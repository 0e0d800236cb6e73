"""``medcurate extract``, driven through the real CLI on the extract fixtures."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paths
from medcurate.cli import app

FIXTURES = paths.FIXTURES / "extract"
HEALTHTECH = FIXTURES / "healthtech-ransomware.html"
URL = "https://healthtechmagazine.net/article/2022/11/why-hospitals-must-rehearse-ransomware-response"


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_file_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", str(HEALTHTECH), "--url", URL, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "healthtech-ransomware.html"
    assert data["title"] == "Why Hospitals Must Rehearse Their Ransomware Response"
    assert data["brand"] == "healthtechmagazine.net"
    assert data["brief_html"].startswith("<p>When the electronic health record goes dark")


def test_file_for_a_person(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", str(HEALTHTECH), "--url", URL])
    assert result.exit_code == 0, result.output
    for expected in ("Why Hospitals Must Rehearse", "healthtechmagazine.net", "2022-11-09", "brief_html"):
        assert expected in result.stdout


def test_page_text_that_looks_like_rich_markup_is_printed_as_is(runner: CliRunner, tmp_path: Path) -> None:
    page = tmp_path / "shortcode.html"
    body = "<p>[button link=/kit]Send us your review[/button] and [bold]tell us[/] what you think of it.</p>"
    page.write_text(f"<html><head><title>[red]Kit[/red] review</title></head><body>{body * 4}</body></html>")
    result = runner.invoke(app, ["extract", str(page)])
    assert result.exit_code == 0, result.output
    assert "[red]Kit[/red] review" in result.stdout
    assert "[button link=/kit]" in result.stdout


def test_gzipped_file(runner: CliRunner, tmp_path: Path) -> None:
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(HEALTHTECH.read_bytes()))
    result = runner.invoke(app, ["extract", str(page), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"] == "page.html.gz"
    # without --url the canonical link still gives absolute addresses
    assert data["canonical_url"] == URL
    assert data["text"].startswith("When the electronic health record goes dark")


def test_folder_gives_json_lines(runner: CliRunner, tmp_path: Path) -> None:
    for page in FIXTURES.glob("*.html"):
        shutil.copy(page, tmp_path / page.name)
    (tmp_path / "mojibake.html").rename(tmp_path / "mojibake.html.gz")
    (tmp_path / "mojibake.html.gz").write_bytes(gzip.compress((FIXTURES / "mojibake.html").read_bytes()))
    (tmp_path / "notes.txt").write_text("not a page", encoding="utf-8")
    result = runner.invoke(app, ["extract", str(tmp_path)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = sorted(p.name for p in FIXTURES.glob("*.html"))
    expected[expected.index("mojibake.html")] = "mojibake.html.gz"
    assert [r["source"] for r in records] == expected  # by name, notes.txt left out
    assert all(r["text"] for r in records)
    by_source = {r["source"]: r for r in records}
    assert (
        by_source["mojibake.html.gz"]["title"] == "Data breaches cost hospitals $5.6B a year, Becker’s finds"
    )


def test_folder_reports_a_bad_page_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copy(HEALTHTECH, tmp_path / "good.html")
    (tmp_path / "broken.html.gz").write_bytes(b"this is not gzip")
    result = runner.invoke(app, ["extract", str(tmp_path)])
    assert result.exit_code == 1
    records = {r["source"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert "gzip" in records["broken.html.gz"]["error"]
    assert records["good.html"]["title"].startswith("Why Hospitals")


def test_stdin(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", "-", "--url", URL, "--json"], input=HEALTHTECH.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["site_name"] == "HealthTech Magazine"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.html", None, "no such file"),
        ("notes.html", b"plain words and nothing else", "not an HTML page"),
        ("scan.html", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        ("page.html.gz", b"<html>not really gzip</html>", "not a valid gzip file"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(
    runner: CliRunner, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["extract", str(path)])
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())


def test_empty_folder_exits_non_zero(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["extract", str(tmp_path)])
    assert result.exit_code == 1
    assert "no .html" in " ".join(result.stderr.split())


def test_url_without_the_fetch_stage_exits_2(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail, as in a build without the fetch stage
    monkeypatch.setitem(sys.modules, "medcurate.ingest.fetch", None)
    result = runner.invoke(app, ["extract", "https://example.org/article"])
    assert result.exit_code == 2
    assert "not available" in " ".join(result.stderr.split())


def test_url_refused_by_the_fetch_guard_is_a_clear_error(runner: CliRunner) -> None:
    # the default fetch policy refuses loopback addresses before connecting: nothing leaves the machine
    result = runner.invoke(app, ["extract", "http://127.0.0.1:9/article"])
    assert result.exit_code == 1
    assert "error" in " ".join(result.stderr.split())
