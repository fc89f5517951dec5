"""Cut input text into segments so the first audio comes fast.

The first segment is short (its first clause, or its first few words) so the
worker can start speaking at once; later segments follow sentence boundaries
(pysbd handles abbreviations, decimals, times, URLs and e-mail addresses), and a
sentence longer than the limit is cut at a clause, else between words. Words are
never cut.
"""

from __future__ import annotations

import re

import pysbd

#: Clause boundaries: punctuation followed by a space. A comma in "3,000" or a
#: colon in "10:30" has no space after it, so it is never a boundary.
_CLAUSE_BREAK = re.compile(r"(?<=[,;:\u2014\u2013])\s+|\s+(?=[\u2014\u2013]\s)")  # em/en dash
#: URLs and e-mail addresses, which pysbd would split at "?" or "!". Trailing
#: sentence punctuation is left outside the match.
_UNSPLITTABLE = re.compile(
    r"(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
#: Placeholders use private-use characters that no sentence rule treats as punctuation.
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


class Segmenter:
    """Stateless once built; one instance serves every request."""

    def __init__(
        self,
        *,
        language: str = "en",
        first_segment_words: int = 6,
        first_clause_max_words: int = 10,
        max_chars: int = 300,
    ) -> None:
        #: Words in the first segment when its first clause is longer than that.
        self.first_segment_words = first_segment_words
        #: A first clause up to this many words is kept whole.
        self.first_clause_max_words = first_clause_max_words
        #: Longest later segment, in characters.
        self.max_chars = max_chars
        self._sentences = pysbd.Segmenter(language=language, clean=False, char_span=False)

    def sentences(self, text: str) -> list[str]:
        """Sentences of ``text``, stripped; URLs and e-mail addresses stay whole."""
        protected: list[str] = []

        def hide(match: re.Match[str]) -> str:
            protected.append(match.group(0))
            return f"\ue000{len(protected) - 1}\ue001"

        masked = _UNSPLITTABLE.sub(hide, text.strip())
        return [
            _PLACEHOLDER.sub(lambda m: protected[int(m.group(1))], s).strip()
            for s in self._sentences.segment(masked)
            if s.strip()
        ]

    def split(self, text: str, *, first: bool = True) -> list[str]:
        """Segments of ``text`` in order; empty for text with nothing to say.

        ``first`` says whether these are a stream's first segments (cut short).
        """
        segments: list[str] = []
        for sentence in self.sentences(text):
            segments += _split_long(sentence, self.max_chars)
        if segments and first:
            segments[:1] = self.split_first(segments[0])
        return segments

    def split_first(self, sentence: str) -> list[str]:
        words = sentence.split()
        if len(words) <= self.first_segment_words:
            return [sentence]
        clause = _CLAUSE_BREAK.split(sentence, maxsplit=1)
        if len(clause) == 2 and len(clause[0].split()) <= self.first_clause_max_words:
            return [clause[0], clause[1]]
        head = " ".join(words[: self.first_segment_words])
        return [head, " ".join(words[self.first_segment_words :])]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut a sentence over ``max_chars`` at clauses, then between words."""
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    for clause in _CLAUSE_BREAK.split(sentence):
        pieces += _pack(clause.split(), max_chars) if len(clause) > max_chars else [clause]
    return _pack(pieces, max_chars)


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Join parts with spaces into runs no longer than ``max_chars`` (a longer part stays whole)."""
    runs: list[str] = []
    for part in parts:
        if runs and len(runs[-1]) + 1 + len(part) <= max_chars:
            runs[-1] = f"{runs[-1]} {part}"
        else:
            runs.append(part)
    return runs
