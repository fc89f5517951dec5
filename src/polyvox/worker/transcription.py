"""Transcription streams in a worker: batch, and streaming with voice activity detection.

Blocking work (VAD over a chunk, decoding a window) runs as steps on the worker's
DeadlineScheduler, like synthesis, so STT and TTS streams in one worker share its
cores instead of oversubscribing them. Every step's deadline is "now" when it is
queued: a long batch job re-queues after each decoded window and so interleaves
with other streams rather than holding the inference thread for minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import TypeVar

import numpy as np

from polyvox.engines.base import TranscriptionModel
from polyvox.engines.transcript import (
    SpeechEvent,
    SpeechEventKind,
    TranscriptEvent,
    TranscriptionInfo,
    TranscriptionRequest,
    TranscriptSegment,
    TranscriptUpdate,
    VadParameters,
    transcript_text,
)
from polyvox.worker.scheduler import DeadlineScheduler

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: A partial transcript of the utterance in progress after each second of new speech,
#: or less often when decoding it takes longer: partials (which re-decode the whole
#: utterance so far) then use at most about half of the stream's real time.
PARTIAL_INTERVAL_S = 1.0
_PARTIAL_MAX_SHARE = 0.5
#: Whisper decodes 30 s windows: a longer utterance is finalized in pieces this long.
MAX_UTTERANCE_S = 28.0
#: Audio kept before the current position while nobody speaks, so a detected start
#: (which reaches back by the VAD's padding) still has its samples.
_LOOKBACK_S = 1.0


async def _step(scheduler: DeadlineScheduler, work: Callable[[], T]) -> T:
    return await scheduler.run(work, deadline_s=scheduler.clock())


def _next_segment(segments: Iterator[TranscriptSegment]) -> TranscriptSegment | None:
    return next(segments, None)


async def transcribe_batch(
    model: TranscriptionModel,
    request: TranscriptionRequest,
    samples: np.ndarray,
    scheduler: DeadlineScheduler,
) -> AsyncIterator[TranscriptSegment | TranscriptionInfo]:
    """Yield each segment as its window is decoded, then the info."""
    segments, info = await _step(scheduler, partial(model.transcribe, samples, request))
    iterator = iter(segments)
    while (segment := await _step(scheduler, partial(_next_segment, iterator))) is not None:
        yield segment
    yield info


class StreamingTranscriber:
    """The state of one streaming transcription: audio buffer, VAD, utterances.

    Its methods block (VAD, decoding) and are run as scheduler steps, one at a time.
    """

    def __init__(
        self, model: TranscriptionModel, request: TranscriptionRequest, vad: VadParameters
    ) -> None:
        self._model = model
        self._request = request
        # Partials are previews: greedy, no word timings.
        self._partial_request = replace(
            request, word_timestamps=False, vad_filter=False, options={"beam_size": "1"}
        )
        self._detector = model.voice_activity(vad)
        self._rate = model.info.native_sample_rate_hz
        self._audio = np.zeros(0, np.float32)
        #: Stream sample index of ``_audio[0]``.
        self._audio_start = 0
        self._received = 0
        self._utterance_start: int | None = None
        self._partial_at = 0
        self._partial_cost_s = 0.0
        self._finals: list[tuple[int, int]] = []
        self._utterances = 0
        self._next_segment_id = 0
        self._decoded_samples = 0

    def push(self, samples: np.ndarray) -> list[SpeechEvent]:
        self._trim()
        self._audio = np.concatenate([self._audio, samples])
        self._received += samples.size
        return self._track(self._detector.push(samples))

    def finish(self) -> list[SpeechEvent]:
        """End of audio: close the utterance in progress."""
        return self._track(self._detector.flush())

    def take_final(self) -> tuple[int, int] | None:
        """The next ended utterance to transcribe, as stream sample indices."""
        return self._finals.pop(0) if self._finals else None

    def partial_due(self) -> bool:
        interval_s = max(PARTIAL_INTERVAL_S, self._partial_cost_s / _PARTIAL_MAX_SHARE)
        start = self._utterance_start
        return start is not None and self._received - self._partial_at >= interval_s * self._rate

    def partial(self) -> TranscriptUpdate:
        assert self._utterance_start is not None
        self._partial_at = self._received
        started = time.perf_counter()
        update = self._decode(self._utterance_start, self._received, final=False)
        self._partial_cost_s = time.perf_counter() - started
        return update

    def final(self, span: tuple[int, int]) -> TranscriptUpdate:
        update = self._decode(*span, final=True)
        self._utterances += 1
        return update

    def info(self) -> TranscriptionInfo:
        language = self._request.language or (self._model.info.languages or ("",))[0]
        return TranscriptionInfo(
            language=language,
            language_probability=1.0,
            duration_s=self._received / self._rate,
            duration_after_vad_s=self._decoded_samples / self._rate,
        )

    def _track(self, events: list[SpeechEvent]) -> list[SpeechEvent]:
        for event in events:
            sample = round(event.time_s * self._rate)
            if event.kind is SpeechEventKind.STARTED:
                self._utterance_start = self._partial_at = sample
                self._partial_cost_s = 0.0
            elif self._utterance_start is not None:
                self._finals.append((self._utterance_start, sample))
                self._utterance_start = None
        start = self._utterance_start
        if start is not None and self._received - start >= MAX_UTTERANCE_S * self._rate:
            # Still speaking after a whole window: finalize what we have, go on after it.
            self._finals.append((start, self._received))
            self._utterance_start = self._partial_at = self._received
        return events

    def _trim(self) -> None:
        keep_from = self._received - int(_LOOKBACK_S * self._rate)
        for start, _ in self._finals:
            keep_from = min(keep_from, start)
        if self._utterance_start is not None:
            keep_from = min(keep_from, self._utterance_start)
        if keep_from > self._audio_start:
            self._audio = self._audio[keep_from - self._audio_start :]
            self._audio_start = keep_from

    def _decode(self, start: int, end: int, *, final: bool) -> TranscriptUpdate:
        begin = max(start - self._audio_start, 0)
        audio = self._audio[begin : max(end - self._audio_start, begin)]
        request = self._request if final else self._partial_request
        segments, _ = self._model.transcribe(audio, request)
        offset_s = start / self._rate
        decoded = [segment.shifted(offset_s) for segment in segments]
        if final:
            self._decoded_samples += audio.size
            decoded = [
                segment.shifted(0.0, id=self._next_segment_id + i)
                for i, segment in enumerate(decoded)
            ]
            self._next_segment_id += len(decoded)
        return TranscriptUpdate(
            utterance_index=self._utterances,
            final=final,
            text=transcript_text(decoded),
            start_s=offset_s,
            end_s=end / self._rate,
            segments=tuple(decoded) if final else (),
        )


async def transcribe_streaming(
    model: TranscriptionModel,
    request: TranscriptionRequest,
    audio: AsyncIterator[np.ndarray],
    scheduler: DeadlineScheduler,
    *,
    vad: VadParameters | None = None,
) -> AsyncIterator[TranscriptEvent]:
    """Yield speech events, partial and final transcripts as audio arrives, then the info."""
    session = StreamingTranscriber(model, request, vad or VadParameters())
    async for samples in audio:
        for event in await _step(scheduler, partial(session.push, samples)):
            yield event
        async for update in _transcripts(session, scheduler):
            yield update
    for event in await _step(scheduler, session.finish):
        yield event
    async for update in _transcripts(session, scheduler, partials=False):
        yield update
    yield session.info()


async def _transcripts(
    session: StreamingTranscriber, scheduler: DeadlineScheduler, *, partials: bool = True
) -> AsyncIterator[TranscriptUpdate]:
    while (span := session.take_final()) is not None:
        yield await _step(scheduler, partial(session.final, span))
    if partials and session.partial_due():
        update = await _step(scheduler, session.partial)
        if update.text:
            yield update
