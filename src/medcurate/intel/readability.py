"""Reading time and readability grade of an item's brief and article, for the review screen.

textstat does the counting (syllables, sentences, the Flesch-Kincaid grade); this module only picks
the measures an editor reads and words them. Reading time is the word count at 238 words a minute,
the average silent reading rate of non-fiction in English (Brysbaert, 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

from medcurate.rules import plain_text

WORDS_PER_MINUTE = 238
MIN_WORDS_FOR_GRADE = 30  # below this a grade says more about one sentence than about the text


@dataclass(frozen=True, slots=True)
class Readability:
    """How long a text takes to read and how hard it is."""

    words: int
    minutes: int
    grade: float | None

    @property
    def reading_time(self) -> str:
        """``3 min read``; under a minute for very short texts."""
        return "under 1 min read" if self.words and self.minutes < 1 else f"{self.minutes} min read"

    @property
    def level(self) -> str:
        """The grade in words: who reads it comfortably."""
        if self.grade is None:
            return "too short to grade"
        if self.grade <= 8:
            return "easy (most adults)"
        if self.grade <= 12:
            return "plain (high school)"
        if self.grade <= 16:
            return "hard (college)"
        return "very hard (graduate)"


def readability(text: str) -> Readability:
    """Reading time and Flesch-Kincaid grade of a plain text (HTML is stripped first)."""
    import textstat

    clean = plain_text(text)
    words = int(textstat.lexicon_count(clean)) if clean else 0
    grade = round(float(textstat.flesch_kincaid_grade(clean)), 1) if words >= MIN_WORDS_FOR_GRADE else None
    return Readability(words=words, minutes=round(words / WORDS_PER_MINUTE), grade=grade)
