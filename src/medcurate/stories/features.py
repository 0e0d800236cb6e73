"""What an item says that tells one news story from another: names, numbers, identifiers, its day.

An item becomes a :class:`StoryDoc`, a frozen record of everything the pairwise scorer
(``medcurate.stories.score``) compares: the title, the text's MinHash signature (syndicated copies,
``medcurate.dedupe``), the named identifiers (``medcurate.intel.identifiers``), the entities and
numbers below, the day, the outlet and, filled in by the caller, a sentence embedding.

Entities are found by hand, with a capitalised-phrase and number extractor, rather than by spaCy or
another NER library: those need a statistical model downloaded at install time (spaCy's smallest
English model is 12 MB, the accurate ones 500 MB+) and cost 5-50 ms per article on this machine's
class of CPU, while same-story matching needs no entity *types*, only the rare names two write-ups
of one event must both mention ("Greenway Health", "Annals of Emergency Medicine", "$57.25 million",
"35 million"). How rare a name is comes from the other items it is compared with (``score.py``
weighs each entity by its inverse document frequency among them), so "FDA" or "HIMSS19" in a week of
HIMSS coverage counts for little while "MassHealth" counts for much. The rules:

- a phrase is a run of capitalised words (``Flatiron Health``), joined across the lower-case links
  of names (``of``, ``for``, ``and``, ``&``, ``de``); upper-case acronyms (``ONC``, ``HIPAA``) count;
- a lone capitalised word that is a common English word (the first word of a sentence: ``The``,
  ``New``, ``This``), a month or a weekday is not an entity;
- numbers keep their scale (``$7.5M``, ``7.5 million`` and ``7,500,000`` are one number), money is
  marked, percentages are marked; bare years and small counts (< 10) are left out, they are in every
  story of a season.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from medcurate.intel.identifiers import identifier_keys, identifiers_of
from medcurate.models import CuratedItem

if TYPE_CHECKING:  # the encoder module imports torch lazily, but only callers with a model need it
    from medcurate.suggest.embedding import TextEncoder

Vector = npt.NDArray[np.float32]

# Words that start sentences or headlines in capitals without naming anything.
_COMMON = frozenset(
    """a an the this that these those it its in on at of for to from by with as and or but if
    when while after before new how why what who where which there here we our you your they their
    he she his her i my be is are was were will would can could should may might must do does did
    has have had not no yes all some many more most other any each every one two three four five six
    seven eight nine ten first second third last next top best key so also just now today yesterday
    tomorrow according said says study report news update data health healthcare care patients
    patient hospital hospitals doctors doctor physicians people company companies mr ms dr
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()  # noqa: SIM905 - a word list reads best as text
)
_CONNECTORS = frozenset({"of", "for", "and", "&", "de", "la", "du", "von", "van", "the"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’&\-]*[A-Za-z0-9]|[A-Za-z]|&")
_NUMBER = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<scale>million|billion|thousand|[mMbBkK](?![a-z]))?\s?(?P<pct>%|percent)?"
)
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "b": 1e9}
MAX_TEXT_CHARS = 6000  # the lead of an article carries its names; its tail is often related links
MIN_PLAIN_NUMBER = 10
EMBED_TEXT_CHARS = 2000  # MiniLM reads 256 word pieces: the title and the lead


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _phrases(text: str) -> Iterable[str]:
    """Runs of capitalised words (with name links inside), as they are written."""
    run: list[str] = []
    pending: list[str] = []  # connectors seen after a capitalised word, kept only if one follows

    def flush() -> Iterable[str]:
        if run:
            yield " ".join(run)
        run.clear()
        pending.clear()

    last_end = 0
    for match in _WORD.finditer(text):
        word = match.group(0).replace("’", "'")
        gap = text[last_end : match.start()]
        last_end = match.end()
        if run and gap.strip(" -"):  # punctuation between two words ends a name
            yield from flush()
        if _is_capitalised(word):
            run.extend(pending)
            pending.clear()
            run.append(word.removesuffix("'s"))
            if word.endswith("'s"):  # "Vanderbilt's Dr Smith" names two things
                yield from flush()
        elif run and word.lower() in _CONNECTORS and not pending:
            pending.append(word)
        else:
            yield from flush()
    yield from flush()


