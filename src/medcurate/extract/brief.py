"""The brief: the article's lead paragraphs as sanitised HTML."""

from __future__ import annotations

import html
import re
from copy import deepcopy
from typing import Any

import nh3
from lxml.html import HtmlElement, tostring

from medcurate.extract.body import SKIPPED_TAGS, Block, is_prose, normalise, truncate_paragraph
from medcurate.extract.meta import absolute_url
from medcurate.extract.types import ExtractOptions

_BRIEF_TAGS = {"p", "br", "a", "em", "strong", "ul", "ol", "li", "blockquote"}


def _inline_text_html(node: Any) -> str:
    """Serialise a body element's text to HTML, with ``<lb/>`` as ``<br>``."""
    out: list[str] = [html.escape(node.text or "", quote=False)]
    for child in node:
        if child.tag == "lb":
            out.append("<br>")
        elif child.tag not in SKIPPED_TAGS:
            out.append(_inline_text_html(child))
        out.append(html.escape(child.tail or "", quote=False))
    return "".join(out)


def _block_html(element: Any) -> str | None:
    """Render one body block as brief HTML; ``None`` for blocks a brief leaves out (headings, tables)."""
    tag = element.tag
    if tag == "p":
        return f"<p>{_inline_text_html(element).strip()}</p>"
    if tag == "quote":
        return f"<blockquote>{_inline_text_html(element).strip()}</blockquote>"
    if tag == "item":
        parent = element.getparent()
        kind = "ol" if parent is not None and parent.get("rend", "").startswith("ol") else "ul"
        return f"<{kind}><li>{_inline_text_html(element).strip()}</li></{kind}>"
    return None


def sanitise_html(fragment: str) -> str:
    """Keep only the brief's allow-listed tags, ``a[href]`` with web or mail links."""
    return nh3.clean(
        fragment,
        tags=_BRIEF_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


def _source_html(para: HtmlElement, base_url: str | None) -> str:
    """Serialise a page paragraph with absolute links, ready for sanitising."""
    para = deepcopy(para)
    para.tail = None
    for link in para.iter("a"):
        href = absolute_url(link.get("href"), base_url)
        if href is None:
            link.drop_tag()  # a javascript: or empty link keeps its words, loses the anchor
        else:
            link.set("href", href)
    return str(tostring(para, encoding="unicode", with_tail=False))


def _tidy_html(fragment: str) -> str:
    """Collapse the source's indentation and line breaks (a brief holds no ``<pre>``)."""
    fragment = re.sub(r"\s+", " ", fragment)
    return re.sub(r"\s*(</?(?:p|li|ul|ol|blockquote)>|<br>)\s*", r"\1", fragment).strip()


def build_brief(
    blocks: list[Block], sources: dict[str, HtmlElement], base_url: str | None, options: ExtractOptions
) -> str:
    """The first paragraphs as sanitised HTML, about min..max characters, ending at a block boundary.

    trafilatura's body has no links (its link mode splits paragraphs and costs text quality), so a
    paragraph is taken from the page itself when the page has a ``<p>`` with the same text; links
    and emphasis survive, and nh3 keeps only the allow-list.
    """
    # bylines and datelines ("By Jo Doe | June 14, 2021") often head a body; a brief starts at prose
    start = next((i for i, b in enumerate(blocks) if is_prose(b.text)), 0)
    lead = blocks[start : start + 12]
    parts: list[str] = []
    size = 0
    for block in lead:
        source = sources.get(normalise(block.text)) if block.element.tag == "p" else None
        rendered = _source_html(source, base_url) if source is not None else _block_html(block.element)
        if rendered is None:
            if parts:
                break  # a heading ends the lead
            continue
        rendered = _tidy_html(sanitise_html(rendered))
        room = options.brief_max_chars - size
        if len(rendered) > room:
            if size < options.brief_min_chars:
                # too long to take whole: its first sentences fill the brief up to the limit
                text = truncate_paragraph(block.text, room - len("<p></p>"))
                if text:
                    parts.append(f"<p>{html.escape(text, quote=False)}</p>")
            break
        parts.append(rendered)
        size += len(rendered)
        if size >= options.brief_min_chars:
            break
    # adjacent single-item lists from consecutive items merge back into one list
    return re.sub(r"</(ul|ol)><\1>", "", "".join(parts))
