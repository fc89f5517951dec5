"""What one speech request asks the worker for: its segments, the silences between them
(SSML breaks), and where every character of every segment came from in the ORIGINAL
input, so word timings point at the words the client wrote.

Plain text keeps its offsets through :func:`~polyvox.text.normalize.clean_text` (one
character for one), language runs (offsets kept) and the segmenters (which change only
whitespace: :func:`~polyvox.text.pieces.char_positions` finds each character again).
SSML pieces carry their own spans back to the input (:mod:`polyvox.text.ssml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from polyvox.contract.types import ModelInfo, Segment
from polyvox.gateway.languages import check_speakable, language_runs, speaking_languages
from polyvox.gateway.routing import Router
from polyvox.text.normalize import clean_text
from polyvox.text.pieces import char_positions
from polyvox.text.segment import Segmenters
from polyvox.text.ssml import Break, PhonemeRun, Piece, Span, TextRun, is_ssml, parse_ssml

#: The speech API's speed range: ``<prosody rate>`` times the request's speed stays in it.
_SPEED_RANGE = (0.25, 4.0)


@dataclass(frozen=True, slots=True)
class PlannedSegment:
    segment: Segment
    #: For each character of the segment's text, the stretch of the original input it
    #: came from (one character, or the whole of what an SSML expansion replaced).
    sources: tuple[tuple[int, int], ...]

    def source_range(self, start: int, end: int) -> tuple[int, int]:
        """The stretch of the input that ``segment.text[start:end]`` came from."""
        inside = self.sources[max(start, 0) : max(end, start + 1)]
        if not inside:
            return (self.sources[-1][1],) * 2 if self.sources else (0, 0)
        return min(s for s, _ in inside), max(e for _, e in inside)


@dataclass(slots=True)
class SpeechPlan:
    """A request's segments in order, and the silences (seconds) that go before each
    one; ``silences_s[len(segments)]`` comes after the last."""

    original: str
    segments: list[PlannedSegment] = field(default_factory=list)
    silences_s: dict[int, list[float]] = field(default_factory=dict)

    def texts(self) -> list[Segment]:
        return [planned.segment for planned in self.segments]

    def add_silence(self, seconds: float) -> None:
        self.silences_s.setdefault(len(self.segments), []).append(seconds)


def plan_text(
    original: str,
    text: str,
    languages: Sequence[str],
    segmenters: Segmenters,
    *,
    tag_language: bool,
) -> SpeechPlan:
    """Plain ``text`` (``original`` cleaned, the same length) as segments, cut by language
    then by the segmenters, each character mapped back to ``original``."""
    plan = SpeechPlan(original)
    _add_text(plan, text, [Span(0, len(text), 0, len(text))], languages, segmenters,
              tag_language=tag_language)  # fmt: skip
    return plan


def _add_text(
    plan: SpeechPlan,
    text: str,
    spans: Sequence[Span],
    languages: Sequence[str],
    segmenters: Segmenters,
    *,
    tag_language: bool,
    voice: str | None = None,
    speed: float | None = None,
) -> None:
    for run in language_runs(text, languages):
        first = not plan.segments
        cursor = run.start
        for piece in segmenters.for_language(run.language).split(run.text, first=first):
            positions = char_positions(piece, text, cursor)
            cursor = positions[-1]
            sources = tuple(_source(spans, position) for position in positions[:-1])
            language = run.language if tag_language else None
            segment = Segment(piece, language, voice=voice, speed=speed)
            plan.segments.append(PlannedSegment(segment, sources))


def _source(spans: Sequence[Span], position: int) -> tuple[int, int]:
    """Where character ``position`` of a run's text came from."""
    for span in spans:
        if span.start <= position < span.end:
            if span.literal:
                at = span.source_start + position - span.start
                return at, at + 1
            return span.source_start, span.source_end
    last = spans[-1] if spans else Span(0, 0, 0, 0)
    return last.source_end, last.source_end


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What input is planned against: the request's model, voice and settings."""

    model: ModelInfo
    voice: str
    speed: float
    language: str | None
    router: Router
    segmenters: Segmenters


def plan_speech(original: str, request: PlanRequest, *, ssml: bool | None = None) -> SpeechPlan:
    """``original`` (SSML when it starts with ``<speak>``, or as ``ssml`` says) as
    segments and silences; the clear 400s of :func:`plan_ssml` and the language checks.
    Blocking (the segmenters): run it in a thread."""
    if is_ssml(original) if ssml is None else ssml:
        return plan_ssml(original, request)
    text = clean_text(original)
    languages = speaking_languages(request.model, request.voice, request.language)
    check_speakable(text, languages, voices=request.router.tts_voices())
    tag_language = len(languages) > 1 or request.language is not None
    return plan_text(original, text, languages, request.segmenters, tag_language=tag_language)


def plan_ssml(original: str, request: PlanRequest) -> SpeechPlan:
    """SSML ``original`` as segments and silences. Raises SsmlError (400 invalid_ssml)
    for bad markup, and the usual 400s for a voice or language the model lacks."""
    languages = speaking_languages(request.model, request.voice, request.language)
    pieces = parse_ssml(original, language=languages[0].split("-")[0])
    plan = SpeechPlan(original)
    for piece in pieces:
        _add_piece(plan, piece, request)
    return plan


def _add_piece(plan: SpeechPlan, piece: Piece, request: PlanRequest) -> None:
    if isinstance(piece, Break):
        plan.add_silence(piece.seconds)
        return
    if not isinstance(piece, TextRun | PhonemeRun):  # a Boundary: a segment ends here
        if piece.pause_s:
            plan.add_silence(piece.pause_s)
        return
    voice = request.voice
    if piece.voice is not None:
        voice = request.router.resolve_voice(request.model, piece.voice)
    languages = speaking_languages(request.model, voice, piece.language or request.language)
    low, high = _SPEED_RANGE
    speed = min(max(request.speed * piece.rate, low), high)
    overrides = {
        "voice": voice if voice != request.voice else None,
        "speed": speed if speed != request.speed else None,
    }
    tag = len(languages) > 1 or piece.language is not None or request.language is not None
    if isinstance(piece, PhonemeRun):
        source = (piece.source_start, piece.source_end)
        if piece.alphabet in request.model.phoneme_alphabets:
            text = piece.text or piece.phonemes
            segment = Segment(
                text, languages[0] if tag else None, phonemes=piece.phonemes,
                phoneme_alphabet=piece.alphabet, **overrides,  # type: ignore[arg-type]
            )  # fmt: skip
            plan.segments.append(PlannedSegment(segment, (source,) * len(text)))
            return
        # The engine takes no phonemes of this alphabet: it reads the element's text.
        piece = TextRun(piece.text, piece.voice, piece.rate, piece.language,
                        (Span(0, len(piece.text), *source),))  # fmt: skip
        if not piece.text.strip():
            return
    check_speakable(piece.text, languages, voices=request.router.tts_voices())
    _add_text(
        plan, piece.text, piece.spans, languages, request.segmenters, tag_language=tag,
        **overrides,  # type: ignore[arg-type]
    )  # fmt: skip
