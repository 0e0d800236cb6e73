"""``/healthz``, ``/readyz`` and ``/metrics``, and the middleware that times and logs each request.

The three endpoints are plain Starlette routes, outside the app's FastAPI dependencies (sessions,
CSRF): a probe must answer without the database when it is down, and never needs a user.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medcurate.ops import metrics
from medcurate.ops.logs import bind
from medcurate.ops.schema import code_head
from medcurate.web.options import WebContext

LOGGER = logging.getLogger("medcurate.web")
REQUEST_ID_HEADER = "X-Request-ID"
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
OPS_PATHS = ("/healthz", "/readyz", "/metrics")


async def healthz(request: Request) -> Response:
    """The process is up and answering."""
    del request
    return JSONResponse({"status": "ok"})


def _readiness(context: WebContext) -> tuple[int, dict[str, object]]:
    from medcurate.ops.health import readiness

    report = readiness(context.settings, context.database.engine, head=code_head(), output=context.site_dir)
    return (200 if report.ok else 503), report.as_dict()


async def readyz(request: Request) -> Response:
    """Database at head, Redis (when a queue is configured), model files, output folder: 200 or 503."""
    status, body = await run_in_threadpool(_readiness, request.app.state.context)
    return JSONResponse(body, status_code=status)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus' text format; with ``MEDCURATE_METRICS_TOKEN`` set, only for that bearer token."""
    context: WebContext = request.app.state.context
    if not metrics.token_allows(context.settings.metrics_token, request.headers.get("authorization")):
        return JSONResponse({"detail": "metrics need the metrics token"}, status_code=401)
    settings = context.settings
    body = await run_in_threadpool(
        metrics.exposition, queue_url=settings.queue_url, queue_name=settings.queue_name
    )
    return Response(body, media_type=metrics.CONTENT_TYPE)


ROUTES = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]


def _route_template(request: Request) -> str:
    """The matched route's template with its router's prefix (``/api/items/{item_id}``): few labels.

    The route object carries its own path only (FastAPI keeps an included router's prefix apart), so
    the prefix is what the request's path has before the segments the route matched.
    """
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        matched = len([part for part in path.split("/") if part])
        segments = [part for part in request.url.path.split("/") if part]
        prefix = segments[: len(segments) - matched] if matched else segments
        if not prefix:
            return path
        return "/" + "/".join(prefix) + ("" if path == "/" else path)
    if request.url.path in OPS_PATHS:
        return request.url.path
    if request.url.path.startswith("/static/"):
        return "/static"
    return metrics.UNMATCHED_ROUTE


class ObserveRequests:
    """Give each request an id (``X-Request-ID``, kept when sane), time it, count it, log one line.

    A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, which runs the app in a
    task of its own and streams every response through a queue: a cost on every request. The app
    runs in this task, so the request id bound here is on every line the request logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request from its start to the last byte of its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _GOOD_REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        with bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = _route_template(request)
                metrics.record_request(method=request.method, route=route, status=status, seconds=seconds)
                if route not in OPS_PATHS:  # probes every few seconds would drown the log
                    LOGGER.info("%s %s %d %.1f ms", request.method, route, status, seconds * 1000)
