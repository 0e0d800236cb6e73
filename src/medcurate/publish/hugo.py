"""Export items as a Hugo content tree (page bundles laid out by basePath), optionally with a layout.

Each item becomes a leaf bundle, ``<basePath>/<mdName>/index.md``, with its featured image
(``<mdName>-featuredImage.<ext>``, copied from the images directory) beside it, so Hugo publishes the
image as a page resource next to the page and the front matter's relative ``featuredImage.href``
resolves. The front matter is kept as it is: Hugo reads ``aliases`` as a string or a list, ``slug``
names the page's URL, ``type`` falls back to ``_default`` layouts and ``layOut: single`` picks
``single.html``. The body passes through the same sanitiser as medcurate's own site, because the
shipped ``hugo.toml`` lets Goldmark render the brief's raw HTML.

``with_layout`` adds a minimal, browsable Hugo site around the content: ``hugo.toml``, the layouts
under ``publish/hugo_layout/`` and the site's stylesheet, plus an ``_index.md`` for each section
directory that lacks one (titles from the community configuration). Files are written only when
their bytes change, so re-exporting an unchanged store writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from medcurate.config import SiteConfig
from medcurate.errors import PublishError
from medcurate.frontmatter import render_document
from medcurate.models import CuratedItem, FeaturedImage, Variant
from medcurate.publish.sanitize import clean_html, looks_like_html
from medcurate.publish.seed import relative_path
from medcurate.validation import contained_path

LAYOUT_PACKAGE_DIR = "publish/hugo_layout"
STYLESHEET = "publish/static/site/style.css"
INDEX_FILE = "index.md"
FEATURED_IMAGE_MARK = "-featuredImage."


@dataclass(frozen=True)
class HugoExportReport:
    """What an export wrote: files written and left as they were (pages, images, layout)."""

    written: int
    unchanged: int
    items: int
    images: int
    paths: tuple[Path, ...]


def bundle_path(item: CuratedItem) -> Path:
    """The item's leaf bundle below ``content/``: ``<basePath>/<mdName>/index.md``."""
    flat = relative_path(item)
    return flat.parent / flat.stem / INDEX_FILE


def hugo_body(item: CuratedItem) -> str:
    """The body as Hugo should render it: HTML briefs sanitised, Markdown prose left as Markdown."""
    if item.variant is Variant.BOOKMARK_2019 and not looks_like_html(item.body):
        return item.body
    cleaned = clean_html(item.body)
    if cleaned == item.body.strip():
        return item.body  # already clean: keep the seed's bytes
    return f"\n{cleaned}\n" if cleaned else ""


def hugo_item(item: CuratedItem) -> CuratedItem:
    """The item as exported for Hugo (only the body can differ)."""
    body = hugo_body(item)
    return item if body == item.body else item.updated({}, body=body)


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds it; True when written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def _copy_if_changed(source: Path, target: Path) -> bool:
    """Copy a file unless the target has the same size and modification time; True when copied."""
    src = source.stat()
    try:
        dst = target.stat()
        if dst.st_size == src.st_size and dst.st_mtime_ns == src.st_mtime_ns:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def _image_index(images_dir: Path | None) -> dict[str, Path]:
    """Every file in the images directory by name: one directory listing, not one lookup per item."""
    if images_dir is None or not images_dir.is_dir():
        return {}
    return {entry.name: Path(entry.path) for entry in os.scandir(images_dir) if entry.is_file()}


def featured_image_source(item: CuratedItem, images: dict[str, Path]) -> Path | None:
    """The stored image file for the item: its ``featuredImage.href``, else ``<mdName>-featuredImage.*``."""
    image = item.fields.featured_image
    href = image.href if isinstance(image, FeaturedImage) else None
    if href and "/" not in href and href in images:
        return images[href]
    name = item.md_name
    if not name:
        return None
    prefix = f"{name}{FEATURED_IMAGE_MARK}"
    matches = sorted(key for key in images if key.startswith(prefix))
    return images[matches[0]] if matches else None


def _layout_files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """Every file of the packaged layout, with its path relative to the site root."""
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _layout_files(entry, f"{rel}/")
        elif not entry.name.startswith(".") and not entry.name.endswith(".pyc"):
            yield rel, entry.read_bytes()


def hugo_config_text(config: SiteConfig) -> str:
    """The site's ``hugo.toml``: base URL, title, language, pagination, raw HTML rendering on."""
    publishing = config.publishing
    base_url = publishing.base_url if publishing.base_url.endswith("/") else f"{publishing.base_url}/"
    # json.dumps of a str is a valid TOML basic string (same escapes), so titles with quotes are safe.
    return "\n".join(
        [
            "# Written by `medcurate export --hugo DIR --with-layout`; edit freely, it is only rewritten",
            "# when its content would change.",
            f"baseURL = {json.dumps(base_url)}",
            f"title = {json.dumps(publishing.site_title)}",
            f"languageCode = {json.dumps(publishing.language)}",
            f"defaultContentLanguage = {json.dumps(publishing.language)}",
            f"paginate = {publishing.page_size}",
            "enableRobotsTXT = true",
            "disableKinds = []",
            "",
            "[markup.goldmark.renderer]",
            "  # Briefs are HTML; medcurate sanitises them (nh3 allow-list) before export.",
            "  unsafe = true",
            "",
            "[taxonomies]",
            '  category = "categories"',
            '  tag = "tags"',
            "",
        ]
    )