def _entity_key(phrase: str) -> str | None:
    """The comparable form of a phrase, or None for a phrase that names nothing."""
    words = phrase.split()
    while words and words[0].lower() in _COMMON:
        words = words[1:]  # "The Patient Safety Movement" and "Patient Safety Movement" are one name
    while words and words[-1].lower() in _CONNECTORS:
        words = words[:-1]
    if not words:
        return None
    if len(words) == 1:
        word = words[0]
        if word.lower() in _COMMON or len(word) < 2:
            return None
    return " ".join(w.lower() for w in words)


def entities_of(text: str) -> frozenset[str]:
    """The named things of ``text``: lower-cased capitalised phrases and acronyms."""
    found: set[str] = set()
    for phrase in _phrases(text[:MAX_TEXT_CHARS]):
        key = _entity_key(phrase)
        if key:
            found.add(key)
            words = key.split()
            head = _entity_key(" ".join(words[:-1])) if len(words) > 2 else None
            if head:  # "Patient Safety Movement Foundation" also names "Patient Safety Movement"
                found.add(head)
    return frozenset(found)


def _number_key(match: re.Match[str]) -> str | None:
    raw = match.group("num").replace(",", "")
    try:
        value = float(raw)
    except ValueError:  # pragma: no cover - the pattern only matches numbers
        return None
    scale = (match.group("scale") or "").lower()
    value *= _SCALES.get(scale, 1.0)
    money, percent = bool(match.group("cur")), bool(match.group("pct"))
    plain = not (money or percent or scale)
    if plain and (value < MIN_PLAIN_NUMBER or (1900 <= value <= 2100 and "." not in raw)):
        return None
    prefix = "$" if money else ""
    suffix = "%" if percent else ""
    return f"{prefix}{value:.6g}{suffix}"


def numbers_of(text: str) -> frozenset[str]:
    """The telling numbers of ``text``, normalised (``$57.25 million`` -> ``$5.725e+07``)."""
    keys = (_number_key(m) for m in _NUMBER.finditer(text[:MAX_TEXT_CHARS]))
    return frozenset(k for k in keys if k)


@dataclass(frozen=True)
class StoryDoc:
    """One item as the story matcher sees it."""

    item_id: int
    url: str
    title: str
    text: str
    day: date | None
    brand: str = ""
    identifiers: tuple[str, ...] = ()
    signature: bytes | None = None
    entities: frozenset[str] = field(default_factory=frozenset)
    numbers: frozenset[str] = field(default_factory=frozenset)
    vector: Vector | None = None

    @property
    def terms(self) -> frozenset[str]:
        """Entities and numbers together: everything weighed by rarity."""
        return self.entities | self.numbers


def story_text(title: str, description: str, text: str) -> str:
    """The text an item is matched on: title, description (when the text does not open with it), text."""
    parts = [" ".join(title.split())]
    description = " ".join(description.split())
    text = " ".join(text.split())
    if description and description[:120] not in text:
        parts.append(description)
    parts.append(text)
    return "\n".join(p for p in parts if p)


def make_doc(
    *,
    item_id: int,
    url: str,
    title: str,
    description: str,
    text: str,
    day: date | None,
    brand: str = "",
    identifiers: Sequence[str] = (),
    signature: bytes | None = None,
) -> StoryDoc:
    """A :class:`StoryDoc` with its entities and numbers extracted (the embedding comes later)."""
    full = story_text(title, description, text)
    return StoryDoc(
        item_id=item_id,
        url=url,
        title=title,
        text=full,
        day=day,
        brand=brand.lower().removeprefix("www."),
        identifiers=tuple(identifiers),
        signature=signature,
        entities=entities_of(full),
        numbers=numbers_of(full),
    )


def doc_from_item(
    item_id: int, item: CuratedItem, *, text: str = "", signature: bytes | None = None
) -> StoryDoc:
    """The :class:`StoryDoc` of a stored or imported item (``text``: its extracted text, else its body)."""
    published = item.published
    return make_doc(
        item_id=item_id,
        url=item.url or "",
        title=item.title,
        description=item.fields.description or "",
        text=text or item.body,
        day=published.date() if published else None,
        brand=item.brand or "",
        identifiers=identifier_keys(identifiers_of(item.front_matter)),
        signature=signature,
    )


def with_vectors(docs: Sequence[StoryDoc], encoder: TextEncoder) -> list[StoryDoc]:
    """``docs`` with their embeddings (one batch through ``encoder``; run it outside any transaction)."""
    if not docs:
        return []
    vectors = encoder.encode_texts([d.text[:EMBED_TEXT_CHARS] for d in docs])
    return [replace(doc, vector=vectors[i]) for i, doc in enumerate(docs)]
