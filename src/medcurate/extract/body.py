"""The article body: trafilatura's XML body rendered to plain-text blocks, minus page furniture."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml.etree import Element
from lxml.html import HtmlElement

_CONTAINERS = frozenset({"body", "div", "list", "table", "article", "section", "main", "doc"})
_INLINE = frozenset({"ref", "hi", "lb", "del", "span", "a", "em", "strong", "b", "i", "sub", "sup"})
SKIPPED_TAGS = frozenset({"graphic", "figure", "fw", "note"})
WHITESPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# The furniture of news pages, matched at the start of a short block only.
_BOILERPLATE_STARTS = (
    r"related( (stories|articles|posts|content|coverage|reading))?\s*:",
    r"(read|see) (more|also|next)\b",
    r"also (read|on|see)\b",
    r"more from\b",
    r"recommended( for you)?\s*:",
    r"(advertisement|sponsored)$",
    r"sign up (for|to) (our|the|my|a free)\b",
    r"sign up (now|today|here)\b",
    r"subscribe (to|for|now)\b",
    r"follow (us|him|her|them|the author)\b",
    r"share this\b",
    r"click here\b",
    r"like this (story|article|post)\b",
    r"get the latest\b",
    r"(image|photo|picture) (credit|courtesy)\b",
    r"copyright\b",
    r"©",
    r"all rights reserved",
    r"(\d+ )?comments?\W*$",
    r"(post|leave|add) (a |your )?(comment|reply)\b",
    r"tell us what you think\b",
    r"have a (news )?tip\b",
    r"\d+\s*min(ute)?s?\s+read\b",
    r"(estimated )?reading time\b",
)
# "Updated at 1:23 p.m.", "First Published: Tuesday, November 19, 2019": a dateline, not text.
_DATELINE = re.compile(r"\b(updated|published|posted|last modified)\b", re.IGNORECASE)
_DATELINE_MAX_WORDS = 12
# Headers of the "more stories" sections that follow many articles: everything after such a line is
# teasers when it sits in the last part of the text and only short blocks follow it.
_TEASER_HEADERS = re.compile(
    r"^\W*(you (may|might) also like|related( (stories|articles|posts|coverage|content|links))?"
    r"|more (stories|news|on this|from|to read)\b.*|more|recommended( for you| reading)?|read (more|next)"
    r"|trending( now| stories)?|most (popular|read)|popular (now|stories)|latest (news|stories)"
    r"|around the web|what to read next|don't miss)\W*$",
    re.IGNORECASE,
)
_TEASER_MAX_CHARS = 250
_LEAD_BLOCKS = 3  # how far into the body a repeated headline or standfirst is looked for
_TEASER_MIN_SHARE = 0.5
_BOILERPLATE = re.compile(r"^\W*(" + "|".join(_BOILERPLATE_STARTS) + ")", re.IGNORECASE)
_BOILERPLATE_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class Block:
    """One rendered block of the body: its element, its plain text."""

    element: Any
    text: str


def _clean_line(text: str) -> str:
    """Collapse runs of spaces inside each line, drop empty lines."""
    lines = (WHITESPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _element_text(element: Any) -> str:
    """Plain text of an element, with ``<lb/>`` as a line break and table cells space-separated."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.tag == "lb":
            parts.append("\n")
        elif node.tag == "cell":
            parts.append(" ")
        if node.text and node.tag not in SKIPPED_TAGS:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return _clean_line("".join(parts))


def _has_block_children(element: Any) -> bool:
    """Tell whether an element holds blocks (paragraphs, lists...) rather than inline text."""
    return any(
        child.tag in _CONTAINERS or child.tag in {"p", "head", "quote", "item", "row"} for child in element
    )


def _is_layout(element: Any) -> bool:
    """Tell whether an element only wraps blocks (no text of its own before them)."""
    return _has_block_children(element) and not (element.text or "").strip()


def _iter_blocks(element: Any) -> Iterator[Any]:
    """Yield the leaf blocks of a body tree in document order.

    Loose text and inline elements (links, emphasis) between blocks are gathered into a synthetic
    ``<p>``, so that a link in the middle of unwrapped text does not split a sentence in two.
    """
    loose = Element("p")
    loose.text = element.text

    def flush() -> Iterator[Any]:
        nonlocal loose
        if (loose.text or "").strip() or len(loose):
            yield loose
        loose = Element("p")

    for child in element:
        if child.tag in _INLINE:
            loose.append(deepcopy(child))
            continue
        yield from flush()
        if child.tag in SKIPPED_TAGS:
            pass
        elif (
            child.tag in _CONTAINERS
            or (child.tag in {"quote", "item", "cell"} and _is_layout(child))
            # a layout table: cells that hold paragraphs are read as blocks, not as one row of text
            or (child.tag == "row" and any(_is_layout(cell) for cell in child))
        ):
            yield from _iter_blocks(child)
        else:
            yield child
        loose.text = child.tail
    yield from flush()


