"""The pieces SSML becomes (:func:`polyvox.text.ssml.parse_ssml`): text and phoneme runs,
breaks and boundaries, each text run mapped back to the input it came from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` of a piece came from ``input[source_start:source_end]``.

    Literal text maps character for character; an entity (``&amp;``), a ``<sub>``
    alias or a ``<say-as>`` expansion maps as a whole to what it replaced.
    """

    start: int
    end: int
    source_start: int
    source_end: int

    @property
    def literal(self) -> bool:
        return self.end - self.start == self.source_end - self.source_start


@dataclass(frozen=True, slots=True)
class TextRun:
    """Text to speak, ``<say-as>`` and ``<sub>`` already expanded."""

    text: str
    #: The ``<voice name>`` in scope; ``None``: the request's voice.
    voice: str | None
    #: Multiplier of the voice's normal speaking rate (``<prosody rate>``).
    rate: float
    #: The ``xml:lang`` in scope; ``None``: none given.
    language: str | None
    #: Where each part of ``text`` came from in the input, in order, covering ``text``.
    spans: tuple[Span, ...]

    def source_range(self, start: int = 0, end: int | None = None) -> tuple[int, int]:
        """The stretch of the original input that ``text[start:end]`` came from."""
        end = len(self.text) if end is None else end
        inside = slice_spans(self.spans, start, max(end, start + 1))
        if not inside:
            return (self.spans[-1].source_end,) * 2
        return inside[0].source_start, inside[-1].source_end


@dataclass(frozen=True, slots=True)
class PhonemeRun:
    """``<phoneme>``: phonemes for engines that take them; ``text`` for the others."""

    phonemes: str
    #: As given: ``ipa`` (the default), ``x-sampa``...
    alphabet: str
    text: str
    voice: str | None
    rate: float
    language: str | None
    #: The element's content in the input (its tag when it has none).
    source_start: int
    source_end: int


@dataclass(frozen=True, slots=True)
class Break:
    """Silence: exactly ``silence_samples(seconds, rate_hz)`` zero samples."""

    seconds: float
    source_start: int
    source_end: int


@dataclass(frozen=True, slots=True)
class Boundary:
    """Where a sentence or paragraph starts or ends: a segment ends here."""

    kind: Literal["sentence", "paragraph"]
    #: Silence to add here, beyond the engine's own pause at a sentence end.
    pause_s: float


Piece = TextRun | PhonemeRun | Break | Boundary


def silence_samples(seconds: float, rate_hz: int) -> int:
    """How many zero samples ``seconds`` of silence are at ``rate_hz``: round(s * rate).

    Computed on the decimal value written ("0.085" s at 44100 Hz is 3748.5, which rounds
    half to even like Python's ``round``), so binary floating point (3748.4999...)
    cannot move a break by a sample.
    """
    exact = Decimal(repr(float(seconds))) * rate_hz
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


def shift(span: Span, by: int) -> Span:
    """``span`` for the same text moved ``by`` characters later in its piece."""
    return Span(span.start + by, span.end + by, span.source_start, span.source_end)


def slice_spans(spans: tuple[Span, ...], start: int, end: int) -> tuple[Span, ...]:
    """The spans of ``text[start:end]``, relative to ``start``; a literal span is cut
    to the characters kept, any other is kept whole."""
    inside = []
    for span in spans:
        low, high = max(span.start, start), min(span.end, end)
        if low >= high:
            continue
        if span.literal:
            source = (span.source_start + low - span.start, span.source_start + high - span.start)
        else:
            source = (span.source_start, span.source_end)
        inside.append(Span(low - start, high - start, *source))
    return tuple(inside)


def tidy(pieces: list[Piece]) -> list[Piece]:
    """Join neighbouring text alike, trim it and drop what is left empty; keep one
    boundary (the stronger) where several meet, and none at either end."""
    joined: list[Piece] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if isinstance(piece, TextRun) and isinstance(last, TextRun) and _alike(last, piece):
            spans = last.spans + tuple(shift(span, len(last.text)) for span in piece.spans)
            joined[-1] = replace(last, text=last.text + piece.text, spans=spans)
        else:
            joined.append(piece)
    kept: list[Piece] = []
    for piece in joined:
        if isinstance(piece, TextRun):
            if (trimmed := _trim(piece)) is not None:
                kept.append(trimmed)
        elif not isinstance(piece, Boundary):
            kept.append(piece)
        elif kept and isinstance(kept[-1], Boundary):
            if piece.kind == "paragraph":
                kept[-1] = piece
        elif kept:
            kept.append(piece)
    while kept and isinstance(kept[-1], Boundary):
        kept.pop()
    return kept


def _alike(a: TextRun, b: TextRun) -> bool:
    return (a.voice, a.rate, a.language) == (b.voice, b.rate, b.language)


def _trim(run: TextRun) -> TextRun | None:
    stripped = run.text.strip()
    if not stripped:
        return None
    start = len(run.text) - len(run.text.lstrip())
    end = start + len(stripped)
    return replace(run, text=stripped, spans=slice_spans(run.spans, start, end))
