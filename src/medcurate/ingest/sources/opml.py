"""OPML subscription lists: each outline's ``xmlUrl`` is a feed to fetch next; folders become tags.

Parsed with lxml with entity resolution, DTD loading and network access all off, so a hostile file
can neither expand entities nor make the parser fetch anything.
"""

from __future__ import annotations

import re

import lxml.etree

from medcurate.errors import SourceError
from medcurate.ingest.sources.common import (
    SourceEntry,
    SourceKind,
    SourceReport,
    absolute_http_url,
    collapse,
    local_name,
    safe_xml_parser,
)


def parse_opml(data: bytes, *, origin: str) -> SourceReport:
    """The feeds an OPML file lists (``xmlUrl`` of any outline, however nested); folders become tags.

    Raises:
        SourceError: the bytes are not well-formed XML, or the root element is not ``<opml>``.
    """
    try:
        root = lxml.etree.fromstring(data, parser=safe_xml_parser())
    except lxml.etree.XMLSyntaxError as err:
        raise SourceError(f"not well-formed XML, so not OPML: {err}", origin=origin) from err
    if local_name(root.tag) != "opml":
        raise SourceError(f"XML root is <{local_name(root.tag)}>, expected <opml>", origin=origin)
    entries, problems = [], []
    for outline in root.iter("{*}outline"):
        attrs = {k.lower(): v for k, v in outline.attrib.items()}
        if "xmlurl" not in attrs:
            continue
        url = absolute_http_url(attrs["xmlurl"], None)
        label = collapse(attrs.get("title") or attrs.get("text"))
        if url is None:
            problems.append(f"outline {label!r} has xmlUrl {attrs['xmlurl']!r}, not an http(s) URL; skipped")
            continue
        folders = [
            collapse(a.get("title") or a.get("text"))
            for a in outline.iterancestors()
            if local_name(a.tag) == "outline"
        ]
        categories = [c.strip() for c in re.split(r"[,/]", attrs.get("category", "")) if c.strip()]
        tags = tuple(dict.fromkeys([f for f in reversed(folders) if f] + categories))
        entries.append(
            SourceEntry(
                url=url,
                kind=SourceKind.OPML,
                origin=origin,
                title=label,
                summary=collapse(attrs.get("description")),
                tags=tags,
                lists_sources=True,
            )
        )
    if not entries:
        problems.append("no outline has an xmlUrl: nothing to subscribe to")
    return SourceReport(kind=SourceKind.OPML, origin=origin, entries=tuple(entries), problems=tuple(problems))
