"""Refuse JSON request bodies nested too deep, before anything parses them.

Python's ``json`` recurses, and a body nested past its limit raised ``RecursionError``, which
FastAPI answers with a bare 400 (and, below that limit, the codec's own recursion failed with a 500).
This ASGI middleware reads a JSON body once, measures its nesting without recursion and without
building it, and answers 422 naming the limit; otherwise it hands the same bytes on. Written by
hand: it is a few lines of ASGI, and no library measures JSON nesting without parsing it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medcurate.validation import MAX_NESTING

# The body's own object and the ``front_matter`` key around the front matter's own levels.
MAX_BODY_NESTING = MAX_NESTING + 2
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def json_nesting(body: bytes, *, stop_past: int) -> int:
    """How deep ``body``'s arrays and objects nest (strings skipped), counting up to ``stop_past + 1``."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > stop_past:
                break
    return deepest


class JSONDepthGuard:
    """Answer 422 to a JSON body nested deeper than ``MAX_BODY_NESTING``."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_NESTING) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Measure the body of a JSON request with a body, then pass it on unchanged."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_nesting(body, stop_past=self.limit) > self.limit:
            await _refuse(send, self.limit)
            return
        replayed = _replay([{"type": "http.request", "body": body, "more_body": False}], receive)
        await self.app(scope, replayed, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _replay(messages: list[Message], then: Receive) -> Receive:
    """A ``receive`` that gives ``messages`` first, then the connection's own (its disconnect)."""
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0) if queue else await then()

    return receive


async def _refuse(send: Send, limit: int) -> None:
    detail: Any = [
        {
            "type": "too_deep",
            "loc": ["body"],
            "msg": f"the JSON body nests deeper than {limit} levels; front matter may nest {MAX_NESTING}",
        }
    ]
    payload = json.dumps({"detail": detail}).encode("ascii")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
