"""The editors' web app and HTTP API: ``create_app(settings)`` and ``run(settings, host=..., port=...)``.

Routes live one module per resource under ``web/routes/``; sign-in, sessions and CSRF in
``web/auth.py``; typed dependencies in ``web/deps.py``; the API's shapes in ``web/schemas.py``;
what editors do to items in ``web/services.py``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from medcurate.settings import Settings
from medcurate.web.app import create_app
from medcurate.web.options import WebOptions

__all__ = ["WebOptions", "create_app", "is_loopback", "run"]

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


def run(
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    options: WebOptions | None = None,
    secure_cookies: bool | None = None,
    log_level: str = "info",
    forwarded_allow_ips: str | None = None,
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
        forwarded_allow_ips: the reverse proxies (comma-separated addresses, ``*`` for any) whose
            ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed; None: no proxy headers.
    """
    import uvicorn

    options = options or WebOptions()
    secure = secure_cookies if secure_cookies is not None else not is_loopback(host)
    app = create_app(settings, options=replace(options, secure_cookies=secure))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        log_config=None,  # medcurate.ops.logs set up the handlers: one format for every line
        access_log=False,  # the app logs each request itself, with its request id and route
    )
