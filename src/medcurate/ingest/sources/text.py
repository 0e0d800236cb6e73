"""Free text, e-mail, posts and URL lists: every http(s) link in them, with Markdown or HTML link text.

URL finding is a regular expression plus trimming rules, hand-written because no installed library
handles the cases editors paste (Markdown links, ``<...>`` autolinks, Wikipedia parentheses,
trailing sentence punctuation) and linkify-style libraries would add a dependency for ~40 lines.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator

import lxml.etree

from medcurate.ingest.sources.common import (
    SourceEntry,
    SourceKind,
    SourceReport,
    collapse,
    html_tree,
    is_web_url,
)

# A URL runs until white space or a character that never appears unescaped in one as typed.
_URL_RE = re.compile(r"""https?://[^\s<>"`]+""", re.IGNORECASE)
# [title](url) with one level of balanced parentheses inside the URL (Wikipedia titles).
_MD_LINK_RE = re.compile(
    r"\[([^\[\]\n]+)\]\((https?://[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)[^)]*\)", re.IGNORECASE
)
_TRAILING_PUNCT = ".,;:!?'\"*…。，、；：！？"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_HTML_HINT_RE = re.compile(r"<(?:a\s|html\b|body\b|p\b|div\b|br\b|table\b|span\b|ul\b|li\b)", re.IGNORECASE)
_HEADER_LINE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_MAIL_HEADERS = ("from:", "mime-version:", "content-type:", "subject:", "message-id:")
_URL_LINE_RE = re.compile(r"^<?(https?://\S+?)>?(?:\s+#.*)?$", re.IGNORECASE)


def _trim_url(raw: str) -> str:
    """Drop trailing sentence punctuation and unbalanced closing brackets."""
    url = raw
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)
        if last in _TRAILING_PUNCT or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _links_in_plain(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield (url, markdown link title or None) for each URL in plain text, in order."""
    titles: dict[str, str | None] = {}
    for match in _MD_LINK_RE.finditer(text):
        titles.setdefault(_trim_url(match.group(2)), collapse(match.group(1)))
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if is_web_url(url):
            yield url, titles.get(url)


def _links_in_html(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield (url, anchor text) for hrefs and bare URLs of an HTML document, in document order."""
    try:
        tree = html_tree(text)
    except lxml.etree.ParserError:  # nothing parseable: treat as plain text
        yield from _links_in_plain(text)
        return
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            if isinstance(el.tail, str):
                yield from _links_in_plain(el.tail)
            continue
        href = el.get("href") if el.tag == "a" else None
        if href and is_web_url(href.strip()):
            label = collapse(el.text_content())
            # Anchor text that is itself a URL is not a title (mail trackers wrap the real link).
            yield href.strip(), None if label is None or _URL_RE.match(label) else label
        for chunk in (el.text, el.tail):
            if chunk:
                yield from _links_in_plain(chunk)


def _mail_bodies(text: str) -> list[str] | None:
    """The decoded text and HTML bodies of a raw e-mail (RFC 5322), or None when it is not one."""
    head = text.lstrip().split("\n\n", 1)[0].split("\n")
    if not head or not _HEADER_LINE_RE.match(head[0]):
        return None
    if not any(line.lower().startswith(_MAIL_HEADERS) for line in head):
        return None
    message = email.message_from_string(text, policy=email.policy.default)
    bodies = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text" or part.is_attachment():
            continue
        try:
            bodies.append(str(part.get_content()))
        except (LookupError, UnicodeError):  # an unknown or lying charset
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                bodies.append(payload.decode("utf-8", "replace"))
    return bodies


def is_url_list(text: str) -> bool:
    """True when every non-blank line is a ``#`` comment or one URL (optionally with a comment)."""
    seen_url = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not _URL_LINE_RE.match(stripped):
            return False
        seen_url = True
    return seen_url


def _links_from_text(text: str) -> list[tuple[str, str | None]]:
    """(url, title) pairs of any free text, de-duplicated in order; the first title seen wins."""
    text = text.lstrip("\ufeff")
    if is_url_list(text):
        text = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("#"))
        text = re.sub(r"[ \t]+#.*", "", text)
    bodies = _mail_bodies(text) or [text]
    found: dict[str, str | None] = {}
    for body in bodies:
        pairs = _links_in_html(body) if _HTML_HINT_RE.search(body) else _links_in_plain(body)
        for url, title in pairs:
            if found.get(url) is None:
                found[url] = title
    return list(found.items())


def urls_from_text(text: str) -> list[str]:
    """Every http(s) URL in free text (plain, HTML, Markdown, a raw e-mail or a URL list), in order, once.

    Args:
        text: an e-mail, a post, a Markdown note, an HTML fragment, or one URL a line with ``#`` comments.

    Returns:
        The URLs with trailing punctuation and unbalanced closing brackets removed.
    """
    return [url for url, _ in _links_from_text(text)]


def parse_text(text: str, *, origin: str) -> SourceReport:
    """Entries for the URLs in free text or a URL list; Markdown and HTML link text become titles."""
    kind = SourceKind.URL_LIST if is_url_list(text.lstrip("\ufeff")) else SourceKind.TEXT
    entries = tuple(
        SourceEntry(url=url, title=title, kind=kind, origin=origin) for url, title in _links_from_text(text)
    )
    problems = () if entries else ("no http(s) links found",)
    return SourceReport(kind=kind, origin=origin, entries=entries, problems=problems)