def _section_titles(items: Iterable[CuratedItem], config: SiteConfig) -> dict[Path, str]:
    """A title for every section directory the items live in (community breadcrumbs, else the name)."""
    titles: dict[Path, str] = {}
    for item in items:
        section = relative_path(item).parent
        community = config.community_for_base_path(item.fields.base_path)
        known = community.breadcrumb_titles if community else []
        parts = section.parts
        for depth in range(1, len(parts) + 1):
            directory = Path(*parts[:depth])
            if directory in titles:
                continue
            if len(known) == len(parts):
                titles[directory] = known[depth - 1]
            elif community is not None and depth == len(parts):
                titles[directory] = community.name
            else:
                titles[directory] = parts[depth - 1].replace("-", " ").title()
    return titles


def _section_index(title: str) -> bytes:
    """A section's ``_index.md``."""
    return f"---\ntitle: {json.dumps(title)}\n---\n".encode()


def export_hugo(
    items: Iterable[CuratedItem],
    out_dir: Path,
    *,
    config: SiteConfig,
    images_dir: Path | None = None,
    with_layout: bool = False,
) -> HugoExportReport:
    """Write the items as a Hugo content tree below ``out_dir/content`` (and a layout when asked).

    Args:
        items: the items to publish.
        out_dir: the Hugo site root; content goes to ``content/``.
        config: the site configuration (base URL, title, communities for section titles).
        images_dir: where featured images are stored (``<mdName>-featuredImage.<ext>``).
        with_layout: also write ``hugo.toml``, layouts, a stylesheet and section ``_index.md`` files.

    Returns:
        The counts of files written and unchanged, and the paths of the item pages.
    """
    items = list(items)
    content = out_dir / "content"
    tally = _Tally()
    try:
        paths = _write_items(items, content, _image_index(images_dir), tally)
        if with_layout:
            _write_layout(items, out_dir, config, tally)
    except OSError as exc:
        raise PublishError(f"cannot write the Hugo tree in {out_dir}: {exc.strerror or exc}") from exc
    return HugoExportReport(
        written=tally.written, unchanged=tally.unchanged, items=len(paths), images=tally.images, paths=paths
    )


@dataclass
class _Tally:
    """Files written and left unchanged by one export, and the images copied."""

    written: int = 0
    unchanged: int = 0
    images: int = 0

    def count(self, changed: bool) -> None:
        """Count one file, written or found unchanged."""
        self.written += changed
        self.unchanged += not changed


def _write_items(
    items: list[CuratedItem], content: Path, images: dict[str, Path], tally: _Tally
) -> tuple[Path, ...]:
    """Each item's page bundle (its ``index.md`` and featured image); refuse two items on one path."""
    paths: list[Path] = []
    seen: dict[Path, str] = {}
    for item in items:
        rel = bundle_path(item)
        if rel in seen:
            raise PublishError(
                f"items {seen[rel]!r} and {item.title!r} would both be written to {rel}: give them "
                "distinct mdName values"
            )
        seen[rel] = item.title
        target = contained_path(content, rel)
        tally.count(_write_if_changed(target, render_document(hugo_item(item)).encode("utf-8")))
        paths.append(target)
        source = featured_image_source(item, images)
        if source is not None:
            tally.count(_copy_if_changed(source, contained_path(target.parent, source.name)))
            tally.images += 1
    return tuple(paths)


def _write_layout(items: list[CuratedItem], out_dir: Path, config: SiteConfig, tally: _Tally) -> None:
    """``hugo.toml``, the layouts, the stylesheet and the sections' ``_index.md`` (never an editor's own)."""
    content = out_dir / "content"
    extra: list[tuple[Path, bytes]] = [(out_dir / "hugo.toml", hugo_config_text(config).encode())]
    package = resources.files("medcurate")
    layout_root = package.joinpath(LAYOUT_PACKAGE_DIR)
    extra += [(out_dir / rel, data) for rel, data in _layout_files(layout_root)]
    extra.append((out_dir / "static" / "css" / "site.css", package.joinpath(STYLESHEET).read_bytes()))
    for directory, title in _section_titles(items, config).items():
        index = contained_path(content, directory / "_index.md")
        if index.exists():  # never overwrite an editor's own section page
            tally.unchanged += 1
        else:
            extra.append((index, _section_index(title)))
    for path, data in extra:
        tally.count(_write_if_changed(path, data))
