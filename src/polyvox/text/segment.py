"""Cut input text into segments so the first audio comes fast.

The first segment is short (its first clause, or its first few words) so the
worker can start speaking at once; later segments follow sentence boundaries
(pysbd handles abbreviations, decimals, times, URLs and e-mail addresses). A
sentence longer than ``clause_chars`` is cut at its clauses, and a clause longer
than ``max_chars`` between words. Words are never cut.

Segment length is a latency budget, not only a matter of style: a worker cannot
pre-empt an inference, so a stream that starts while another stream's segment is
being synthesized waits for it. On Piper joe (2 cores) an inference costs about
15 ms plus 67 ms per second of audio (``bench/segment_cost.py``): four words are
~85-100 ms, a 60-character clause ~250 ms, a 150-200-character run ~600 ms.
"""

from __future__ import annotations

import re
import threading

import pysbd
from pydantic import BaseModel, Field
from pysbd.languages import LANGUAGE_CODES

from polyvox.text.pieces import CLAUSE_BREAK, split_long

#: URLs and e-mail addresses, which pysbd would split at "?" or "!". Trailing
#: sentence punctuation is left outside the match.
_UNSPLITTABLE = re.compile(
    r"(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
#: Placeholders use private-use characters that no sentence rule treats as punctuation.
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
#: Words that lean on the next one; a first segment does not end on them.
_FUNCTION_WORDS = {
    "en": frozenset((
        "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "for",
        "with", "by", "from", "as", "into", "than", "that", "my", "your", "our", "their",
        "his", "her", "its", "this", "these", "those", "is", "are", "was", "were", "will",
        "would", "can", "could", "should", "shall", "must", "may", "might", "have", "has",
        "had", "be", "been", "do", "does", "did",
    )),
}  # fmt: skip


class SegmentationSettings(BaseModel):
    """Segment sizes (the gateway's ``segmentation`` setting)."""

    model_config = {"extra": "forbid"}

    #: Words in a stream's first segment when its first clause is longer than
    #: ``first_clause_max_words``.
    first_segment_words: int = Field(default=4, ge=1)
    #: A first clause up to this many words is the first segment, whole.
    first_clause_max_words: int = Field(default=5, ge=1)
    #: A later sentence longer than this (characters) is cut at its clauses, which
    #: are packed back into runs up to this length.
    clause_chars: int = Field(default=60, ge=10)
    #: Longest later segment, in characters: a longer clause is cut between words.
    max_chars: int = Field(default=150, ge=10)


class Segmenters:
    """A segmenter per language, made on first use; languages pysbd has no rules for
    are cut by the English rules (sentence ends such as ". " are common to many)."""

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        self.settings = settings or SegmentationSettings()
        self._by_language: dict[str, Segmenter] = {}
        self._lock = threading.Lock()

    def for_language(self, tag: str | None) -> Segmenter:
        """The segmenter for a BCP 47 tag ("ja-JP" → Japanese rules)."""
        code = (tag or "en").split("-")[0].lower()
        code = code if code in LANGUAGE_CODES else "en"
        with self._lock:  # segmenters are made once, from any thread
            if code not in self._by_language:
                self._by_language[code] = Segmenter(self.settings, language=code)
            return self._by_language[code]


class Segmenter:
    """Stateless once built; one instance serves every request."""

    def __init__(
        self, settings: SegmentationSettings | None = None, *, language: str = "en"
    ) -> None:
        self.settings = settings or SegmentationSettings()
        self._language = language
        # pysbd keeps each call's text on the instance (``original_text``) and reads it
        # back to find the sentences; two threads sharing one get each other's text
        # and an empty result. Each thread gets its own, made on first use (a handful:
        # the default executor's threads), so requests never wait on each other.
        self._per_thread = threading.local()
        self._function_words = _FUNCTION_WORDS.get(language, frozenset())

    def _pysbd(self) -> pysbd.Segmenter:
        segmenter: pysbd.Segmenter | None = getattr(self._per_thread, "segmenter", None)
        if segmenter is None:
            segmenter = pysbd.Segmenter(language=self._language, clean=False, char_span=False)
            self._per_thread.segmenter = segmenter
        return segmenter

    def sentences(self, text: str) -> list[str]:
        """Sentences of ``text``, stripped; URLs and e-mail addresses stay whole."""
        protected: list[str] = []

        def hide(match: re.Match[str]) -> str:
            protected.append(match.group(0))
            return f"\ue000{len(protected) - 1}\ue001"

        masked = _UNSPLITTABLE.sub(hide, text.strip())
        found = self._pysbd().segment(masked)
        return [
            _PLACEHOLDER.sub(lambda m: protected[int(m.group(1))], s).strip()
            for s in found
            if s.strip()
        ]

    def split(self, text: str, *, first: bool = True) -> list[str]:
        """Segments of ``text`` in order; empty for text with nothing to say.

        ``first`` says whether these are a stream's first segments (cut short).
        """
        sentences = self.sentences(text)
        segments: list[str] = []
        if sentences and first:
            head, *rest = self.split_first(sentences[0])
            segments.append(head)
            sentences[:1] = rest
        for sentence in sentences:
            segments += split_long(sentence, self.settings.clause_chars, self.settings.max_chars)
        return segments

    def split_first(self, sentence: str) -> list[str]:
        """``sentence`` as [head, rest]: its first clause or first few words, then the
        rest; or whole when it is short."""
        words = sentence.split()
        # A tail of one or two words would sound clipped on its own.
        if len(words) <= self.settings.first_segment_words + 2:
            return [sentence]
        clause = CLAUSE_BREAK.split(sentence, maxsplit=1)
        if len(clause) == 2 and len(clause[0].split()) <= self.settings.first_clause_max_words:
            return [clause[0], clause[1]]
        cut = self.settings.first_segment_words
        # "We will meet at | the station" sounds broken; "We will meet | at the station"
        # does not. Keep at least two words in the head.
        while cut > 2 and words[cut - 1].lower() in self._function_words:
            cut -= 1
        return [" ".join(words[:cut]), " ".join(words[cut:])]
