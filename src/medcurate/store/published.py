"""The site build's reads: every item's revision in key order, then the content of the items it needs.

A build compares revisions with its own state in one pass, so they come sorted by ``md_name`` in
code point order whatever the database's collation (``COLLATE "C"`` on PostgreSQL; SQLite compares
bytes), streamed from the server rather than read whole. The content of a batch of items is one
query by key. A build that finds the store's summary (``published_summary``) as it left it reads
no item at all, and one that follows a few saves asks for the items saved since (``changed_since``)
through the ``updated_at`` index.

On SQLite every read here goes through ``_unmapped``: a connection that reads the file with
``pread`` instead of the memory map the store's other connections use (``db.SQLITE_MMAP_BYTES``).
A full build reads every item once; mapped, each page it touched would stay in the build process's
resident memory (up to the map's 256 MB), while read, it passes through SQLite's small page cache
and leaves the rest to the operating system's file cache, shared with every process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, func, literal, select

from medcurate.models import (
    URL_FIELDS,
    CuratedItem,
    ItemState,
    Variant,
    content_revision,
    featured_image_href,
)
from medcurate.store.db import SQLITE_MMAP_BYTES, Database
from medcurate.store.models import ItemRecord

STREAM_ROWS = 5000  # rows fetched from the server at a time


@dataclass(frozen=True, slots=True)
class StoredRevision:
    """An item's identity and content revision, without its content."""

    md_name: str
    community: str | None
    revision: str
    featured_image: str | None


@dataclass(frozen=True, slots=True)
class StoredContent:
    """An item's content, with the revision and community stored beside it."""

    item: CuratedItem
    community: str | None
    revision: str


@contextmanager
def _unmapped(database: Database) -> Iterator[Connection]:
    """A connection of ``database`` that does not memory-map an SQLite file while it is lent out."""
    with database.engine.connect() as connection:
        if database.engine.dialect.name != "sqlite":
            yield connection
            return
        connection.exec_driver_sql("PRAGMA mmap_size=0")
        try:
            yield connection
        finally:  # the pool lends the connection to others next: they read mapped, as configured
            connection.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")


def item_revisions(database: Database, *, states: Sequence[ItemState]) -> Iterator[StoredRevision]:
    """The revision of every item in ``states``, by ``md_name`` in code point order, streamed."""
    key = ItemRecord.md_name
    if database.engine.dialect.name == "postgresql":
        key = key.collate("C")  # type: ignore[assignment]
    statement = (
        select(ItemRecord.md_name, ItemRecord.community, ItemRecord.revision, ItemRecord.featured_image)
        .where(ItemRecord.state.in_([state.value for state in states]))
        .order_by(key)
    )
    with _unmapped(database) as connection:
        result = connection.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(statement)
        for md_name, community, revision, featured_image in result:
            if revision is None:
                # A row written around the application (by hand, by a release before revisions):
                # its content tells its revision.
                found = item_contents(database, keys=[md_name]).get(md_name)
                if found is None:
                    continue
                revision = found.revision
                featured_image = featured_image_href(found.item.front_matter)
            yield StoredRevision(md_name, community, revision, featured_image)


def item_contents(database: Database, *, keys: Sequence[str]) -> dict[str, StoredContent]:
    """The items with these ``md_name`` keys, each with its stored revision."""
    statement = select(
        ItemRecord.md_name,
        ItemRecord.front_matter,
        ItemRecord.body,
        ItemRecord.variant,
        ItemRecord.source_path,
        ItemRecord.community,
        ItemRecord.revision,
    ).where(ItemRecord.md_name.in_(list(keys)))
    found: dict[str, StoredContent] = {}
    with _unmapped(database) as connection:
        for md_name, matter, body, variant, source_path, community, revision in connection.execute(statement):
            item = CuratedItem(
                front_matter=matter, body=body or "", variant=Variant(variant), source_path=source_path
            )
            revision = revision or content_revision(variant, matter, body or "")
            found[md_name] = StoredContent(item=item, community=community, revision=revision)
    return found


