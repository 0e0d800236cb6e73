"""Checks on front matter that came from outside, shared by every entry and every writer.

Every entry that takes front matter from a person or a file (the API's ``PATCH``, the review form,
``medcurate import``, the YAML reader) runs these checks, and every writer checks its own resolved
paths (``contained_path``), so that a name that slipped past an entry still cannot leave the output
folder:

* ``nesting_problem``: front matter nests at most ``MAX_NESTING`` levels and holds at most
  ``MAX_NODES`` values, so that no recursive walk (the surrogate check, the codec, pydantic) can
  run out of stack or time.
* ``path_name_problems``: the names that become file or URL paths (``mdName``, ``slug``,
  ``basePath``, ``aliases``, ``featuredImage.href``, ``categoryUrl``) hold no ``.``/``..`` segment,
  no backslash, no control character; ``mdName``, a file name, holds letters, digits, ``._-`` only.
* ``link_problems``: ``link``/``link.href``/``href`` are absolute http(s) URLs.
* ``storable_problem``: an item has a title, and a link or a body.

Written by hand: these are medcurate's own rules over its own front matter shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from medcurate.errors import PublishError

if TYPE_CHECKING:
    from medcurate.models import CuratedItem

MAX_NESTING = 32  # levels of mappings and lists, the front matter mapping itself the first
MAX_NODES = 100_000  # values of one front matter, every alias expanded
MAX_NAME_LENGTH = 200
_MD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOT_SEGMENTS = frozenset({".", ".."})
HTTP_SCHEMES = frozenset({"http", "https"})


def nesting_problem(value: Any, *, limit: int = MAX_NESTING, max_nodes: int = MAX_NODES) -> str | None:
    """Why ``value`` nests too deep or holds too many values, or None; iterative, any depth."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        current, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f"holds more than {max_nodes} values"
        if isinstance(current, Mapping):
            children: Any = current.values()
        elif isinstance(current, (list, tuple)):
            children = current
        else:
            continue
        if depth > limit:
            return f"nested deeper than {limit} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def segment_problem(name: str, *, what: str) -> str | None:
    """Why ``name`` cannot be one path segment (a file or directory name), or None."""
    if not name or len(name) > MAX_NAME_LENGTH:
        return f"{what} must be 1-{MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name or _CONTROL.search(name):
        return f"{what} {name!r} may not hold '/', '\\' or control characters"
    if name in _DOT_SEGMENTS or unquote(name) in _DOT_SEGMENTS:
        return f"{what} {name!r} may not be '.' or '..'"
    return None


def url_path_problem(path: str, *, what: str) -> str | None:
    """Why ``path`` (``/news/a/``) cannot name a place below the site root, or None."""
    if len(path) > 2048 or "\\" in path or _CONTROL.search(path):
        return f"{what} {path!r} may not hold '\\' or control characters (2,048 characters at most)"
    for segment in path.split("/"):
        if segment in _DOT_SEGMENTS or unquote(segment) in _DOT_SEGMENTS:
            return f"{what} {path!r} may not hold a '.' or '..' segment"
    return None


