"""Full-text search over items: SQLite FTS5 or a PostgreSQL ``tsvector``, behind one function.

Both dialects index the same four fields: the title, the front matter's ``description``, the Markdown
body (the brief) and the extracted article text, weighted in that order of importance. Migration
``0002`` creates the index objects; this module only queries them.

- SQLite: ``items_fts``, a contentless FTS5 table (``porter unicode61`` tokenizer: case-, accent- and
  suffix-insensitive) kept in step by triggers on ``items``; matched with ``MATCH``, ranked with
  ``bm25``. Contentless because ``items`` has no ``description`` column an external-content table
  could read back; search only needs rowids and scores, never the indexed text.
- PostgreSQL: ``items.search_vector``, a generated, stored ``tsvector`` column with a GIN index;
  matched with ``@@``, ranked with ``ts_rank``.

What a person types is never passed through as query syntax. It is cut into words (letters and
digits) and every word is required, matched whole (stemmed: "hospital" finds "hospitals"), as a
submitted search is. A last word ending in ``*`` is matched as a prefix ("ransom*" finds
"ransomware"), for a search box that asks while typing or an editor who wants every word that
starts so. Whole by default because a prefix costs: the index merges the lists of every word
starting so, and for a common word ("health*", 97% of the items) that took 25-45 ms of a search's
CPU at 100,000 items, against 2 ms for "health" (docs/benchmarks.md, "Newsroom scale"); an FTS5
prefix index would serve prefixes cheaply but made the index five times larger (59 -> 319 MB) and
every indexed write slower. On SQLite each word becomes a double-quoted FTS5 string,
so ``"``, ``*``, ``NEAR(``, ``-``, ``:``, ``OR`` are plain text; on PostgreSQL the words go to
``websearch_to_tsquery`` (which never raises) quoted one by one, so a word like "or" is a word on
both dialects rather than an operator on one. One difference remains: PostgreSQL drops English stop
words ("the", "or") from a query, SQLite requires them. The small word-splitting parser is
hand-written because neither engine offers a "quote this for me" function and the two syntaxes differ.

The index objects are invisible to the SQLAlchemy models; ``include_name`` tells Alembic's
autogenerate comparison (``migrations/env.py`` and the models-match test) to leave them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Select,
    Subquery,
    column,
    func,
    literal_column,
    select,
    table,
)

from medcurate.store.models import ItemRecord

FTS_TABLE = "items_fts"
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_items_search_vector"
# bm25 weights, in the FTS5 table's column order: title, description, body, text.
FTS_COLUMN_WEIGHTS = (8.0, 3.0, 2.0, 1.0)
DEFAULT_MAX_TERMS = 32
# Ranked search orders only this many candidates: the newest matches (by id) that pass the filters.
DEFAULT_SEARCH_CANDIDATES = 500
DEFAULT_MIN_PREFIX_LENGTH = 2

_WORD = re.compile(r"[^\W_]+")
_REGCONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")
_FTS = table(FTS_TABLE, column("rowid", Integer))


@dataclass(frozen=True, kw_only=True)
class SearchTerms:
    """The words of a search, the last one possibly a prefix."""

    words: tuple[str, ...]
    prefix: bool

    def fts5(self) -> str:
        """An FTS5 query: every word a quoted string, implicitly ANDed, the last one maybe a prefix."""
        quoted = ['"' + word.replace('"', '""') + '"' for word in self.words]
        if self.prefix:
            quoted[-1] += "*"
        return " ".join(quoted)


def parse_terms(
    text: str | None,
    *,
    max_terms: int = DEFAULT_MAX_TERMS,
    min_prefix_length: int = DEFAULT_MIN_PREFIX_LENGTH,
) -> SearchTerms | None:
    """The words of ``text``, or None when it holds none (then there is nothing to filter on).

    Args:
        text: what the person typed; any characters. A ``*`` right after the last word makes that
            word a prefix ("ransom*"); every other word, and the last one otherwise, matches whole.
        max_terms: words past this many are ignored, which bounds the cost of one query.
        min_prefix_length: a shorter last word matches whole, so "a*" does not match half the index.

    Returns:
        The words, lower-cased, and whether the last one is a prefix.
    """
    found = list(_WORD.finditer(text or ""))
    words = tuple(match.group().casefold() for match in found)[:max_terms]
    if not words:
        return None
    last = found[len(words) - 1]
    starred = (text or "")[last.end() : last.end() + 1] == "*"
    return SearchTerms(words=words, prefix=starred and len(words[-1]) >= min_prefix_length)


def _tsquery(terms: SearchTerms) -> ColumnElement[Any]:
    exact = terms.words[:-1] if terms.prefix else terms.words
    parts: list[ColumnElement[Any]] = []
    if exact:
        parts.append(func.websearch_to_tsquery(_REGCONFIG, " ".join(f'"{word}"' for word in exact)))
    if terms.prefix:
        # websearch_to_tsquery has no prefix syntax; the word is letters and digits only, so
        # "word:*" cannot carry any other to_tsquery operator.
        parts.append(func.to_tsquery(_REGCONFIG, f"{terms.words[-1]}:*"))
    query = parts[0]
    for part in parts[1:]:
        query = query.op("&&")(part)
    return query


def _vector() -> ColumnElement[Any]:
    return literal_column(f"{ItemRecord.__tablename__}.{SEARCH_VECTOR_COLUMN}")


def apply_search(
    statement: Select[Any], *, text: str | None, dialect: str, rank: bool, window: int | None = None
) -> Select[Any]:
    """Restrict an items query to those matching ``text``; with ``rank``, best matches first.

    Args:
        statement: a select over ``items`` (rows or a count).
        text: what the person typed; a text with no words leaves ``statement`` as it is.
        dialect: the engine's dialect name, ``"sqlite"`` or ``"postgresql"``.
        rank: order by relevance, then newest id first among equals.
        window: with ``rank``, how many best matches the caller pages through (offset + limit).

    Returns:
        The statement with the match condition and, with ``rank``, its order.
    """
    terms = parse_terms(text)
    if terms is None:
        return statement
    if dialect == "postgresql":
        vector, query = _vector(), _tsquery(terms)
        statement = statement.where(vector.op("@@")(query))
        if rank:
            score = func.ts_rank(vector, query, type_=Float)
            statement = statement.order_by(score.desc(), ItemRecord.id.desc())
        return statement
    fts: ColumnElement[Any] = literal_column(FTS_TABLE)
    match = fts.op("MATCH")(terms.fts5())
    if not rank:
        return statement.where(ItemRecord.id.in_(select(_FTS.c.rowid).where(match)))
    # bm25 is lower for better matches.
    score = func.bm25(fts, *FTS_COLUMN_WEIGHTS, type_=Float)
    found = select(_FTS.c.rowid.label("item_id"), score.label("score")).where(match)
    if window is not None and statement.whereclause is None:
        # Nothing else filters: the index alone picks the page, in the same order as the outer query,
        # so only those rows of items are read (not one wide row per match, each needing a seek).
        found = found.order_by(score.asc(), _FTS.c.rowid.desc()).limit(window)
    ranked = found.subquery("search")
    return statement.join(ranked, ranked.c.item_id == ItemRecord.id).order_by(
        ranked.c.score.asc(), ItemRecord.id.desc()
    )


def match_condition(text: str | None, *, dialect: str, many: bool = False) -> ColumnElement[bool] | None:
    """The condition "matches ``text``" on ``items`` (index-served on both databases), or None.

    On SQLite, ``many`` says the words match many items (``fts_matches``): the list then walks its
    order's index and checks each row against the matches, instead of fetching every match by id
    and sorting them all. SQLite cannot tell the two cases apart (FTS5 gives its planner no row
    counts); PostgreSQL's planner can, from the ``tsvector`` statistics.
    """
    terms = parse_terms(text)
    if terms is None:
        return None
    if dialect == "postgresql":
        return _vector().op("@@")(_tsquery(terms))
    match = literal_column(FTS_TABLE).op("MATCH")(terms.fts5())
    # "id + 0" is not the primary key to SQLite's planner, so the match list cannot drive the plan.
    key = (ItemRecord.id + 0) if many else ItemRecord.id
    return key.in_(select(_FTS.c.rowid).where(match))


def fts_matches(text: str, *, at_most: int | None) -> Select[Any] | None:
    """SQLite: how many items match ``text``, counted (up to ``at_most``) in the FTS5 index alone."""
    terms = parse_terms(text)
    if terms is None:
        return None
    match = literal_column(FTS_TABLE).op("MATCH")(terms.fts5())
    return select(func.count()).select_from(select(_FTS.c.rowid).where(match).limit(at_most).subquery())


def ranked_candidates(
    text: str | None,
    *,
    dialect: str,
    conditions: tuple[ColumnElement[bool], ...] = (),
    candidates: int = DEFAULT_SEARCH_CANDIDATES,
    few: bool = False,
) -> Subquery | None:
    """The newest ``candidates`` items matching ``text`` and ``conditions``, each with its relevance.

    Ranking every match costs one score per match (a common word matches most of the store); this
    ranks a first cut only, chosen the same way on both databases (highest ids first, which the
    primary key or the FTS5 rowid order serves), so both order the same candidates by relevance:
    ``bm25`` on SQLite, ``ts_rank`` on PostgreSQL. ``score`` is higher for better matches on both.

    On PostgreSQL, ``few`` says the matches are few (the caller asks the planner, ``listing``): they
    are then gathered from the GIN index and the newest kept (a sort of the matches alone), where
    walking the primary key newest first would read and check the ``tsvector`` of every row it
    passes (a word in 3% of 100,000 items: 18,000 rows, 80 ms, against 7 ms). PostgreSQL's planner
    picks the walk by itself for such a word: it does not count the reading of each ``tsvector``.

    Returns:
        A subquery of ``item_id`` and ``score``, or None when ``text`` holds no word.
    """
    terms = parse_terms(text)
    if terms is None:
        return None
    if dialect == "postgresql":
        vector, query = _vector(), _tsquery(terms)
        matched: ColumnElement[Any]
        if few:
            # "id + 0" is no index's order: the matches come from the GIN index, the newest kept.
            matched, order = vector.op("@@")(query), (ItemRecord.id + 0).desc()
        else:
            # The function behind @@, which no index serves: the plan walks the primary key, even
            # a generic plan (psycopg prepares a statement run five times), which cannot see the
            # words and, guessing 0.5% of the rows match, would gather them all from the index.
            matched, order = func.ts_match_vq(vector, query, type_=Boolean), ItemRecord.id.desc()
        first_cut = (
            select(ItemRecord.id.label("item_id"), vector.label("vector"))
            .where(matched, *conditions)
            .order_by(order)
            # A number in the text, not a parameter: a generic plan guesses a parameter's LIMIT is
            # a tenth of the rows, and scans the whole table for them rather than walk the key.
            .limit(literal_column(str(int(candidates)), Integer))
            .subquery("first_cut")
        )
        score = func.ts_rank(first_cut.c.vector, query, type_=Float)
        return select(first_cut.c.item_id, score.label("score")).subquery("search")
    fts: ColumnElement[Any] = literal_column(FTS_TABLE)
    bm25 = func.bm25(fts, *FTS_COLUMN_WEIGHTS, type_=Float)  # lower is better
    return (
        select(_FTS.c.rowid.label("item_id"), (-bm25).label("score"))
        .select_from(_FTS.join(ItemRecord.__table__, ItemRecord.id == _FTS.c.rowid))
        .where(fts.op("MATCH")(terms.fts5()), *conditions)
        .order_by(_FTS.c.rowid.desc())
        .limit(candidates)
        .subquery("search")
    )


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: False for the search objects the models do not describe."""
    if type_ == "table":
        # items_fts and the shadow tables FTS5 keeps beside it (items_fts_data, _idx, _docsize, _config).
        return not (name == FTS_TABLE or (name or "").startswith(f"{FTS_TABLE}_"))
    if type_ == "column":
        return not (name == SEARCH_VECTOR_COLUMN and parent_names.get("table_name") == "items")
    if type_ == "index":
        return name != SEARCH_VECTOR_INDEX
    return True
