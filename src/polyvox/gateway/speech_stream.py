"""Turn worker audio into the client's format as it arrives: resample, then encode.

SSML breaks are made here, after resampling: at a break the resampler is flushed
(the audio before it ends whole), exactly ``round(seconds * rate)`` zero samples at the
output rate are encoded, and a fresh resampler starts with the next segment, so no
rate conversion moves a break by a sample. Word timings are placed on the same
timeline: a segment starts where the audio before it (and its breaks) ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass

import numpy as np

from polyvox.audio import AudioEncoder, StreamResampler
from polyvox.contract.client import WorkerClient
from polyvox.contract.types import AudioChunk, SegmentEnd, SynthesisConfig, WordTiming
from polyvox.gateway.errors import ApiError
from polyvox.gateway.speech_plan import SpeechPlan
from polyvox.gateway.word_timeline import SpokenWord, WordTimeline
from polyvox.text.ssml import silence_samples

#: OpenAI's API returns 24 kHz audio; so do we unless the client asks otherwise.
DEFAULT_SAMPLE_RATE_HZ = 24_000
#: A stream's first audio is encoded and sent in two parts: this much first, so a
#: compressed format's first bytes leave before the rest is encoded. 100 ms is the
#: shortest from which LAME (the pickiest codec here, ~1.1k samples of look-ahead)
#: emits an audio frame at 24 kHz.
_FIRST_SLICE_MS = 100


@dataclass(slots=True)
class StreamStats:
    """What one request's stream produced; complete once the stream has ended."""

    audio_s: float = 0.0


class _Pipeline:
    """One stateful resampler and one encoder for one request: no clicks at joins.

    Its methods run in worker threads; a lock keeps them one at a time, because a
    request cancelled (client gone) while a thread is still encoding must not
    close the PyAV container under it: that crashes the process.
    """

    def __init__(self, encoder: AudioEncoder) -> None:
        self.encoder = encoder
        self.resampler: StreamResampler | None = None
        self.output_samples = 0
        self._lock = threading.Lock()

    def resample(self, chunk: AudioChunk) -> np.ndarray:
        with self._lock:
            if self.resampler is None:
                self.resampler = StreamResampler(
                    in_rate_hz=chunk.sample_rate_hz, out_rate_hz=self.encoder.sample_rate_hz
                )
            return self.resampler.process(chunk.samples)

    def encode(self, samples: np.ndarray) -> bytes:
        with self._lock:
            return self._encode(samples)

    def finish(self) -> bytes:
        with self._lock:
            return self._flush_resampler() + self.encoder.flush()

    def silence(self, num_samples: int) -> bytes:
        """End the audio so far (flush the resampler), then ``num_samples`` zeros."""
        with self._lock:
            head = self._flush_resampler()
            self.resampler = None
            return head + self._encode(np.zeros(num_samples, np.float32))

    def _flush_resampler(self) -> bytes:
        return self._encode(self.resampler.flush()) if self.resampler is not None else b""

    def abandon(self) -> None:
        """Free the encoder once no thread is using it (waits at most one slice)."""
        with self._lock, contextlib.suppress(Exception):
            self.encoder.close()

    def _encode(self, samples: np.ndarray) -> bytes:
        self.output_samples += samples.size
        return self.encoder.encode(samples) if samples.size else b""


def _slices(samples: np.ndarray, rate_hz: int, *, first: bool) -> Iterator[np.ndarray]:
    """A chunk's audio in the pieces to encode and send. Later chunks go whole: the
    listener has audio buffered by then, and every piece costs a thread hop and a
    write on both ends, CPU that the worker's inference would otherwise have."""
    if first:
        cut = rate_hz * _FIRST_SLICE_MS // 1000
        yield samples[:cut]
        samples = samples[cut:]
    if samples.size:
        yield samples


class _Timeline:
    """Where the audio received so far ends, in seconds of the output: exact after a
    break (counted from the samples encoded), then advanced by the worker's audio."""

    def __init__(self, pipeline: _Pipeline) -> None:
        self._pipeline = pipeline
        self._base_s = 0.0
        self._native_s = 0.0

    @property
    def now_s(self) -> float:
        return self._base_s + self._native_s

    def received(self, chunk: AudioChunk) -> None:
        self._native_s += chunk.samples.size / chunk.sample_rate_hz

    def rebase(self) -> None:
        self._base_s = self._pipeline.output_samples / self._pipeline.encoder.sample_rate_hz
        self._native_s = 0.0


async def stream_speech(
    client: WorkerClient,
    config: SynthesisConfig,
    plan: SpeechPlan,
    *,
    native_rate_hz: int,
    encoder: AudioEncoder,
    stats: StreamStats | None = None,
) -> AsyncGenerator[bytes | SpokenWord, None]:
    """Yield encoded bytes as each segment's audio arrives, with the plan's silences in
    place and, when ``config.word_timings``, each word of the input once it is known;
    the encoder is flushed last.

    Nothing is yielded before the first audio exists, so a caller that awaits the
    first chunk before sending headers still turns every early failure (bad
    voice, worker down, input that yields no audio) into a proper HTTP error.
    """
    pipeline = _Pipeline(encoder)
    timeline = _Timeline(pipeline)
    words = WordTimeline(plan)
    current = -1
    finished = False

    async def silences(index: int) -> AsyncGenerator[bytes, None]:
        """The breaks planned before segment ``index`` (after the last: ``len``)."""
        if index not in plan.silences_s:
            return
        count = sum(silence_samples(s, encoder.sample_rate_hz) for s in plan.silences_s[index])
        if data := await asyncio.to_thread(pipeline.silence, count):
            yield data
        timeline.rebase()

    try:
        # aclosing: a client that leaves cancels the worker's stream now, not at GC.
        async with contextlib.aclosing(client.synthesize(config, plan.texts())) as audio:
            async for item in audio:
                if item.segment_index != current:
                    # Segments arrive in order; the first thing of the next one starts
                    # it, after the breaks planned before it.
                    current = item.segment_index
                    async for data in silences(current):
                        yield data
                    words.start_segment(current, timeline.now_s)
                if isinstance(item, WordTiming):
                    for word in words.add(item, native_rate_hz):
                        yield word
                    continue
                if isinstance(item, SegmentEnd):
                    for word in words.end_segment(timeline.now_s):
                        yield word
                    continue
                if not item.samples.size:
                    continue
                timeline.received(item)
                # Resampling and encoding are CPU work: keep them off the event loop.
                first = pipeline.output_samples == 0
                samples = await asyncio.to_thread(pipeline.resample, item)
                for piece in _slices(samples, encoder.sample_rate_hz, first=first):
                    if data := await asyncio.to_thread(pipeline.encode, piece):
                        yield data
        if pipeline.output_samples == 0:
            raise ApiError(422, "the input produced no audio", code="no_audio", param="input")
        async for data in silences(len(plan.segments)):
            yield data
        finished = True
        yield await asyncio.to_thread(pipeline.finish)
    finally:
        if stats is not None:
            stats.audio_s = pipeline.output_samples / encoder.sample_rate_hz
        if not finished:
            pipeline.abandon()