_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Lower-case alphanumerics only, for loose comparisons."""
    return _NOT_ALNUM.sub("", text.lower())


def body_blocks(
    body: Any, *, titles: tuple[str, ...], standfirsts: tuple[str, ...] = (), drop_boilerplate: bool = True
) -> list[Block]:
    """Render the body's blocks to text, dropping a repeated headline, the standfirst and page furniture.

    ``titles`` are the page's headline variants; ``standfirsts`` its descriptions: a heading at the top
    of the body that repeats one of them is the standfirst (dek), a field of its own. A *paragraph*
    that repeats the description stays, as many pages take their description from the first paragraph.
    """
    blocks = [Block(el, text) for el in _iter_blocks(body) if (text := _element_text(el))]
    if not drop_boilerplate:
        return blocks
    heads = {n for n in map(normalise, titles) if n}
    deks = {n for n in map(normalise, standfirsts) if n}
    lead = 0
    while lead < len(blocks) and lead < _LEAD_BLOCKS:
        norm = normalise(blocks[lead].text)
        if norm in heads or (blocks[lead].element.tag == "head" and norm in deks):
            del blocks[lead]
        elif is_prose(blocks[lead].text) and blocks[lead].element.tag == "p":
            break
        else:
            lead += 1
    return _cut_teasers([b for b in blocks if not _is_furniture(b.text)])


def _cut_teasers(blocks: list[Block]) -> list[Block]:
    """Drop a trailing "You may also like" section: its header and the short teasers after it."""
    total = sum(len(b.text) for b in blocks)
    before = 0
    for index, block in enumerate(blocks):
        if (
            index
            and _TEASER_HEADERS.match(block.text)
            and before >= _TEASER_MIN_SHARE * total
            and all(len(b.text) <= _TEASER_MAX_CHARS for b in blocks[index + 1 :])
        ):
            return blocks[:index]
        before += len(block.text)
    return blocks


def _is_furniture(text: str) -> bool:
    """Tell a short "Related: ...", "Sign up for ..." or dateline block from article text."""
    if len(text) > _BOILERPLATE_MAX_CHARS:
        return False
    if _BOILERPLATE.match(text):
        return True
    return (
        len(text.split()) <= _DATELINE_MAX_WORDS
        and any(ch.isdigit() for ch in text)
        and bool(_DATELINE.search(text))
    )


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]?\s+")
_PROSE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_PROSE_MIN_WORDS = 12


def is_prose(text: str) -> bool:
    """Tell a sentence-like paragraph from a byline, dateline or label."""
    return len(text.split()) >= _PROSE_MIN_WORDS or bool(_PROSE_END.search(text))


def truncate_paragraph(text: str, limit: int) -> str:
    """Cut plain text at the last sentence end before ``limit`` (else at a word)."""
    if len(text) <= limit:
        return text
    cut = [m.start() for m in _SENTENCE_END.finditer(text) if m.start() <= limit]
    if cut:
        return text[: cut[-1]].rstrip()
    if limit < 40:
        return ""
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def source_paragraphs(tree: HtmlElement, wanted: set[str]) -> dict[str, HtmlElement]:
    """Find the page's own ``<p>`` elements whose text matches the wanted (normalised) block texts."""
    found: dict[str, HtmlElement] = {}
    for para in tree.iter("p"):
        norm = normalise(para.text_content())
        if norm in wanted and norm not in found:
            found[norm] = para
            if len(found) == len(wanted):
                break
    return found


_CHUNK_MIN_CHARS = 200
_CHUNK_MIN_MEAN_CHARS = 60


def merge_split_body(blocks: list[Block], sources: dict[str, HtmlElement]) -> list[Block]:
    """Append the rest of an article that the page split into sibling chunks.

    Many news templates cut the body into repeated containers with advertising between them
    (``<div class="article__body">`` several times over); trafilatura keeps the first. When most of the
    extracted paragraphs sit in one container with a class, later elements with the same tag and
    class under a parent of the same kind are read too, if their own paragraphs are prose-sized.
    """
    parents = Counter(p.getparent() for p in sources.values() if p.getparent() is not None)
    if not parents:
        return blocks
    container, count = parents.most_common(1)[0]
    css_class, up = container.get("class"), container.getparent()
    if not css_class or up is None or 2 * count < len(sources):
        return blocks
    seen = {normalise(b.text) for b in blocks}
    extra: list[Block] = []
    after = False
    for element in container.getroottree().iter(container.tag):
        if element is container:
            after = True
            continue
        parent = element.getparent()
        if not after or element.get("class") != css_class or parent is None:
            continue
        if (parent.tag, parent.get("class")) != (up.tag, up.get("class")):
            continue
        texts = [_clean_line(p.text_content()) for p in element.iterchildren("p")]
        texts = [t for t in texts if t and normalise(t) not in seen and not _is_furniture(t)]
        if sum(map(len, texts)) < max(_CHUNK_MIN_CHARS, _CHUNK_MIN_MEAN_CHARS * len(texts)):
            continue
        for text in texts:
            seen.add(normalise(text))
            paragraph = Element("p")
            paragraph.text = text
            extra.append(Block(paragraph, text))
    return blocks + extra
