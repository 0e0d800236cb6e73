"""One logging set-up for every command: readable lines on a terminal, JSON lines for collectors.

``MEDCURATE_LOG_FORMAT=json`` writes one JSON object a line (``ts``, ``level``, ``logger``,
``message``, and ``request_id``, ``job_id``, ``item_id`` when there is one); anything else writes
``time level logger [ids] message``. The ids travel in context variables (``bind``), so a line
logged deep in the pipeline carries the id of the request or job that caused it, and a record's own
``extra={"item_id": ...}`` wins over the context's.

Every line passes through ``redact`` before it is written: passwords, API tokens, bearer headers,
session cookies and passwords in URLs never reach a log, whoever logged them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "MEDCURATE_LOG_FORMAT"
LOG_LEVEL_ENV = "MEDCURATE_LOG_LEVEL"
IDS = ("request_id", "job_id", "item_id")
_CONTEXT: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in IDS}
_HANDLER_NAME = "medcurate"
_SECRETS = (
    # API tokens, wherever they appear.
    (re.compile(r"mct_[A-Za-z0-9_\-]{8,}"), "mct_***"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1***"),
    # Cookies and the fields of a form or query string that hold secrets.
    (re.compile(r"(?i)(medcurate_[a-z_]*=)[^\s;\"',&]+"), r"\1***"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|csrf_token|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]+"
        ),
        r"\1***",
    ),
    # user:password@host in URLs.
    (re.compile(r"(://[^/\s:@]+):[^@\s/]+@"), r"\1:***@"),
)


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``***``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@contextmanager
def bind(**ids: str | int | None) -> Iterator[None]:
    """Carry these ids (``request_id``, ``job_id``, ``item_id``) on every line logged inside the block."""
    tokens = [
        (_CONTEXT[name], _CONTEXT[name].set(None if value is None else str(value)))
        for name, value in ids.items()
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def current_ids(record: logging.LogRecord | None = None) -> dict[str, str]:
    """The ids in force: the record's own ``extra`` first, then the context's."""
    found = {}
    for name in IDS:
        value = getattr(record, name, None) if record is not None else None
        value = value if value is not None else _CONTEXT[name].get()
        if value is not None:
            found[name] = str(value)
    return found


class JSONFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted JSON line."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **current_ids(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``time level logger [ids] message``, for people."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted line."""
        ids = " ".join(f"{k}={v}" for k, v in current_ids(record).items())
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{moment} {record.levelname:<7} {record.name}: " + (f"[{ids}] " if ids else "")
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def setup_logging(
    *, log_format: str | None = None, level: str | None = None, default_level: str = "WARNING"
) -> logging.Handler:
    """Send every logger's records to stderr in the chosen format; idempotent.

    Args:
        log_format: ``json`` or ``text``; ``MEDCURATE_LOG_FORMAT`` by default, else ``text``.
        level: the root level; ``MEDCURATE_LOG_LEVEL`` by default, else ``default_level``.
        default_level: ``WARNING`` for a command a person runs (its output says what happened),
            ``INFO`` for the services (``serve``, ``worker``), whose log is their output.

    Returns:
        The handler installed on the root logger.
    """
    chosen = (log_format or os.environ.get(LOG_FORMAT_ENV) or "text").lower()
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JSONFormatter() if chosen == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel((level or os.environ.get(LOG_LEVEL_ENV) or default_level).upper())
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, each run
    # Uvicorn and RQ set up their own handlers unless told not to; theirs go through this one.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    return handler
