"""robots.txt rules: read a host's file into rules, and answer "may this agent fetch this URL?".

Public API::

    RobotsRules.from_response(status, body) -> RobotsRules   # RFC 9309 status handling
    RobotsRules.allows(url, agent) -> bool
    RobotsRules.crawl_delay(agent) -> float | None
    robots_url(url) -> str                                   # where a URL's robots.txt lives

Parsing is the standard library's ``urllib.robotparser``; fetching the file is ``session``'s job so
that it goes through the same SSRF guard, throttle and size cap as every other request. Status
handling follows RFC 9309: 2xx -> the file's rules, 4xx -> no rules (allow all), 5xx or no answer ->
disallow all, since the host may be overloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

# RFC 9309 asks parsers to read at least 500 KiB; anything beyond is ignored.
MAX_ROBOTS_BYTES = 512 * 1024


def robots_url(url: str) -> str:
    """The robots.txt URL for a URL's scheme, host and port."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


@dataclass(frozen=True, kw_only=True)
class RobotsRules:
    """One host's robots.txt rules (or the all-allow / all-disallow stand-ins)."""

    allow_all: bool = False
    disallow_all: bool = False
    source: str = ""
    _parser: RobotFileParser | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_text(cls, text: str, *, source: str = "robots.txt") -> RobotsRules:
        """Rules parsed from a robots.txt body."""
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        return cls(source=source, _parser=parser)

    @classmethod
    def from_response(cls, status: int, body: bytes, *, source: str = "robots.txt") -> RobotsRules:
        """Rules for a robots.txt answer, by RFC 9309's status rules."""
        if 200 <= status < 300:
            text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace").lstrip("\ufeff")
            return cls.from_text(text, source=source)
        if 400 <= status < 500:
            return cls(allow_all=True, source=f"{source} (HTTP {status}: no rules)")
        return cls(disallow_all=True, source=f"{source} (HTTP {status}: host unavailable)")

    @classmethod
    def unreachable(cls, reason: str) -> RobotsRules:
        """Rules when robots.txt could not be fetched at all: disallow all (RFC 9309)."""
        return cls(disallow_all=True, source=f"robots.txt unreachable ({reason})")

    def allows(self, url: str, agent: str) -> bool:
        """Say whether ``agent`` may fetch ``url``."""
        if self.allow_all:
            return True
        if self.disallow_all or self._parser is None:
            return False
        return self._parser.can_fetch(agent, url)

    def crawl_delay(self, agent: str) -> float | None:
        """The Crawl-delay the file asks of ``agent``, in seconds, if any."""
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(agent)
        return float(delay) if delay is not None else None
