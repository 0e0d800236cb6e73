"""The Hugo export: page bundles by basePath, images beside them, a layout Debian's hugo builds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import paths
from medcurate.cli import app
from medcurate.config import load_config
from medcurate.frontmatter import iter_documents, read_document
from medcurate.models import CuratedItem
from medcurate.publish.hugo import bundle_path, export_hugo

FIXTURES = paths.FIXTURES / "publish" / "items"
ZEPPELIN_MD = "11111111-1111-5111-8111-111111111111"
IMAGE = f"{ZEPPELIN_MD}-featuredImage.jpeg"
HUGO = shutil.which("hugo")
needs_hugo = pytest.mark.skipif(HUGO is None, reason="hugo is not installed (.ci/system-deps installs it)")


def fixture_items() -> list[CuratedItem]:
    """The four publish fixtures."""
    return [read_document(p) for p in sorted(FIXTURES.glob("*.md"))]


@pytest.fixture()
def images_dir(tmp_path: Path) -> Path:
    """A stored featured image for the community fixture."""
    directory = tmp_path / "images"
    directory.mkdir()
    Image.new("RGB", (64, 32), (200, 60, 60)).save(directory / IMAGE, "JPEG")
    return directory


def run_hugo(site: Path) -> subprocess.CompletedProcess[str]:
    """Build the exported site with hugo, failing on any error or warning about our files."""
    assert HUGO is not None
    result = subprocess.run(
        [HUGO, "--source", str(site), "--quiet", "--panicOnWarning"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_bundles_follow_base_path_and_images_sit_beside_them(tmp_path: Path, images_dir: Path) -> None:
    out = tmp_path / "hugo"
    report = export_hugo(fixture_items(), out, config=load_config(None), images_dir=images_dir)
    content = out / "content"
    assert (content / f"communities/chronic-care-management/curated-content/{ZEPPELIN_MD}/index.md").is_file()
    assert (content / f"communities/chronic-care-management/curated-content/{ZEPPELIN_MD}/{IMAGE}").is_file()
    # mdName written with a .md suffix (seed 002) still names the bundle without it.
    assert (content / "news/22222222-2222-5222-8222-222222222222/index.md").is_file()
    # No basePath and no mdName (2019 bookmarks): posts/<slug>/.
    assert (content / "posts/example-rural-tele-icu-keeps-patients-close-to-home/index.md").is_file()
    assert report.items == 4 and report.images == 1 and report.written == 5
    again = export_hugo(fixture_items(), out, config=load_config(None), images_dir=images_dir)
    assert again.written == 0 and again.unchanged == 5


def test_front_matter_is_kept_and_bodies_are_sanitised(tmp_path: Path) -> None:
    out = tmp_path / "hugo"
    items = fixture_items()
    export_hugo(items, out, config=load_config(None))
    for item in items:
        exported = read_document(out / "content" / bundle_path(item))
        assert dict(exported.front_matter) == dict(item.front_matter)
    evil = read_document(out / "content/news/66666666-6666-5666-8666-666666666666/index.md")
    assert "<script" not in evil.body and "onerror" not in evil.body and "javascript:" not in evil.body
    assert "a mallory marker word" in evil.body
    clean = next(i for i in items if i.title == "Hospitals adopt microsegmentation")
    assert read_document(out / "content" / bundle_path(clean)).body == clean.body  # already clean: untouched
    linked = next(i for i in items if i.md_name == ZEPPELIN_MD)
    assert (
        'rel="nofollow noopener noreferrer">remote monitoring'
        in (out / "content" / bundle_path(linked)).read_text()
    )


@needs_hugo
def test_hugo_builds_the_fixtures_with_the_shipped_layout(tmp_path: Path, images_dir: Path) -> None:
    out = tmp_path / "hugo"
    report = export_hugo(
        fixture_items(), out, config=load_config(None), images_dir=images_dir, with_layout=True
    )
    assert (out / "hugo.toml").is_file() and (out / "layouts/_default/baseof.html").is_file()
    assert 'baseURL = "https://example.org/"' in (out / "hugo.toml").read_text()
    assert (out / "content/communities/_index.md").is_file()
    run_hugo(out)
    public = out / "public"
    item = public / "communities/chronic-care-management/curated-content"
    item = item / "example-health-zeppelin-networks-for-remote-monitoring"
    page = (item / "index.html").read_text(encoding="utf-8")
    assert "Zeppelin Networks for Remote Monitoring</h1>" in page
    assert "airship-borne" in page and "raw HTML omitted" not in page
    assert 'href="https://example-health.org/articles/zeppelin-networks"' in page
    assert (item / IMAGE).is_file() and IMAGE in page
    # Aliases, a string in the front matter, become redirect pages.
    alias = (public / "news/zeppelin-networks-for-remote-monitoring/index.html").read_text(encoding="utf-8")
    assert "example-health-zeppelin-networks-for-remote-monitoring" in alias
    assert (public / "news/hospitals-adopt-microsegmentation/index.html").is_file()
    assert (public / "news/example-news-hospitals-adopt-microsegmentation/index.html").is_file()
    assert (
        "Related offerings"
        in (public / "news/example-news-hospitals-adopt-microsegmentation/index.html").read_text()
    )
    assert (public / "posts/example-rural-tele-icu-keeps-patients-close-to-home/index.html").is_file()
    assert (public / "categories/healthcare-it-news-cybersecurity/index.html").is_file()
    assert "Hospitals adopt microsegmentation" in (public / "index.html").read_text(encoding="utf-8")
    for html in public.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "<script>window" not in text and 'onerror="window' not in text, html
    again = export_hugo(
        fixture_items(), out, config=load_config(None), images_dir=images_dir, with_layout=True
    )
    assert again.written == 0 and again.unchanged == report.written


@needs_hugo
@pytest.mark.shared
def test_hugo_builds_the_seeds_and_the_dev_corpus(
    tmp_path: Path, seeds_dir: Path, curated_posts_dir: Path
) -> None:
    items = [read_document(p) for p in iter_documents([seeds_dir, curated_posts_dir])]
    out = tmp_path / "hugo"
    export_hugo(items, out, config=load_config(None), with_layout=True)
    run_hugo(out)
    public = out / "public"
    for seed in iter_documents([seeds_dir]):
        item = read_document(seed)
        alias = item.fields.aliases
        assert isinstance(alias, str)
        assert (public / alias.strip("/") / "index.html").is_file(), alias
        section = (item.fields.base_path or "").strip("/")
        assert (public / section / str(item.fields.slug) / "index.html").is_file()
    posts = list((public / "posts").glob("*/index.html"))
    assert len(posts) == 260


def test_cli_export_hugo(tmp_path: Path) -> None:
    runner = CliRunner(env={"MEDCURATE_HOME": str(tmp_path / "home"), "MEDCURATE_DATABASE_URL": ""})
    assert runner.invoke(app, ["import", str(FIXTURES)]).exit_code == 0
    out = tmp_path / "hugo"
    result = runner.invoke(app, ["export", "--hugo", str(out), "--with-layout"])
    assert result.exit_code == 0, result.output
    assert (out / "content/news/22222222-2222-5222-8222-222222222222/index.md").is_file()
    assert (out / "hugo.toml").is_file()
    again = runner.invoke(app, ["export", "--hugo", str(out), "--with-layout"]).output
    assert "0 written" in " ".join(again.split())


@needs_hugo
def test_hugo_layout_prints_also_covered_by(tmp_path: Path) -> None:
    """A story's primary lists the other outlets (``alsoCoveredBy``); a javascript: URL is not linked."""
    items = fixture_items()
    covered = [
        {
            "title": "Scribes raise ED productivity",
            "url": "https://healthmanagement.org/a/1",
            "brand": "healthmanagement.org",
        },
        {"title": "Sneaky", "url": "javascript:alert(1)", "brand": ""},
    ]
    news = next(i for i in items if i.url and "microsegmentation" in i.url)
    items = [i.updated({"alsoCoveredBy": covered}) if i is news else i for i in items]
    out = tmp_path / "hugo"
    export_hugo(items, out, config=load_config(None), with_layout=True)
    run_hugo(out)
    page = (out / "public/news/example-news-hospitals-adopt-microsegmentation/index.html").read_text()
    assert "Also covered by</h2>" in page
    assert 'href="https://healthmanagement.org/a/1"' in page and "healthmanagement.org</span>" in page
    assert "javascript:alert" not in page
    others = [p for p in (out / "public").rglob("index.html") if "microsegmentation" not in str(p)]
    assert all("Also covered by" not in p.read_text(encoding="utf-8") for p in others)
