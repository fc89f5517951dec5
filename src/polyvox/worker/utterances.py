"""The utterances of one streaming transcription: where each begins and ends, and what
to decode for it. Bookkeeping only; the stream (``transcription_stream``) decodes.

Audio is indexed in samples from the start of the stream. An utterance ends when
voice activity detection has heard a long enough silence (``TurnDetection.
VOICE_ACTIVITY``), or when the client commits (either mode). Each ended utterance
becomes a :class:`FinalJob`: the span its final reports, and the span to decode
(``None`` when no speech was heard in it: silence is not decoded, Whisper would
invent words for it).

Speculation: from the moment silence has begun inside speech,
:meth:`Utterances.speculation` names the span a final would decode if that silence
ended the utterance; the stream decodes at once the part of it that has arrived.
When the final comes (silence confirmed, or a commit with no speech since), its
decode span is that same span and the result is used as it is. Speech that
resumes clears it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polyvox.contract.types import SpeechEvent, SpeechEventKind, TurnDetection
from polyvox.engines.base import VoiceActivityDetector
from polyvox.errors import InvalidArgument
from polyvox.worker.sample_buffer import SampleBuffer

#: Whisper decodes 30 s windows: a longer utterance is finalized in pieces this long.
MAX_UTTERANCE_S = 28.0
#: Most audio a client-committed stream may hold uncommitted (its samples are kept).
MAX_UNCOMMITTED_S = 300.0
#: A partial transcript after each second of new speech, or less often when decoding
#: takes longer: partials (which re-decode the whole utterance so far) then use at
#: most about half of the stream's real time.
PARTIAL_INTERVAL_S = 1.0
_PARTIAL_MAX_SHARE = 0.5
#: Audio kept before the current position while nobody speaks, so a detected start
#: (which reaches back by the VAD's padding) still has its samples.
_LOOKBACK_S = 1.0


@dataclass(frozen=True, slots=True)
class Span:
    """Samples [start, end) of the stream."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FinalJob:
    """An utterance that has ended, to be finalized."""

    utterance: int
    #: What the final reports as the utterance's audio.
    span: Span
    #: What to decode (``None``: no speech in it, the transcript is empty).
    decode: Span | None
    commit_id: int = 0


