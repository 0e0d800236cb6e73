"""The one Jinja environment factory, for the web app and the static site alike.

A site's own templates (``<home>/templates``) come first, so editors override any built-in template
by writing a file of the same name; autoescaping is always on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from medcurate.validation import http_url_or_none, is_http_url


def make_environment(
    package_path: str,
    *,
    overrides: Sequence[Path] = (),
    strict: bool = True,
    environment_class: type[Environment] = Environment,
) -> Environment:
    """An autoescaping environment over ``medcurate/<package_path>``, with ``overrides`` searched first."""
    loaders = [
        FileSystemLoader([str(p) for p in overrides if p.is_dir()]),
        PackageLoader("medcurate", package_path),
    ]
    environment = environment_class(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined if strict else Environment().undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # The one way a URL from data becomes a link: ``{{ url|http_url }}`` is None unless it is an
    # absolute http(s) URL, and ``{% if url is http_url %}`` tests it (no javascript:, data:...).
    environment.filters["http_url"] = http_url_or_none
    environment.tests["http_url"] = is_http_url
    return environment