def item_url_fields(
    database: Database, *, keys: Sequence[str]
) -> dict[str, tuple[str | None, str | None, str | None] | None]:
    """The ``URL_FIELDS`` of the items with these keys, read in the database without their content.

    An item's entry is None when one of them is neither text nor absent: validating its front
    matter tells what it becomes. Keys not in the store are left out.
    """
    postgresql = database.engine.dialect.name == "postgresql"
    column = ItemRecord.front_matter
    selected = []
    for name in (name for pair in URL_FIELDS for name in pair):
        if postgresql:
            key = literal(name, String())  # not the column's JSON type: a key is text
            selected += [func.json_typeof(column.op("->")(key)), column.op("->>", return_type=String())(key)]
        else:
            path = f'$."{name}"'
            selected += [func.json_type(column, path), func.json_extract(column, path)]
    statement = select(ItemRecord.md_name, *selected).where(ItemRecord.md_name.in_(list(keys)))
    found: dict[str, tuple[str | None, str | None, str | None] | None] = {}
    with _unmapped(database) as connection:
        for md_name, *typed in connection.execute(statement):
            values: list[str | None] = []
            for position in range(len(URL_FIELDS)):
                # The key itself when present (null included), else the other name.
                kind, value = typed[4 * position : 4 * position + 2]
                if kind is None:
                    kind, value = typed[4 * position + 2 : 4 * position + 4]
                if kind not in (None, "null", "text", "string"):
                    values = []
                    break
                values.append(value if kind in ("text", "string") else None)
            found[md_name] = (values[0], values[1], values[2]) if values else None
    return found


def published_summary(database: Database, *, states: Sequence[ItemState]) -> str:
    """A token that changes whenever the set of items in ``states`` or any of their contents may have.

    How many there are, the sum of their ids and the latest ``updated_at`` of any item (every save
    that changes an item, and every change of state, moves it): one indexed aggregate, so that a
    build with nothing to do reads no item.
    """
    wanted = ItemRecord.state.in_([state.value for state in states])
    with _unmapped(database) as connection:
        count, ids = connection.execute(
            select(func.count(ItemRecord.id), func.coalesce(func.sum(ItemRecord.id), 0)).where(wanted)
        ).one()
        latest = connection.execute(select(func.max(ItemRecord.updated_at))).scalar()
    return f"{count}|{ids}|{latest.isoformat() if latest else ''}"


def changed_since(
    database: Database, *, summary: str, states: Sequence[ItemState]
) -> tuple[list[StoredRevision], list[str]] | None:
    """The items saved since ``published_summary`` gave ``summary``: those in ``states`` (revisions),
    and the keys of the others; None when ``summary`` is not one of this store's tokens.

    Only saves after the summary's latest one count: items saved at that same microsecond (a bulk
    import stamps thousands so) were in the summary already.
    """
    moment_text = summary.rpartition("|")[2]
    if not moment_text:
        return None
    try:
        moment = datetime.fromisoformat(moment_text)
    except ValueError:
        return None
    wanted = {state.value for state in states}
    statement = select(
        ItemRecord.md_name,
        ItemRecord.community,
        ItemRecord.revision,
        ItemRecord.featured_image,
        ItemRecord.state,
    ).where(ItemRecord.updated_at > moment)
    published: list[StoredRevision] = []
    others: list[str] = []
    with _unmapped(database) as connection:
        for md_name, community, revision, featured_image, state in connection.execute(statement):
            if state not in wanted:
                others.append(md_name)
            elif revision is None:
                return None  # a row written around the application: the full comparison handles it
            else:
                published.append(StoredRevision(md_name, community, revision, featured_image))
    published.sort(key=lambda row: row.md_name)
    return published, sorted(others)