def md_name_problem(name: str) -> str | None:
    """Why ``name`` is not an acceptable ``mdName`` (letters, digits, ``.``, ``_``, ``-``), or None."""
    if not _MD_NAME.match(name) or name.removesuffix(".md") in _DOT_SEGMENTS:
        return (
            f"mdName {name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return None


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not isinstance(value, str) or _CONTROL.search(value) or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


def http_url_or_none(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL, else None: what may become a link's ``href``."""
    return value if isinstance(value, str) and is_http_url(value) else None


def _strings(value: Any, what: str) -> tuple[list[str], str | None]:
    """``value`` as a list of strings (a string or a list of them), or the reason it is not one."""
    if isinstance(value, str):
        return [value], None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value), None
    return [], f"{what} must be a string or a list of strings"


def _image_problem(image: Any) -> str | None:
    href = image.get("href") if isinstance(image, Mapping) else image
    if href is None or href == "":
        return None
    if not isinstance(href, str):
        return "featuredImage.href must be a string"
    if is_http_url(href):
        return None
    # A file beside the page, or a path on the site (the writers copy only a bare file name).
    return url_path_problem(href, what="featuredImage.href")


def path_name_problems(front_matter: Mapping[str, Any]) -> list[str]:
    """Every reason a name in ``front_matter`` that becomes a path is unsafe (empty when none)."""
    problems: list[str | None] = []
    md_name = front_matter.get("mdName")
    if md_name is not None:
        problems.append(md_name_problem(md_name) if isinstance(md_name, str) else "mdName must be a string")
    slug = front_matter.get("slug")
    if slug is not None and slug != "":
        problems.append(
            # A URL's last part to Hugo and the site build (which slugify it), never a file name alone.
            url_path_problem(slug, what="slug") if isinstance(slug, str) else "slug must be a string"
        )
    base_path = front_matter.get("basePath")
    if base_path is not None:
        problems.append(
            url_path_problem(base_path, what="basePath")
            if isinstance(base_path, str)
            else "basePath must be a string"
        )
    for key in ("aliases", "categoryUrl"):
        if front_matter.get(key) is None:
            continue
        paths, wrong = _strings(front_matter[key], key)
        problems.append(wrong)
        problems.extend(url_path_problem(p, what=key) for p in paths)
    if "featuredImage" in front_matter:
        problems.append(_image_problem(front_matter["featuredImage"]))
    return [p for p in problems if p]


def link_problems(front_matter: Mapping[str, Any]) -> list[str]:
    """Every reason the item's links (``link``, ``link.href``, ``href``) are not absolute http(s) URLs."""
    problems = []
    link = front_matter.get("link")
    candidates: list[tuple[str, Any]] = [("href", front_matter.get("href"))]
    if isinstance(link, Mapping):
        candidates.append(("link.href", link.get("href")))
    else:
        candidates.append(("link", link))
    for name, value in candidates:
        if value is not None and value != "" and not is_http_url(value):
            problems.append(f"{name} must be an absolute http(s) URL, not {str(value)[:80]!r}")
    return problems


_TEXT_KEYS = ("title", "description", "mdName", "slug", "basePath", "linkBrand", "href")


def type_problems(front_matter: Mapping[str, Any]) -> list[str]:
    """Every known key of ``front_matter`` whose value has the wrong type (``title: 5``)."""
    problems = [
        f"{key} must be a string, not {type(front_matter[key]).__name__}"
        for key in _TEXT_KEYS
        if front_matter.get(key) is not None and not isinstance(front_matter[key], str)
    ]
    for key in ("link", "featuredImage"):
        value = front_matter.get(key)
        if value is not None and not isinstance(value, (str, Mapping)):
            problems.append(f"{key} must be a string or a mapping, not {type(value).__name__}")
    return problems


def api_front_matter_problems(front_matter: Mapping[str, Any]) -> list[str]:
    """What the API refuses in incoming front matter: nesting, types, links, names that become paths."""
    problems = front_matter_problems(front_matter)
    if problems and problems[0].startswith("front matter"):
        return problems
    return [*type_problems(front_matter), *link_problems(front_matter), *problems]


def storable_problem(*, title: str, url: str | None, body: str) -> str | None:
    """Why an item with this title, link and body cannot be stored, or None."""
    if not title.strip():
        return "an item needs a title"
    if not (url or "").strip() and not body.strip():
        return "an item needs a link or a body"
    return None


def front_matter_problems(front_matter: Mapping[str, Any]) -> list[str]:
    """The nesting and path-name problems of a front matter mapping, in that order."""
    nesting = nesting_problem(front_matter)
    if nesting is not None:
        return [f"front matter {nesting}"]  # the other checks would walk it
    return path_name_problems(front_matter)


def item_problems(item: CuratedItem) -> list[str]:
    """Why ``item`` may not be stored: unsafe front matter, or no title, or neither link nor body."""
    problems = front_matter_problems(item.front_matter)
    if problems:
        return problems
    refused = storable_problem(title=item.title, url=item.url, body=item.body)
    return [refused] if refused else []


def contained_path(root: Path, relative: Path | str) -> Path:
    """``root / relative``, refused with ``PublishError`` when it resolves outside ``root``."""
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and not target.is_relative_to(base):
        raise PublishError(f"refused to write {relative}: it resolves outside {root}")
    return root / relative
