"""Read and write Markdown files with YAML front matter, in each variant's own shape.

Three generations are read: the 2020 community variant (PyYAML's block style with sorted keys: the
seeds reproduce byte for byte), the 2022 news variant (insertion order, indented sequences, long
strings folded with ``>-``, as js-yaml writes them) and the 2019 bookmark variant (sorted top-level
keys, unquoted timestamps). Writing keeps the key order of the mapping, so an item read from a file
is written back in the order it came; the body is kept to the byte.

PyYAML does the parsing and the emitting; the hand-written parts are only the variant detection, the
``---`` framing (python-frontmatter and its kin re-serialise and strip the body, which breaks the
byte-identical contract) and two small emitter settings per variant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from medcurate.errors import FrontMatterError
from medcurate.models import LONE_SURROGATE, CuratedItem, Variant
from medcurate.validation import MAX_NESTING, MAX_NODES, path_name_problems

# A front matter block opens the file (after an optional BOM) and closes on a line of three dashes.
_FRAME = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_NEWS_MARKERS = ("htmlMetaData", "openGraphMetaData", "twitterMetaData", "relatedOfferings", "layOut")
_FOLD_WIDTH = 80


def detect_variant(front_matter: Mapping[str, Any]) -> Variant:
    """Tell which generation a front matter mapping belongs to."""
    if front_matter.get("archetype") == "bookmark":
        return Variant.BOOKMARK_2019
    if any(key in front_matter for key in _NEWS_MARKERS):
        return Variant.NEWS_2022
    return Variant.COMMUNITY_2020


class TooComplex(yaml.YAMLError):
    """YAML that nests deeper than ``MAX_NESTING`` or expands (aliases) past ``MAX_NODES`` values."""


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting while composing and alias bombs before building.

    PyYAML composes recursively (a file nested 5,000 lists deep ran out of stack) and builds an
    alias as a shared object, so that "billion laughs" loads fast but expands to billions of values
    in every walk after it. The composed node graph is measured once, each shared node once.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing to go deeper than the nesting limit."""
        self._depth += 1
        try:
            if self._depth > MAX_NESTING + 1:  # +1: a scalar below the deepest collection
                raise TooComplex(f"front matter nested deeper than {MAX_NESTING} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        """Compose the document and refuse it when its aliases expand too far or loop."""
        node = super().compose_document()
        if node is not None:
            _measure(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _measure(root: yaml.Node) -> None:
    """Raise ``TooComplex`` when the expanded graph passes the limits or an alias loops.

    Depth-first without recursion; a node shared through aliases is measured once.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, height)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(measured[id(c)][0] for c in children)
            height = (1 + max((measured[id(c)][1] for c in children), default=0)) if children else 0
            if size > MAX_NODES:
                raise TooComplex(f"front matter expands to more than {MAX_NODES} values (YAML aliases)")
            if height > MAX_NESTING:
                raise TooComplex(f"front matter nested deeper than {MAX_NESTING} levels (YAML aliases)")
            measured[key] = (size, height)
        elif key not in measured:
            if key in open_nodes:
                raise TooComplex("front matter holds a recursive YAML alias")
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in measured)


def load_yaml(text: str) -> Any:
    """YAML text as Python values through ``BoundedLoader``; ``yaml.YAMLError`` (or ``TooComplex``)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def split_document(text: str, *, path: str | None = None) -> tuple[str, str]:
    """Split a document into its YAML text and its body, refusing one without front matter."""
    if "\x00" in text:
        raise FrontMatterError("binary file: not a Markdown document", path=path)
    match = _FRAME.match(text)
    if match is None:
        raise FrontMatterError(
            "no front matter: the file must open with a '---' line and close the YAML with another",
            path=path,
        )
    return match.group("yaml"), text[match.end() :]


def parse_document(text: str, *, path: str | None = None) -> CuratedItem:
    """Parse one Markdown document into a ``CuratedItem``; the body is kept byte for byte."""
    yaml_text, body = split_document(text, path=path)
    try:
        data = load_yaml(yaml_text)
    except TooComplex as exc:
        raise FrontMatterError(str(exc), path=path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"broken YAML front matter{where}: {problem}", path=path) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(f"front matter must be a YAML mapping, not a {type(data).__name__}", path=path)
    broken_field = _lone_surrogate_at(data)
    if broken_field is not None:
        shown = broken_field.encode("utf-8", "backslashreplace").decode("utf-8")  # a key may hold one too
        raise FrontMatterError(
            f"front matter field {shown} holds an escaped lone surrogate (\\ud800-\\udfff): not Unicode text",
            path=path,
        )
    unsafe = path_name_problems(data)
    if unsafe:
        raise FrontMatterError("; ".join(unsafe), path=path)
    item = CuratedItem(front_matter=data, body=body, variant=detect_variant(data), source_path=path)
    try:
        _ = item.fields
    except ValueError as exc:
        raise FrontMatterError(f"front matter fields of the wrong type: {exc}", path=path) from exc
    return item


def _lone_surrogate_at(value: Any, where: str = "") -> str | None:
    """The key path (``htmlMetaData.title``, ``aliases[0]``) of the first text holding a lone
    surrogate, key or value; None when there is none."""
    if isinstance(value, str):
        return (where or "(top)") if LONE_SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and LONE_SURROGATE.search(key):
                return path
            found = _lone_surrogate_at(item, path)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def read_document(path: Path) -> CuratedItem:
    """Read one file; binary and undecodable files are refused with a reason."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise FrontMatterError("binary file: not a Markdown document", path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrontMatterError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from exc
    return parse_document(text, path=str(path))


