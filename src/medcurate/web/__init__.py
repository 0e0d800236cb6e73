"""The editors' web app and HTTP API: ``create_app(settings)`` and ``run(settings, host=..., port=...)``.

Routes live one module per resource under ``web/routes/``; sign-in, sessions and CSRF in
``web/auth.py``; typed dependencies in ``web/deps.py``; the API's shapes in ``web/schemas.py``;
what editors do to items in ``web/services.py``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace

from fastapi import FastAPI

from medcurate.settings import Settings, make_settings, settings_environment
from medcurate.store.db import open_database
from medcurate.web.app import create_app
from medcurate.web.options import WebOptions

__all__ = ["WebOptions", "app_from_environment", "create_app", "is_loopback", "run"]

SECURE_COOKIES_ENV = "MEDCURATE_SECURE_COOKIES"
TRUSTED_PROXIES_ENV = "MEDCURATE_TRUSTED_PROXIES"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, where cookies may go without the Secure flag."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_from_environment() -> FastAPI:
    """The app factory Uvicorn's worker processes call: settings and options from the environment.

    ``run`` writes the parent's settings into ``MEDCURATE_*`` variables before it starts the
    workers, so every process serves the same site.
    """
    from medcurate.ops.logs import setup_logging

    setup_logging(
        default_level="INFO"
    )  # a worker process starts afresh: the parent's logging set-up is not inherited
    secure = os.environ.get(SECURE_COOKIES_ENV, "1") not in ("0", "false", "")
    proxies = tuple(p for p in os.environ.get(TRUSTED_PROXIES_ENV, "").split(",") if p)
    options = WebOptions(secure_cookies=secure, trusted_proxies=proxies, scheduler=True)
    return create_app(make_settings(), options=options)


def run(
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    options: WebOptions | None = None,
    secure_cookies: bool | None = None,
    log_level: str = "info",
    workers: int = 1,
) -> None:
    """Serve the app with Uvicorn until interrupted (blocking).

    Args:
        settings: the site to serve.
        host: the address to listen on.
        port: the port to listen on.
        options: the app's options; defaults to ``WebOptions()``.
        secure_cookies: force the cookies' Secure flag on or off; by default it is off only on a
            loopback host, where the browser talks plain http://127.0.0.1.
        log_level: Uvicorn's log level.
        workers: server processes (Uvicorn's process model); above 1 each builds its own app
            through ``app_from_environment`` (of ``options``, only the cookies' flag and the
            trusted proxies are carried over). Jobs and sessions live in the database, so any
            process answers.

    Behind a reverse proxy (``options.trusted_proxies``), Uvicorn's proxy headers are on for those
    addresses only, so the client address and scheme the app sees are the proxy's forwarded ones.
    """
    import uvicorn

    options = options or WebOptions()
    secure = secure_cookies if secure_cookies is not None else not is_loopback(host)
    served = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": bool(options.trusted_proxies),
        "forwarded_allow_ips": ",".join(options.trusted_proxies) or None,
        "log_config": None,  # medcurate.ops.logs set up the handlers: one format for every line
        "access_log": False,  # the app logs each request itself, with its request id and route
    }
    if workers <= 1:
        app = create_app(settings, options=replace(options, secure_cookies=secure, scheduler=True))
        uvicorn.run(app, **served)  # type: ignore[arg-type]
        return
    open_database(settings.database).dispose()  # migrate once, before the processes race to
    os.environ.update(settings_environment(settings))
    os.environ[SECURE_COOKIES_ENV] = "1" if secure else "0"
    os.environ[TRUSTED_PROXIES_ENV] = ",".join(options.trusted_proxies)
    uvicorn.run(
        "medcurate.web:app_from_environment",
        factory=True,
        workers=workers,
        **served,  # type: ignore[arg-type]
    )
