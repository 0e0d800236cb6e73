"""Health-IT concepts and phrase matching that knows an acronym from a word: the cold start's vocabulary.

The installed MeSH package names each descriptor and nothing more, and a site's taxonomy often
names a topic by an abbreviation (``AI``, ``IoT``) or a short word (``hospital``). The bundled
``data/health-terms.toml`` lists, for the concepts health-IT news names most, the MeSH heading
(when there is one), its entry terms and the abbreviations of the trade, the narrower concepts
whose mention is weaker evidence, and whether the heading is broad. This module reads it and
matches phrases in text:

1. Words are tokenised once; each token keeps its spelling and a folded form (lower case, plural
   ``s`` dropped, as ``mesh.mesh_words`` folds).
2. A phrase of ordinary words matches on the folded forms; an acronym (two capitals or more, like
   ``EHR``, ``IoT``, ``HIPAA``) matches only as written, so ``AI`` is not ``ai`` in a URL and
   ``ONC`` is not ``once``.
3. At each position the longest phrase wins (``electronic health record``, not ``health record``).

A hand-written index because the libraries that match phrase lists (flashtext, pyahocorasick)
match characters, not the two spellings of a word at once, and would need the same folding here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from medcurate.suggest.mesh import fold

TERMS_FILE = "data/health-terms.toml"
CENTRE_TERMS = 6
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_ACRONYM = re.compile(r"(?:.*[A-Z].*){2,}")


@dataclass(frozen=True, kw_only=True)
class Concept:
    """A health-IT concept: its preferred name, the words for it, and narrower concepts."""

    name: str
    mesh: bool = False
    broad: bool = False
    entry: tuple[str, ...] = ()
    narrower: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """Its name and entry terms, the name first."""
        return (self.name, *(term for term in self.entry if term.lower() != self.name.lower()))


@dataclass(frozen=True, slots=True)
class Word:
    """A token of a text: as written and folded."""

    raw: str
    folded: str


def term_words(text: str) -> list[Word]:
    """The tokens of ``text`` in order."""
    return [Word(raw=m, folded=fold(m.lower())) for m in _WORD.findall(text)]


def is_acronym(term: str) -> bool:
    """Whether ``term`` is written with two capitals or more (matched only as written)."""
    return bool(_ACRONYM.fullmatch(term)) and " " not in term.strip()


@dataclass(frozen=True, slots=True)
class _Phrase:
    folded: tuple[str, ...]
    raw: tuple[str, ...] | None  # set for acronyms: they match only as written
    surface: str
    target: int


@dataclass(frozen=True, kw_only=True)
class PhraseHit:
    """A target found in a text: which surface forms matched, how often, and whether in the title."""

    target: int
    count: int
    in_title: bool
    forms: tuple[str, ...]


@dataclass(frozen=True)
class PhraseMatcher:
    """Phrases indexed by their first folded token, longest first."""

    by_first: dict[str, list[_Phrase]] = field(default_factory=dict)

    @classmethod
    def build(cls, targets: Sequence[Iterable[str]]) -> PhraseMatcher:
        """The matcher of each target's phrases (``targets[i]``: the phrases that mean target ``i``)."""
        by_first: dict[str, list[_Phrase]] = {}
        for index, phrases in enumerate(targets):
            for surface in phrases:
                tokens = term_words(surface)
                if not tokens:
                    continue
                raw = tuple(w.raw for w in tokens) if is_acronym(surface) else None
                phrase = _Phrase(tuple(w.folded for w in tokens), raw, surface, index)
                by_first.setdefault(phrase.folded[0], []).append(phrase)
        for entries in by_first.values():
            entries.sort(key=lambda p: len(p.folded), reverse=True)
        return cls(by_first)

    def _scan(self, tokens: Sequence[Word]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        position = 0
        while position < len(tokens):
            step = 1
            for phrase in self.by_first.get(tokens[position].folded, ()):
                span = tokens[position : position + len(phrase.folded)]
                if tuple(w.folded for w in span) != phrase.folded:
                    continue
                if phrase.raw is not None and tuple(w.raw for w in span) != phrase.raw:
                    continue
                found.setdefault(phrase.target, []).append(phrase.surface)
                step = len(phrase.folded)
                break
            position += step
        return found

    def find(self, title: str, text: str) -> list[PhraseHit]:
        """The targets named in ``title`` or ``text`` (the text may repeat the title: counted once)."""
        in_title = self._scan(term_words(title))
        body = text[len(title) :] if title and text.startswith(title) else text
        in_text = self._scan(term_words(body))
        hits: list[PhraseHit] = []
        for target in {*in_title, *in_text}:
            forms = [*in_title.get(target, []), *in_text.get(target, [])]
            hits.append(
                PhraseHit(
                    target=target,
                    count=len(forms),
                    in_title=target in in_title,
                    forms=tuple(dict.fromkeys(forms)),
                )
            )
        return hits


@cache
def load_concepts() -> tuple[Concept, ...]:
    """The bundled health-IT concepts, read once per process."""
    source = resources.files("medcurate").joinpath(TERMS_FILE)
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    return tuple(
        Concept(
            name=entry["name"],
            mesh=bool(entry.get("mesh", False)),
            broad=bool(entry.get("broad", False)),
            entry=tuple(entry.get("entry", ())),
            narrower=tuple(entry.get("narrower", ())),
        )
        for entry in data["concepts"]
    )


def concept_matcher(concepts: Sequence[Concept]) -> PhraseMatcher:
    """A matcher whose targets are the concepts (by index), through their names and entry terms."""
    return PhraseMatcher.build([concept.terms for concept in concepts])


def concepts_of_phrase(phrase: str, concepts: Sequence[Concept]) -> list[Concept]:
    """The concepts that ``phrase`` names exactly: by name or entry term, folded, acronyms as written."""
    tokens = term_words(phrase)
    folded = tuple(w.folded for w in tokens)
    found: list[Concept] = []
    for concept in concepts:
        for term in concept.terms:
            term_tokens = term_words(term)
            if tuple(w.folded for w in term_tokens) != folded:
                continue
            if is_acronym(term) and tuple(w.raw.upper() for w in term_tokens) != tuple(
                w.raw.upper() for w in tokens
            ):
                continue
            found.append(concept)
            break
    return found


def domain_centre(embed: Callable[[Sequence[str]], npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """The mean vector of the bundled concepts (name and first entry terms): health-IT news's centre.

    Similarities measured from here rather than from the origin no longer favour the labels every
    health article is close to ("patient", "healthcare", "data"); it needs no item of the site.
    """
    texts = [". ".join(concept.terms[:CENTRE_TERMS]) for concept in load_concepts()]
    return np.asarray(embed(texts).mean(axis=0), dtype=np.float32)
