"""A real HTTP server on the loopback interface for tests: a route table, a request log, lazy bodies.

Usage::

    from httpserver import LocalServer, Reply, local_fetch_options

    with LocalServer() as srv:                       # 127.0.0.1, random port, own thread
        srv.route("/page", Reply(body=b"<html>...</html>", content_type="text/html"))
        srv.route("/dyn", lambda req: Reply(status=503) if srv.count("/dyn") == 1 else Reply(body=b"ok"))
        page = fetch_url(srv.url("/page"), local_fetch_options())
        assert srv.paths() == ["/robots.txt", "/page"]

or, as a pytest fixture factory (servers stopped at teardown)::

    from httpserver import http_server

    __all__ = ["http_server"]  # the imported fixture, so linters see it used

    def test_x(http_server):
        srv = http_server()              # or http_server(host="127.0.0.2") / http_server(host="::1")

A ``Reply`` body may be bytes or an iterable of bytes; an iterable is written chunk by chunk as it is
produced (with its ``Content-Length`` if the reply sets one, else close-delimited), so a test can
serve a "10 GB" body lazily and check ``bytes_sent`` afterwards. Unrouted paths answer 404.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from medcurate.ingest.netguard import NetPolicy
from medcurate.ingest.options import FetchOptions

#: A policy allowing the loopback interface only: what tests use to reach their own servers.
LOCAL_POLICY = NetPolicy.allowing("127.0.0.0/8", "::1/128")


def local_fetch_options(**overrides: Any) -> FetchOptions:
    """FetchOptions for tests: loopback allowed, no politeness delay, short back-off and timeouts."""
    settings: dict[str, Any] = {
        "policy": LOCAL_POLICY,
        "per_host_delay": 0.0,
        "backoff": 0.05,
        "connect_timeout": 5.0,
        "read_timeout": 5.0,
        "total_timeout": 15.0,
    }
    settings.update(overrides)
    return FetchOptions(**settings)


class FakeClock:
    """Time that moves only when the code under test sleeps; it records every wait asked for.

    Pass ``clock.options(...)`` to a fetch and assert on ``clock.sleeps``: the politeness spacing and
    retry back-off as requested, whatever the machine's load.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move time on by it, and let other tasks run."""
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def options(self, **overrides: Any) -> FetchOptions:
        """``local_fetch_options`` running on this clock."""
        return local_fetch_options(clock=self, sleep=self.sleep, **overrides)


@dataclass(frozen=True)
class SeenRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    at: float

    @property
    def route(self) -> str:
        """The path without its query."""
        return self.path.split("?", 1)[0]


@dataclass
class Reply:
    """What a route answers. ``body`` may be an iterable of chunks, written as produced."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Route = Reply | Callable[[SeenRequest], Reply]


class LocalServer:
    """A threaded ``http.server`` on a loopback address and a random (or given) port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.scheme = "https" if tls is not None else "http"
        self.sni_names: list[str | None] = []
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self.bytes_sent: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.errors: list[BaseException | None] = []
        self._lock = threading.Lock()
        self._server = self._make_server(host, port)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"httpserver-{self.port}"
        )
        self._thread.daemon = True

    def _make_server(self, host: str, port: int) -> ThreadingHTTPServer:
        """Bind the server (IPv6 when the host is an IPv6 address)."""
        owner = self

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client dropping a kept-alive connection is normal for a fetcher that stops
                # reading at a cap; anything else is kept for the test to see.
                error = sys.exc_info()[1]
                if not isinstance(error, ConnectionError | TimeoutError):
                    owner.errors.append(error)

        class Handler(_Handler):
            server_owner = owner

        return Server((host, port), Handler)

    # --- set-up -------------------------------------------------------------------------------

    def route(self, path: str, reply: Route) -> LocalServer:
        """Serve ``reply`` (a Reply, or a function of the request returning one) at ``path``."""
        self.routes[path] = reply
        return self

    def url(self, path: str = "/") -> str:
        """The absolute URL of a path on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> LocalServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the log ------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        with self._lock:
            return [r.path for r in self.requests]

    def count(self, path: str) -> int:
        """How many times a path (query ignored) was requested."""
        with self._lock:
            return sum(1 for r in self.requests if r.route == path)

    def seen(self, path: str) -> list[SeenRequest]:
        """The requests for a path (query ignored)."""
        with self._lock:
            return [r for r in self.requests if r.route == path]

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until no request is being served (the timeout only guards against a hang)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self.in_flight == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the server was still serving {self.in_flight} request(s)")
            time.sleep(0.01)

    def _record(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _sent(self, path: str, size: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + size


class _Handler(BaseHTTPRequestHandler):
    """Dispatch every method to the owner's route table."""

    server_owner: LocalServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _dispatch(self) -> None:
        owner = self.server_owner
        request = SeenRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            at=time.monotonic(),
        )
        owner._record(request)
        try:
            route = owner.routes.get(request.route)
            if route is None:
                reply = Reply(status=404, body=b"not found", content_type="text/plain")
            else:
                reply = route(request) if callable(route) else route
            self._send(reply, request.route)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        finally:
            owner._done()

    def _send(self, reply: Reply, route: str) -> None:
        """Write a reply, counting the body bytes written as they go."""
        owner = self.server_owner
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        names = {k.lower() for k in reply.headers}
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if isinstance(reply.body, bytes):
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
                owner._sent(route, len(reply.body))
            return
        if "content-length" not in names:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for chunk in reply.body:
            self.wfile.write(chunk)
            self.wfile.flush()
            owner._sent(route, len(chunk))

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch


def drip(data: bytes, interval: float) -> Iterator[bytes]:
    """Yield one byte every ``interval`` seconds (a slow-loris server)."""
    for i in range(len(data)):
        time.sleep(interval)
        yield data[i : i + 1]


def endless(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Yield ``total`` zero bytes lazily, ``chunk`` at a time (a "10 GB" body costs nothing)."""
    block = b"\0" * chunk
    left = total
    while left > 0:
        piece = block if left >= chunk else block[:left]
        left -= len(piece)
        yield piece


@pytest.fixture
def http_server() -> Iterator[Callable[..., LocalServer]]:
    """Factory fixture: ``http_server(host="127.0.0.1", port=0, tls=None)`` -> a started LocalServer."""
    servers: list[LocalServer] = []

    def make(host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None) -> LocalServer:
        server = LocalServer(host, port, tls=tls).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
