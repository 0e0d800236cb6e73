"""The web app's options and the per-process context its routes share.

``WebOptions`` is the keyword-only options object built at the edge (``medcurate serve``, tests,
the demo); ``WebContext`` bundles it with the settings, the database, the Jinja environment and the
background job runner, and is stored on ``app.state`` by the app factory.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment

from medcurate.errors import ConfigError
from medcurate.settings import Settings
from medcurate.store.db import Database
from medcurate.web.auth import DEFAULT_SESSION_LIFETIME, LoginLimits

if TYPE_CHECKING:
    from medcurate.web.submissions import AppJobs

DEFAULT_SECURE_COOKIES = True
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_HSTS_MAX_AGE = 365 * 24 * 3600  # a year, as the HSTS preload list asks
# Requests served at once by one process (admitted into the app, threads in its threadpool, and
# database connections, as many again for a request's second session). On a few cores more add no
# throughput, only more connections and more switching between threads; the requests beyond them
# wait in order, without a time limit, before the app.
DEFAULT_REQUEST_THREADS = 16


@dataclass(frozen=True, kw_only=True)
class WebOptions:
    """How the app behaves; every field has a named default."""

    secure_cookies: bool = DEFAULT_SECURE_COOKIES
    session_lifetime: timedelta = DEFAULT_SESSION_LIFETIME
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    page_size: int = DEFAULT_PAGE_SIZE
    site_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are believed.
    trusted_proxies: tuple[str, ...] = ()
    hsts_max_age: int = DEFAULT_HSTS_MAX_AGE
    request_threads: int = DEFAULT_REQUEST_THREADS

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ConfigError(f"trusted proxy {entry!r} is not an address or a network") from None


@dataclass(frozen=True)
class WebContext:
    """Everything a request handler may need besides its own database session."""

    settings: Settings
    options: WebOptions
    database: Database
    templates: Environment
    jobs: AppJobs

    @property
    def site_dir(self) -> Path:
        """Where publishing from the app builds the static site."""
        if self.options.site_dir is not None:
            return self.options.site_dir
        from medcurate.publish.service import site_dir

        return site_dir(self.settings)
