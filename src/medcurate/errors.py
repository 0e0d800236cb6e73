"""One exception tree for the whole package.

::

    MedcurateError
     ├── ConfigError             a setting or the TOML configuration is wrong
     ├── SourceError             an input (feed, OPML, bookmarks, URL list, saved page) cannot be read
     ├── FrontMatterError        a Markdown file's front matter cannot be read
     ├── StorageError            the database refused an operation
     │    ├── NotFound           no such item, user or token
     │    ├── Conflict           the thing already exists (a username, a source)
     │    └── SchemaOutOfDate    the database is at another revision than the code
     ├── FetchError              a URL could not be fetched
     │    ├── BlockedURL         refused before connecting (scheme, SSRF guard, robots.txt)
     │    ├── TooLarge           the body passed the size cap, or decompressed past it
     │    ├── FetchTimeout       connect, read or total deadline passed
     │    ├── TooManyRedirects   a redirect loop or an over-long chain
     │    ├── HTTPStatusError    the server answered with an error status
     │    └── UnsupportedContent neither HTML nor PDF
     ├── ExtractionError         a page held no usable article
     ├── SuggestError            the suggestion model cannot be trained or loaded
     ├── PublishError            a site or export could not be written
     ├── InvalidInput            a value a person typed is not acceptable (a weak password, a bad role)
     │    └── InvalidURL         a text that is no usable URL (also a ValueError)
     └── AuthError               sign-in, role or token refused
          ├── PermissionDenied   signed in, but the role may not do this
          └── RateLimited        too many failed sign-ins; wait and try again

A page that is a duplicate or not an article is a *result* of a stage, never an exception.
"""

from __future__ import annotations

import re


class MedcurateError(Exception):
    """Base of every error medcurate raises on purpose; ``str()`` says what to do."""

    def __init__(self, message: str, *, stage: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.url = url

    def __str__(self) -> str:
        where = f" [{self.url}]" if self.url else ""
        return f"{self.message}{where}"


class ConfigError(MedcurateError):
    """A setting or the TOML configuration is wrong."""


class SourceError(MedcurateError):
    """An input file or fetched feed (feed, OPML, bookmarks, URL list, saved page) cannot be read."""

    def __init__(self, message: str, *, origin: str | None = None) -> None:
        super().__init__(message, stage="sources")
        self.origin = origin

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}" if self.origin else self.message


class FrontMatterError(MedcurateError):
    """A Markdown file's front matter is missing or is not a YAML mapping."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message, stage="frontmatter")
        self.path = path


class StorageError(MedcurateError):
    """The database refused an operation."""


class NotFound(StorageError):
    """No such item, user, token or batch."""


class Conflict(StorageError):
    """The thing to create already exists (a username, a source location)."""


class SchemaOutOfDate(StorageError):
    """The database's schema is behind (or ahead of) the code: ``medcurate db upgrade`` brings it."""


class FetchError(MedcurateError):
    """A URL could not be fetched."""

    def __init__(self, message: str, *, url: str | None = None, stage: str = "fetch") -> None:
        super().__init__(message, stage=stage, url=url)


class BlockedURL(FetchError):
    """Refused before connecting: a scheme other than http(s), a private address, or robots.txt."""


class TooLarge(FetchError):
    """The body passed the size cap while streaming, or decompressed past it."""


class FetchTimeout(FetchError):
    """The connect, read or total deadline passed."""


class TooManyRedirects(FetchError):
    """A redirect loop, or a chain longer than the limit."""


class HTTPStatusError(FetchError):
    """The server answered with an error status after all retries."""

    def __init__(self, message: str, *, url: str | None = None, status_code: int = 0) -> None:
        super().__init__(message, url=url)
        self.status_code = status_code


class UnsupportedContent(FetchError):
    """The response is neither HTML nor PDF."""


class ExtractionError(MedcurateError):
    """A page held no usable article text or metadata."""


class SuggestError(MedcurateError):
    """The suggestion model cannot be trained, saved or loaded."""


class PublishError(MedcurateError):
    """A site build or an export could not be written."""


class InvalidInput(MedcurateError):
    """A value a person supplied is not acceptable (a weak password, an unknown role or state)."""


class InvalidURL(InvalidInput, ValueError):
    """A text that cannot be read as a URL (``http://[``); a ``ValueError`` too, as ``urlsplit``'s was."""


class AuthError(MedcurateError):
    """Sign-in, session or token refused."""


class PermissionDenied(AuthError):
    """Signed in, but the user's role may not do this."""


class RateLimited(AuthError):
    """Too many failed sign-ins for this user or address; wait before trying again."""


# "BlockedURL: refused: ..." -- the class heads a stored reason (metrics group failures by it).
# A CamelCase word with two capitals or more ("ConnectError", "HTTPStatusError"), then ": ".
_CLASS_HEAD = re.compile(r"^(?=[A-Za-z0-9]*[a-z])[A-Z][a-z0-9]*[A-Z][A-Za-z0-9]*: ")


def plain_reason(reason: str) -> str:
    """A stored failure reason as people read it: without the Python class names that head it."""
    text = reason.strip()
    while (match := _CLASS_HEAD.match(text)) is not None:
        text = text[match.end() :]
    return text