def iter_documents(paths: list[Path]) -> Iterator[Path]:
    """Every Markdown file named, or found below the directories named, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


class _CommunityDumper(yaml.SafeDumper):
    """PyYAML's block style (the 2020 community seeds)."""


class _SortedTopDumper(yaml.SafeDumper):
    """Bookmark style: top-level keys sorted, nested mappings in their own order."""


class _NewsDumper(yaml.SafeDumper):
    """js-yaml style: sequences indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _Folded(str):
    """A long single-line string that js-yaml would write folded (``>-``)."""


def _represent_folded(dumper: yaml.SafeDumper, data: _Folded) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style=">")


def _represent_timestamp(dumper: yaml.SafeDumper, data: datetime) -> yaml.ScalarNode:
    # Hugo's own timestamps (2019-01-31T10:38:39Z); PyYAML would write '2019-01-31 10:38:39+00:00'.
    if data.tzinfo is not None and data.utcoffset() == UTC.utcoffset(None):
        text = data.replace(tzinfo=None).isoformat() + "Z"
    else:
        text = data.isoformat()
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


# PyYAML writes these line breaks raw in quoted scalars, where a reader folds them into a space:
# a text holding one is written double-quoted, where they are escaped (\N, \L, \P).
_UNFOLDABLE_BREAKS = re.compile("[\x85\u2028\u2029]")


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if _UNFOLDABLE_BREAKS.search(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_NewsDumper.add_representer(_Folded, _represent_folded)
for _dumper in (_NewsDumper, _SortedTopDumper, _CommunityDumper):
    _dumper.add_representer(str, _represent_text)
for _dumper in (_NewsDumper, _SortedTopDumper):
    _dumper.add_representer(datetime, _represent_timestamp)


def _fold_long_strings(value: Any, indent: int, prefix: int) -> Any:
    """Mark the strings js-yaml folds: single-line ones whose line would pass 80 columns."""
    if isinstance(value, dict):
        return {k: _fold_long_strings(v, indent + 2, indent + len(str(k)) + 2) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold_long_strings(v, indent + 2, indent + 2) for v in value]
    if (
        isinstance(value, str)
        and prefix + len(value) > _FOLD_WIDTH
        and "\n" not in value
        and value == value.strip()
        and "  " not in value
    ):
        return _Folded(value)
    return value


def dump_front_matter(front_matter: Mapping[str, Any], variant: Variant) -> str:
    """Serialise a front matter mapping in the variant's own style."""
    data = dict(front_matter)
    if variant is Variant.COMMUNITY_2020:
        return yaml.dump(
            data, Dumper=_CommunityDumper, sort_keys=True, allow_unicode=True, default_flow_style=False
        )
    if variant is Variant.BOOKMARK_2019:
        ordered = {key: data[key] for key in sorted(data)}
        return yaml.dump(
            ordered, Dumper=_SortedTopDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    return yaml.dump(
        _fold_long_strings(data, 0, 0),
        Dumper=_NewsDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_FOLD_WIDTH,
        indent=2,
    )


def render_document(item: CuratedItem) -> str:
    """The whole Markdown file for an item: front matter between ``---`` lines, then the body."""
    return f"---\n{dump_front_matter(item.front_matter, item.variant)}---\n{item.body}"


def write_document(item: CuratedItem, path: Path) -> bool:
    """Write an item's file; returns False (and writes nothing) when the file already says the same."""
    text = render_document(item)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True