class Utterances:
    """Utterance boundaries of one stream. :meth:`push` and :meth:`finish` block (voice
    activity detection); call every method from one task, one at a time."""

    def __init__(
        self,
        detector: VoiceActivityDetector,
        *,
        rate_hz: int,
        turn_detection: TurnDetection = TurnDetection.VOICE_ACTIVITY,
        suffix_pad_ms: int = 100,
        speculative: bool = False,
    ) -> None:
        self._detector = detector
        self._rate = rate_hz
        self._client_turns = turn_detection is TurnDetection.CLIENT
        self._suffix_pad = rate_hz * suffix_pad_ms // 1000
        self._speculative = speculative
        self._audio = SampleBuffer()
        #: Where the audio not yet part of an ended utterance begins.
        self._boundary = 0
        #: Start of the stretch of speech in progress.
        self._speech_start: int | None = None
        #: Speech was heard since the boundary (client turns).
        self._heard = False
        self._spec: Span | None = None
        self._jobs: list[FinalJob] = []
        #: Index of the next utterance to end.
        self.utterance = 0
        self._partial_at = 0
        self.partial_cost_s = 0.0

    @property
    def received(self) -> int:
        """Samples received so far."""
        return self._audio.end

    def push(self, samples: np.ndarray) -> list[SpeechEvent]:
        if self._client_turns and self.received - self._boundary > MAX_UNCOMMITTED_S * self._rate:
            raise InvalidArgument(
                f"more than {MAX_UNCOMMITTED_S:g} s of audio since the last commit"
            )
        self._trim()
        self._audio.append(samples)
        return self._track(self._detector.push(samples))

    def finish(self) -> list[SpeechEvent]:
        """End of audio: close the stretch of speech in progress (voice activity turns)."""
        return self._track(self._detector.flush())

    def commit(self, commit_id: int) -> None:
        """The client ends the utterance now."""
        start = self._boundary
        if not self._client_turns and self._speech_start is not None:
            start = self._speech_start
        heard = self._heard if self._client_turns else self._speech_start is not None
        decode: Span | None = None
        if heard:
            spec = self._spec
            decode = (
                spec if spec is not None and spec.start == start else Span(start, self.received)
            )
        self._end(FinalJob(self.utterance, Span(start, self.received), decode, commit_id))
        self._detector.restart()

    def clear(self) -> None:
        """Drop the audio since the last utterance ended; no final answers."""
        self._boundary = self.received
        self._speech_start = None
        self._heard = False
        self._spec = None
        self._detector.restart()

    def take_final(self) -> FinalJob | None:
        """The next ended utterance, in order."""
        return self._jobs.pop(0) if self._jobs else None

    def speculation(self) -> Span | None:
        """The span a final would decode if the silence heard now ended the utterance;
        ``None`` while speech goes on (or without speculation)."""
        return self._spec

    @property
    def silence_s(self) -> float:
        """How long the silence that may end the speech in progress has lasted (0: none)."""
        silence_s = self._detector.silence_started_s
        if silence_s is None or not self._detector.in_speech:
            return 0.0
        return max(0.0, self.received / self._rate - silence_s)

    def audio(self, span: Span) -> np.ndarray:
        """A copy of the samples of ``span`` (decoded on another thread while audio
        keeps arriving)."""
        return np.array(self._audio.slice(span.start, span.end), dtype=np.float32)

    def partial_due(self) -> Span | None:
        """The utterance so far, when a partial transcript of it is due."""
        start = self._speech_start if not self._client_turns else self._boundary
        if self._speech_start is None or start is None:
            return None
        if self._detector.silence_started_s is not None:
            return None  # a final is coming: its speculative decode goes first
        interval_s = max(PARTIAL_INTERVAL_S, self.partial_cost_s / _PARTIAL_MAX_SHARE)
        if self.received - max(self._partial_at, start) < interval_s * self._rate:
            return None
        self._partial_at = self.received
        return Span(start, self.received)

    def _end(self, job: FinalJob) -> None:
        self._jobs.append(job)
        self.utterance += 1
        self._boundary = job.span.end
        self._speech_start = None
        self._heard = False
        self._spec = None

    def _track(self, events: list[SpeechEvent]) -> list[SpeechEvent]:
        for event in events:
            sample = round(event.time_s * self._rate)
            if event.kind is SpeechEventKind.STARTED:
                self._speech_start = self._partial_at = sample
                self._heard = True
                self._spec = None
                self.partial_cost_s = 0.0
            elif self._client_turns:
                self._speech_start = None
            elif self._speech_start is not None:
                span = Span(self._speech_start, sample)
                self._end(FinalJob(self.utterance, span, span))
        self._split_long()
        self._update_speculation()
        return events

    def _split_long(self) -> None:
        start = self._speech_start
        if self._client_turns or start is None:
            return
        if self.received - start >= MAX_UTTERANCE_S * self._rate:
            # Still speaking after a whole window: finalize what we have, go on after it.
            span = Span(start, self.received)
            self._end(FinalJob(self.utterance, span, span))
            self._speech_start = self._partial_at = self.received
            self._heard = True

    def _update_speculation(self) -> None:
        if not self._speculative or not self._detector.in_speech:
            return  # outside speech a speculation stands until new speech or a commit
        silence_s = self._detector.silence_started_s
        start = self._boundary if self._client_turns else self._speech_start
        if silence_s is None or start is None:
            self._spec = None
            return
        end = round(silence_s * self._rate) + self._suffix_pad
        if self._spec is not None and self._spec.end != end:
            self._spec = None  # speech came back and stopped again
        if self._spec is None:
            # Named by the span the final will have; decoded from what has arrived (up
            # to a window past where the silence began): not waiting for the rest of the
            # end padding, which the detector has called silence, saves that much time.
            self._spec = Span(start, end)

    def _trim(self) -> None:
        keep_from = self.received - int(_LOOKBACK_S * self._rate)
        if self._client_turns:
            keep_from = min(keep_from, self._boundary)
        if self._speech_start is not None:
            keep_from = min(keep_from, self._speech_start)
        self._audio.drop_before(keep_from)
