"""The static site built from the store: revisions first, content only for the items a build needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from medcurate.config import load_config
from medcurate.models import ItemState, featured_image_href
from medcurate.publish import service
from medcurate.publish.service import StoredItems, publish_site
from medcurate.publish.site import SiteItem, SiteOptions, build_site
from medcurate.publish.site.itemsource import ItemRevision, ItemsChanged
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.store.repository import find_item, item_from_record, save_item, set_state
from sitesupport import IMAGE, fixture_items, site_files

COMMUNITY = "chronic-care-management"


def _store(database: Database) -> list[str]:
    """The publish fixtures, published, the first in a community; their keys."""
    keys = []
    with database.session() as session:
        for n, item in enumerate(fixture_items()):
            key = f"item-{n}"
            community = COMMUNITY if n == 0 else None
            save_item(
                session, item=item, md_name=key, url_key=key, state=ItemState.PUBLISHED, community=community
            )
            keys.append(key)
    return keys


def _retitle(database: Database, key: str, title: str) -> None:
    with database.session() as session:
        record = find_item(session, md_name=key)
        assert record is not None
        save_item(session, item=item_from_record(record).updated({"title": title}), md_name=key, url_key=key)


class CountingItems(StoredItems):
    """A store source that records which keys a build read."""

    read: list[str]

    def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
        object.__setattr__(self, "read", [*getattr(self, "read", []), *keys])
        return super().load(keys)


def _build(database: Database, out: Path, images: Path | None = None) -> tuple[CountingItems, int]:
    source = CountingItems(database, [ItemState.PUBLISHED])
    options = SiteOptions(page_size=2, images_dir=images)
    report = build_site(source, out, config=load_config(None), options=options)
    return source, report.written


def test_the_store_builds_what_its_items_build(database: Database, tmp_path: Path) -> None:
    keys = _store(database)
    _build(database, tmp_path / "store")
    listed = [
        SiteItem(item=item, key=key, community=COMMUNITY if n == 0 else None)
        for n, (key, item) in enumerate(zip(keys, fixture_items(), strict=True))
    ]
    build_site(listed, tmp_path / "list", config=load_config(None), options=SiteOptions(page_size=2))
    store_tree = site_files(tmp_path / "store")
    assert len(store_tree) > 20
    assert store_tree == site_files(tmp_path / "list")


def test_a_rebuild_reads_only_what_changed(database: Database, tmp_path: Path) -> None:
    keys = _store(database)
    out = tmp_path / "site"
    first, written = _build(database, out)
    assert set(first.read) == set(keys) and written > 0
    # Nothing changed: no item is read, nothing is written.
    source, written = _build(database, out)
    assert getattr(source, "read", []) == [] and written == 0
    # A state change alone (published again) leaves the revision, and the site, as they were.
    with database.session() as session:
        record = find_item(session, md_name=keys[2])
        assert record is not None
        set_state(session, item_id=record.id, state=ItemState.PUBLISHED)
    source, written = _build(database, out)
    assert getattr(source, "read", []) == [] and written == 0
    # One item retitled: that item is read, then only the few whose briefs its feeds show.
    _retitle(database, keys[2], "A brand new title")
    source, written = _build(database, out)
    assert source.read[0] == keys[2] and len(source.read) < 20 and written > 0
    assert "A brand new title" in (out / "index.html").read_text(encoding="utf-8")


def test_a_replaced_image_file_rebuilds_its_item(database: Database, tmp_path: Path) -> None:
    _store(database)
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 32), (30, 90, 160)).save(images / IMAGE, "JPEG")
    out = tmp_path / "site"
    _build(database, out, images)
    copies = list(out.rglob(IMAGE))
    assert copies
    Image.new("RGB", (80, 40), (200, 20, 20)).save(images / IMAGE, "JPEG")
    source, written = _build(database, out, images)
    pictured = [
        f"item-{n}"
        for n, item in enumerate(fixture_items())
        if featured_image_href(item.front_matter) == IMAGE
    ]
    assert source.read[:1] == pictured and len(pictured) == 1 and written > 0
    assert all(copy.read_bytes() == (images / IMAGE).read_bytes() for copy in copies)


def test_an_item_edited_while_the_build_reads_starts_it_again(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _store(database)
    edits = iter(["Edited during the build"])

    class EditedMidway(StoredItems):
        """Another editor saves an item after the build read the revisions (once)."""

        def load(self, keys: Sequence[str]) -> list[tuple[SiteItem, ItemRevision]]:
            title = next(edits, None)
            if title is not None:
                _retitle(database, keys_of_store[1], title)
            return super().load(keys)

    keys_of_store = keys
    source = EditedMidway(database, [ItemState.PUBLISHED])
    with pytest.raises(ItemsChanged, match=keys[1]):
        build_site(source, tmp_path / "first", config=load_config(None))
    # ``publish_site`` starts the build again and publishes the edit.
    edits = iter(["Edited during the build, again"])
    monkeypatch.setattr(service, "StoredItems", EditedMidway)
    settings = Settings(home=tmp_path / "home", database_url="sqlite://")
    report = publish_site(database, settings, out_dir=tmp_path / "site")
    assert report.items == len(keys)
    assert "Edited during the build, again" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_unpublished_and_deleted_items_leave_the_site_as_a_full_build_has_it(
    database: Database, tmp_path: Path
) -> None:
    keys = _store(database)
    out = tmp_path / "site"
    _build(database, out)
    # Unpublished: the store names it among the items saved since the last build.
    with database.session() as session:
        record = find_item(session, md_name=keys[1])
        assert record is not None
        set_state(session, item_id=record.id, state=ItemState.DRAFT)
    source, written = _build(database, out)
    assert keys[1] not in getattr(source, "read", []) and written > 0
    _build(database, tmp_path / "fresh-1")
    assert site_files(out) == site_files(tmp_path / "fresh-1")
    # Deleted outright: no save tells of it, the item count does, and every revision is compared.
    with database.session() as session:
        record = find_item(session, md_name=keys[3])
        assert record is not None
        session.delete(record)
    _build(database, out)
    _build(database, tmp_path / "fresh-2")
    assert site_files(out) == site_files(tmp_path / "fresh-2")
    assert len(site_files(out)) < len(site_files(tmp_path / "fresh-1"))
