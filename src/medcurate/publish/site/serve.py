"""Preview a built site locally: the standard library's static file server, bound to 127.0.0.1.

``http.server`` is enough for a preview (the site is plain files); the only addition is that a
missing page answers with the site's own ``404.html``.
"""

from __future__ import annotations

from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files from the site directory, with the site's 404 page and quiet logs."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a 404 with the site's own page when it has one."""
        page = Path(str(self.directory)) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log (the CLI prints where to look instead)."""
        del format, args


def make_server(
    directory: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """A server for ``directory`` on ``host:port`` (port 0 picks a free one); call ``serve_forever``."""
    handler = partial(SiteRequestHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)
