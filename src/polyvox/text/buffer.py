"""Buffer text that arrives in small pieces (LLM tokens) into sensible segments."""

from __future__ import annotations

import re

from polyvox.text.segment import Segmenter

#: Where a sentence may have ended: closing punctuation (and quotes or brackets after
#: it), then a space and more text. Only such text can hold a boundary pysbd would
#: find, so pysbd runs only when one has arrived.
_CANDIDATE_END = re.compile(r"""[.!?\u2026\u3002\uff01\uff1f]['"\u201d\u2019)\]]*\s+\S|\n\s*\S""")
#: Characters before the new text searched again: a candidate may straddle two pushes.
_OVERLAP = 8


class TextBuffer:
    """Release a sentence once the next one has begun; the first clause early.

    A sentence is only known to be complete when text after it arrives (``Dr.``
    might continue), so the last sentence waits for more text or a flush. To start
    speaking fast, a stream's first clause is released as soon as it is followed
    by more words.

    Work per push is proportional to the new text, except when a sentence may have
    ended: only then does the sentence segmenter run, over the pending sentence.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self._segmenter = segmenter
        self._text = ""
        self._started = False
        #: ``_text`` before this index holds no candidate sentence end.
        self._searched = 0

    @property
    def pending(self) -> str:
        return self._text

    def needs_segmenter(self, text: str) -> bool:
        """Whether pushing ``text`` runs the sentence segmenter (costly: run it off the
        event loop then)."""
        joined = self._text[max(self._searched - _OVERLAP, 0) :] + text
        return _CANDIDATE_END.search(joined) is not None

    def push(self, text: str) -> list[str]:
        self._text += text
        start = max(self._searched - _OVERLAP, 0)
        if _CANDIDATE_END.search(self._text, start) is not None:
            sentences = self._segmenter.sentences(self._text)
            if len(sentences) >= 2:
                ready = " ".join(sentences[:-1])
                last = self._text.rfind(sentences[-1])
                self._text = self._text[last:] if last >= 0 else sentences[-1]
                self._searched = 0
                return self._release(ready)
        self._searched = len(self._text)
        return self._early_first_clause()

    def flush(self) -> list[str]:
        """Everything buffered, as segments."""
        text, self._text, self._searched = self._text, "", 0
        return self._release(text)

    def clear(self) -> None:
        """Drop buffered text (barge-in); the next text starts a new stream."""
        self._text = ""
        self._searched = 0
        self._started = False

    def _early_first_clause(self) -> list[str]:
        if self._started or not self._text.strip():
            return []
        head, *rest = self._segmenter.split_first(self._text.strip())
        # Release the head once two more words follow it: the clause is then closed.
        if not rest or len(rest[0].split()) < 2:
            return []
        self._started = True
        self._text = " ".join(rest) + (" " if self._text[-1:].isspace() else "")
        self._searched = 0
        return [head]

    def _release(self, text: str) -> list[str]:
        segments = self._segmenter.split(text, first=not self._started)
        self._started = self._started or bool(segments)
        return segments
