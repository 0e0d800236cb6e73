"""The review page's generic front-matter editor: every key becomes a form field, and back again.

Pure functions: ``editable_fields`` turns an item's front matter into field specifications (text,
long text, one-value-a-line lists, nested mappings one level deep, YAML for anything deeper), and
``parse_fields`` turns the submitted form back into front-matter changes of the original types, so
an untouched field round-trips unchanged. Topic, offering and featured-image keys have their own
controls on the page and are left out here; identity keys (``id``, ``mdName``) are shown read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import yaml

from medcurate.errors import InvalidInput
from medcurate.frontmatter import load_yaml

PREFIX = "fm."
MANAGED_KEYS = frozenset(
    {
        "categories",
        "categorySlug",
        "categoryUrl",
        "categoryLabel",
        "communityTopics",
        "relatedOfferings",
        "featuredImage",
        "lastMod",
        "identifiers",  # found during ingestion; filtered and linked out by medcurate.intel
        "sourceType",  # the classifier's, corrected on the review page's Source panel
    }
)
MANAGED_NESTED = frozenset({"openProjectCustomFields.medigyTopics"})
READ_ONLY_KEYS = frozenset({"id", "mdName"})
LONG_TEXT = 100

FieldKind = Literal["text", "textarea", "lines", "yaml", "bool", "number", "readonly"]


@dataclass(frozen=True)
class FieldSpec:
    """One form field of the front-matter editor."""

    name: str
    label: str
    kind: FieldKind
    value: str


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, date))


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _spec(name: str, label: str, value: Any) -> FieldSpec:
    if isinstance(value, bool):
        return FieldSpec(name, label, "bool", _display(value))
    if isinstance(value, (int, float)):
        return FieldSpec(name, label, "number", _display(value))
    if _is_scalar(value):
        text = _display(value)
        return FieldSpec(name, label, "textarea" if len(text) > LONG_TEXT or "\n" in text else "text", text)
    if isinstance(value, list) and all(_is_scalar(v) and not isinstance(v, bool) for v in value):
        return FieldSpec(name, label, "lines", "\n".join(_display(v) for v in value))
    return FieldSpec(name, label, "yaml", yaml.safe_dump(value, allow_unicode=True, sort_keys=False).strip())


def editable_fields(front_matter: Mapping[str, Any]) -> list[FieldSpec]:
    """A field for every front-matter key the generic editor handles, in the front matter's order."""
    specs: list[FieldSpec] = []
    for key, value in front_matter.items():
        if key in MANAGED_KEYS:
            continue
        if key in READ_ONLY_KEYS:
            specs.append(FieldSpec(PREFIX + key, key, "readonly", _display(value)))
        elif isinstance(value, Mapping) and value:
            for sub, sub_value in value.items():
                dotted = f"{key}.{sub}"
                if dotted not in MANAGED_NESTED:
                    specs.append(_spec(PREFIX + dotted, dotted, sub_value))
        else:
            specs.append(_spec(PREFIX + key, key, value))
    return specs


def _convert(spec: FieldSpec, original: Any, raw: str) -> Any:
    text = raw.replace("\r\n", "\n")
    if spec.kind in {"text", "textarea"}:
        text = text.strip() if spec.kind == "text" else text
        if original is None and not text.strip():
            return None
        if isinstance(original, datetime):
            return _parse(datetime.fromisoformat, text, spec.label)
        if isinstance(original, date):
            return _parse(date.fromisoformat, text, spec.label)
        return text
    if spec.kind == "number":
        if not text.strip():
            return None
        return _parse(int if isinstance(original, int) else float, text.strip(), spec.label)
    if spec.kind == "bool":
        return text.strip().lower() in {"true", "on", "1", "yes"}
    if spec.kind == "lines":
        return [line.strip() for line in text.split("\n") if line.strip()]
    try:
        return load_yaml(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{spec.label}: not valid YAML: {exc}") from exc


def _parse(kind: Any, text: str, label: str) -> Any:
    try:
        return kind(text)
    except ValueError as exc:
        raise InvalidInput(f"{label}: {text!r} is not valid: {exc}") from exc


def _untouched(spec: FieldSpec, raw: str) -> bool:
    """Whether the submitted text is what the field showed: then the stored value stays as it is.

    Comparing the text, not the parsed value, keeps a value the form cannot round-trip (a list with
    an empty entry, a blank string, a date's shape) exactly as stored when another field is saved.
    """
    text = raw.replace("\r\n", "\n")
    if spec.kind in {"text", "number", "bool"}:
        return text.strip() == spec.value.strip()
    return text.rstrip("\n") == spec.value.rstrip("\n")


def parse_fields(front_matter: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """The front-matter changes a submitted editor form makes (only keys whose field was edited)."""
    changes: dict[str, Any] = {}
    for spec in editable_fields(front_matter):
        if spec.kind == "readonly" or spec.name not in form or _untouched(spec, form[spec.name]):
            continue
        path = spec.name.removeprefix(PREFIX)
        key, _, sub = path.partition(".")
        if sub:
            original = front_matter[key].get(sub)
            value = _convert(spec, original, form[spec.name])
            if value != original:
                nested = dict(changes.get(key) or front_matter[key])
                nested[sub] = value
                changes[key] = nested
        else:
            original = front_matter.get(key)
            value = _convert(spec, original, form[spec.name])
            if value != original:
                changes[key] = value
    return changes


def edited_text(stored: str, raw: str | None) -> str | None:
    """A submitted long text (the brief) when it differs from the stored one, else None.

    Browsers send line ends as CRLF and drop a textarea's first newline, so those alone are no edit.
    """
    if raw is None:
        return None
    text = raw.replace("\r\n", "\n")
    return None if text.strip("\n") == stored.strip("\n") else text
