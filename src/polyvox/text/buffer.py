"""Buffer text that arrives in small pieces (LLM tokens) into sensible segments."""

from __future__ import annotations

from polyvox.text.segment import Segmenter


class TextBuffer:
    """Release a sentence once the next one has begun; the first clause early.

    A sentence is only known to be complete when text after it arrives (``Dr.``
    might continue), so the last sentence waits for more text or a flush. To start
    speaking fast, a stream's first clause is released as soon as it is followed
    by more words.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self._segmenter = segmenter
        self._text = ""
        self._started = False

    @property
    def pending(self) -> str:
        return self._text

    def push(self, text: str) -> list[str]:
        self._text += text
        sentences = self._segmenter.sentences(self._text)
        if len(sentences) < 2:
            return self._early_first_clause(sentences)
        ready = " ".join(sentences[:-1])
        last = self._text.rfind(sentences[-1])
        self._text = self._text[last:] if last >= 0 else sentences[-1]
        return self._release(ready)

    def flush(self) -> list[str]:
        """Everything buffered, as segments."""
        text, self._text = self._text, ""
        return self._release(text)

    def clear(self) -> None:
        """Drop buffered text (barge-in); the next text starts a new stream."""
        self._text = ""
        self._started = False

    def _early_first_clause(self, sentences: list[str]) -> list[str]:
        if self._started or len(sentences) != 1:
            return []
        head, *rest = self._segmenter.split_first(sentences[0])
        # Release the head once two more words follow it: the clause is then closed.
        if not rest or len(rest[0].split()) < 2:
            return []
        self._started = True
        self._text = " ".join(rest) + (" " if self._text[-1:].isspace() else "")
        return [head]

    def _release(self, text: str) -> list[str]:
        segments = self._segmenter.split(text, first=not self._started)
        self._started = self._started or bool(segments)
        return segments
