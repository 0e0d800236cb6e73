"""The app factory: ``create_app(settings)`` builds the FastAPI app (JSON API under ``/api``, pages).

Nothing happens at import time; the database is opened (and migrated) when the app is created.
Errors from the one exception tree become HTTP statuses in one handler (``STATUS_BY_ERROR``): the
API answers JSON ``{"detail": ...}``, pages answer an error page, and an anonymous visitor of a
page is sent to sign in.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from fastapi import Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medcurate import __version__
from medcurate.errors import (
    AuthError,
    ConfigError,
    Conflict,
    FetchError,
    FrontMatterError,
    InvalidInput,
    MedcurateError,
    NotFound,
    PermissionDenied,
    RateLimited,
    SourceError,
    plain_reason,
)
from medcurate.history import ACTION_NAMES, describe
from medcurate.ops.metrics import watch_pool
from medcurate.settings import Settings
from medcurate.store.db import Database, open_database
from medcurate.suggest import strength
from medcurate.templating import make_environment
from medcurate.web.deps import csrf_protect
from medcurate.web.jsonguard import JSONDepthGuard
from medcurate.web.labels import by_taxonomy, split_label
from medcurate.web.ops import OPS_PATHS, ObserveRequests
from medcurate.web.ops import ROUTES as OPS_ROUTES
from medcurate.web.options import WebContext, WebOptions
from medcurate.web.pages import site_links
from medcurate.web.routes import (
    audit,
    auth,
    batches,
    dashboard,
    desk,
    intel,
    items,
    schedule,
    sources,
    stories,
    suggestions,
    users,
    workflow,
)
from medcurate.web.submissions import AppJobs
from medcurate.web.transport import served_over_https

API_PREFIX = "/api"
# Most specific first: the first class an error is an instance of decides the status.
STATUS_BY_ERROR: tuple[tuple[type[MedcurateError], int], ...] = (
    (RateLimited, 429),
    (PermissionDenied, 403),
    (AuthError, 401),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (FrontMatterError, 422),
    (SourceError, 422),
    (FetchError, 502),
    (ConfigError, 500),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def status_for(error: MedcurateError) -> int:
    """The HTTP status an error becomes."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


class ErrorJSONResponse(JSONResponse):
    """An error as JSON, written in ASCII.

    An error may quote its input, and JSON input may carry a lone surrogate (a ``"\\ud800"``
    escape) that UTF-8 cannot encode: FastAPI's own answer then failed with a 500. As ASCII JSON the
    surrogate is written as the escape it came as.
    """

    def render(self, content: Any) -> bytes:
        """``content`` as compact ASCII JSON."""
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def handle_invalid_request(request: Request, error: Exception) -> Response:
    """A request FastAPI could not validate: 422 with its errors, as FastAPI answers it."""
    assert isinstance(error, RequestValidationError)
    return ErrorJSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or "application/json" in request.headers.get("accept", "")


