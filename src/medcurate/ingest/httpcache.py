"""On-disk HTTP cache for the fetcher: decoded bodies and headers keyed by URL hash, revalidated every time.

Public API::

    HttpCache(directory)
    HttpCache.load(url) -> CachedResponse | None
    HttpCache.store(url, *, status, headers, body) -> bool
    CachedResponse.conditional_headers() -> dict[str, str]     # If-None-Match / If-Modified-Since

Each entry is two files, ``<sha256(url)>.json`` (URL, status, headers, time stored) and
``<sha256>.body``, each written to a temporary file and renamed so a crash never leaves half an entry.
Only 200 answers carrying a validator (ETag or Last-Modified) and not marked ``no-store`` are kept;
there is no freshness logic: every use sends a conditional request, and a 304 serves the stored
body. Hand-written rather than a caching transport (e.g. hishel) because the cache has to sit
behind the fetcher's size and decompression guards and store the *decoded* body.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Headers that describe the transfer, not the content; a stored decoded body must not carry them.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True, kw_only=True)
class CachedResponse:
    """One stored answer."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    stored_at: datetime

    def conditional_headers(self) -> dict[str, str]:
        """The request headers that ask the server whether this copy is still current."""
        out: dict[str, str] = {}
        if "etag" in self.headers:
            out["If-None-Match"] = self.headers["etag"]
        if "last-modified" in self.headers:
            out["If-Modified-Since"] = self.headers["last-modified"]
        return out


def _atomic_write(path: Path, data: bytes) -> None:
    """Write a file by rename so readers never see it half written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class HttpCache:
    """A directory of cached responses."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _paths(self, url: str) -> tuple[Path, Path]:
        """The metadata and body file of a URL's entry."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.directory / f"{digest}.json", self.directory / f"{digest}.body"

    def load(self, url: str) -> CachedResponse | None:
        """The stored answer for a URL, or None (absent, unreadable or for another URL)."""
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != url or meta.get("size") != len(body):
            return None
        return CachedResponse(
            url=url,
            status=int(meta["status"]),
            headers={str(k): str(v) for k, v in dict(meta["headers"]).items()},
            body=body,
            stored_at=datetime.fromisoformat(str(meta["stored_at"])),
        )

    def store(self, url: str, *, status: int, headers: Mapping[str, str], body: bytes) -> bool:
        """Keep an answer if it can be revalidated later; say whether it was kept."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if status != 200 or "no-store" in lowered.get("cache-control", "").lower():
            return False
        if "etag" not in lowered and "last-modified" not in lowered:
            return False
        kept = {k: v for k, v in lowered.items() if k not in _TRANSFER_HEADERS}
        self.directory.mkdir(parents=True, exist_ok=True)
        meta_path, body_path = self._paths(url)
        meta = {
            "url": url,
            "status": status,
            "headers": kept,
            "size": len(body),
            "stored_at": datetime.now(UTC).isoformat(),
        }
        # Body first: a metadata file whose size does not match its body is ignored by load().
        _atomic_write(body_path, body)
        _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        return True
