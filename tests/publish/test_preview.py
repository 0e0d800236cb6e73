"""Previews do not pile up: making one removes the others not made again for a day (on a test clock)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from factories import news_item
from medcurate.publish.preview import PREVIEW_MAX_AGE, preview_folder, render_preview
from medcurate.settings import Settings

T0 = 1_800_000_000.0


def _preview(settings: Settings, item_id: int, at: float) -> Path:
    page = render_preview(
        news_item(item_id),
        item_id=item_id,
        key=f"item-{item_id}",
        community="news",
        settings=settings,
        config=settings.load_site_config(),
        served_at=f"/items/{item_id}/preview/files/",
        clock=lambda: at,
    )
    assert "Item number" in page.html
    return page.folder


def test_a_new_preview_removes_those_not_made_for_a_day(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    old = _preview(settings, 1, T0)
    remade = _preview(settings, 2, T0)
    _preview(settings, 2, T0 + PREVIEW_MAX_AGE - 1)  # item 2 previewed again: its age starts over
    recent = _preview(settings, 3, T0 + PREVIEW_MAX_AGE - 1)
    assert old.is_dir() and remade.is_dir() and recent.is_dir()

    newest = _preview(settings, 4, T0 + PREVIEW_MAX_AGE + 1)

    assert not old.parent.exists(), "item 1's preview is a day old: removed, its lock too"
    assert remade.is_dir() and recent.is_dir() and newest.is_dir()
    assert sorted(p.name for p in (settings.home / "run" / "preview").iterdir()) == ["2", "3", "4"]


def test_a_removed_preview_is_built_again_when_asked_for(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    _preview(settings, 1, T0)
    _preview(settings, 2, T0 + 2 * PREVIEW_MAX_AGE)
    assert not preview_folder(settings, 1).exists()
    # Item 1 asked for again, later still: built anew, and item 2's is not yet a day old.
    assert (_preview(settings, 1, T0 + 2 * PREVIEW_MAX_AGE + 10) / "static" / "style.css").is_file()
    assert preview_folder(settings, 2).is_dir()


def test_a_preview_being_built_is_left_alone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    busy = _preview(settings, 1, T0)
    with (busy.parent / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a build of item 1 in another process holds it
        _preview(settings, 2, T0 + 2 * PREVIEW_MAX_AGE)
        assert busy.is_dir()
    _preview(settings, 3, T0 + 2 * PREVIEW_MAX_AGE)
    assert not busy.parent.exists()