async def handle_error(request: Request, error: Exception) -> Response:
    """The one place medcurate errors become responses."""
    assert isinstance(error, MedcurateError)
    status = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if _wants_json(request):
        return ErrorJSONResponse({"detail": str(error)}, status_code=status, headers=headers)
    if status == 401 and request.method in {"GET", "HEAD"}:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    context: WebContext = request.app.state.context
    html = context.templates.get_template("error.html").render(
        status=status,
        message=str(error),
        user=None,
        csrf_token="",
        csrf_field="",
        path=request.url.path,
        back=back_link(request),
        notice=None,
        can=lambda _role: False,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def back_link(request: Request) -> str | None:
    """The page the visitor came from, as a path on this site; None for another site or none at all."""
    referrer = request.headers.get("referer", "")
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or parts.netloc != request.url.netloc:
        return None
    path = parts.path if parts.path.startswith("/") and parts.path[1:2] not in {"/", "\\"} else "/"
    back = path + (f"?{parts.query}" if parts.query else "")
    return None if back == request.url.path + (f"?{request.url.query}" if request.url.query else "") else back


class SecurityHeaders:
    """Add ``SECURITY_HEADERS`` (and HSTS over HTTPS) to every answer that does not set its own.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would run the app in a task of its
    own and stream every response through a queue, a cost on every request.
    """

    def __init__(self, app: ASGIApp, *, options: WebOptions) -> None:
        self.app = app
        self.options = options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if served_over_https(Request(scope), self.options.trusted_proxies):
                    headers.setdefault("Strict-Transport-Security", f"max-age={self.options.hsts_max_age}")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AdmissionLimit:
    """Let at most ``limit`` requests into the app at once; the rest wait here, in order, untimed.

    A request holds a database connection from its sign-in check to its end, across its hops
    between the event loop and the threadpool. With more requests inside than connections, the
    ones waiting for a thread would hold connections that the running ones need, and the pool fails
    them after its timeout; admitted at most ``limit`` at a time (the pool has as many, and as many
    again for a request that opens a second session), a queue of requests only waits. The probes
    (``/healthz``, ``/readyz``, ``/metrics``) never wait.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._places: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _admitted(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; a test client runs the app on a new one each time.
        loop = asyncio.get_running_loop()
        if self._places is None or self._places[0] is not loop:
            self._places = (loop, asyncio.Semaphore(self.limit))
        return self._places[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for a place, then pass the request on."""
        if scope["type"] != "http" or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        async with self._admitted():
            await self.app(scope, receive, send)


ROUTERS = (
    auth,
    items,
    desk,
    workflow,
    schedule,
    suggestions,
    audit,
    batches,
    sources,
    dashboard,
    users,
    intel,
    stories,
)


def _lifespan(
    context: WebContext, *, owns_database: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app starts and stops: the threadpool's size, the in-process scheduler, jobs, the pool."""
    settings, options, db = context.settings, context.options, context.database

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The threadpool FastAPI runs plain functions in (anyio's, 40 by default) as large as the pool.
        anyio.to_thread.current_default_thread_limiter().total_tokens = options.request_threads
        ticker = None
        if options.scheduler and not settings.queue_url:
            from medcurate.scheduler.ticker import Ticker

            ticker = Ticker(db, settings, site_dir=context.site_dir)
            ticker.start()
        yield
        if ticker is not None:
            ticker.stop()
        context.jobs.shutdown()
        if owns_database:
            db.dispose()

    return lifespan


def app_templates(settings: Settings) -> Environment:
    """The app's Jinja environment: its templates (a site's own overrides first) and its filters."""
    templates = make_environment("web/templates", overrides=[settings.home / "templates" / "web"])
    templates.filters["strength"] = strength
    templates.filters["history_lines"] = lambda event: describe(event.action, event.detail)
    templates.filters["history_verb"] = lambda action: ACTION_NAMES.get(action, action)
    templates.filters["plain_reason"] = plain_reason
    templates.filters["by_taxonomy"] = by_taxonomy
    templates.filters["topic_name"] = lambda label: split_label(label)[1]
    templates.filters["topic_taxonomy"] = lambda label: split_label(label)[0]
    templates.filters["site_links"] = lambda text: site_links(text, settings.load_site_config().base_url)
    return templates


def create_app(
    settings: Settings,
    *,
    options: WebOptions | None = None,
    database: Database | None = None,
) -> FastAPI:
    """The medcurate web app over a site's settings.

    Args:
        settings: the site (data directory, database URL, SSRF allow-list for submitted links).
        options: cookies, sessions, rate limits, page size, where publishing builds the site.
        database: an open database to use instead of opening ``settings.database``.

    Returns:
        The FastAPI app; serve it with ``medcurate.web.run`` or any ASGI server.
    """
    options = options or WebOptions()
    owns_database = database is None
    db = database or open_database(settings.database, pool_size=options.request_threads)
    templates = app_templates(settings)
    jobs = AppJobs(db, settings)
    context = WebContext(settings=settings, options=options, database=db, templates=templates, jobs=jobs)
    templates.globals["item_workflow"] = partial(workflow.workflow_view, context)

    app = FastAPI(
        title="medcurate",
        version=__version__,
        summary="Curate, classify and publish healthcare content.",
        lifespan=_lifespan(context, owns_database=owns_database),
        dependencies=[Depends(csrf_protect)],
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.context = context
    app.add_exception_handler(MedcurateError, handle_error)
    app.add_exception_handler(RequestValidationError, handle_invalid_request)
    app.add_middleware(JSONDepthGuard)
    app.add_middleware(AdmissionLimit, limit=options.request_threads)
    app.add_middleware(SecurityHeaders, options=options)
    app.add_middleware(ObserveRequests)  # outermost: times everything, errors included
    app.router.routes.extend(OPS_ROUTES)
    watch_pool(db.engine)
    app.mount("/static", StaticFiles(packages=[("medcurate", "web/static")]), name="static")
    for module in ROUTERS:
        app.include_router(module.api, prefix=API_PREFIX)
        app.include_router(module.pages)
    return app
