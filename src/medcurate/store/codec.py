"""Front matter as stored JSON: YAML's dates and timestamps tagged, so that they come back as such.

Apart from the SQLAlchemy column type that uses it (``models.FrontMatterJSON``), so that a reader
without SQLAlchemy decodes stored front matter the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from medcurate.errors import FrontMatterError
from medcurate.validation import MAX_NESTING

DATETIME_TAG = "$datetime"
DATE_TAG = "$date"


def tag_dates(value: Any, _depth: int = 1) -> Any:
    """``value`` with every datetime and date replaced by a one-key tagged object.

    Front matter deeper than ``MAX_NESTING`` is refused (``FrontMatterError``) before the recursion
    could run out of stack: every entry refuses it first, this is the store's own last check.
    """
    if isinstance(value, (dict, list)) and _depth > MAX_NESTING:
        raise FrontMatterError(f"front matter nested deeper than {MAX_NESTING} levels: not stored")
    if isinstance(value, dict):
        return {k: tag_dates(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [tag_dates(v, _depth + 1) for v in value]
    if isinstance(value, datetime):
        return {DATETIME_TAG: value.isoformat()}
    if isinstance(value, date):
        return {DATE_TAG: value.isoformat()}
    return value


def untag_dates(value: Any) -> Any:
    """The inverse of ``tag_dates``; only objects and arrays are looked into (most values are text)."""
    if isinstance(value, dict):
        if len(value) == 1 and DATETIME_TAG in value:
            return datetime.fromisoformat(value[DATETIME_TAG])
        if len(value) == 1 and DATE_TAG in value:
            return date.fromisoformat(value[DATE_TAG])
        return {k: untag_dates(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [untag_dates(v) if isinstance(v, (dict, list)) else v for v in value]
    return value
