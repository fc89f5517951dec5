"""One streaming transcription: VAD as audio arrives, finals (speculative or not), partials.

Three things run at once, so that none waits for another:

- the *feeder* reads the client's audio, commits and clears in order, runs voice
  activity detection over each chunk (on the VAD thread) and sends its speech
  events at once: a barge-in never waits behind a decode;
- *decodes* run as scheduler steps: a final's, a speculative one (started when
  silence begins inside speech; see :mod:`polyvox.worker.utterances`), a partial's;
- the *pump* sends finals in utterance order as their decodes finish.

Load: a final waits for a work slot; a speculation starts only when a slot is free
now (otherwise the final decodes once it is due), and on a busy worker only once
the silence has lasted ``BUSY_SPECULATION_DELAY_S``; a partial only when the worker's
scheduler has nothing else queued or running, so partials are the first thing a
busy worker sheds, and they never hold up a final. A partial is not started while
a silence that may end the utterance is going on (its final is about to be decoded).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import numpy as np

from polyvox.contract.types import (
    SpeechEvent,
    TranscriptEvent,
    TranscriptionClear,
    TranscriptionCommit,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptionInput,
    TranscriptSegment,
    TranscriptUpdate,
    VadConfig,
    transcript_text,
)
from polyvox.engines.base import TranscriptionModel, TranscriptionRequest, VadParameters
from polyvox.worker.admission import Admission, WorkSlot
from polyvox.worker.scheduler import DeadlineScheduler
from polyvox.worker.utterances import FinalJob, Span, Utterances

_END = object()
T = TypeVar("T")
#: A busy worker starts a speculation only once the silence has lasted this long:
#: the pauses inside a sentence (a comma) are mostly shorter, and each one would
#: cost a decode thrown away, which other streams wait behind. An idle worker starts
#: at once (wasted work costs nobody anything then).
BUSY_SPECULATION_DELAY_S = 0.2


def vad_parameters(vad: VadConfig | None) -> VadParameters:
    """A stream's VAD settings as the detector takes them (defaults when unset)."""
    if vad is None:
        return VadParameters()
    return VadParameters(
        threshold=vad.threshold,
        min_silence_ms=vad.silence_duration_ms,
        speech_pad_ms=vad.suffix_padding_ms,
        start_pad_ms=vad.prefix_padding_ms,
    )


@dataclass(frozen=True, slots=True)
class _Decoded:
    segments: tuple[TranscriptSegment, ...]
    info: TranscriptionInfo | None
    samples: int


def _decode(
    model: TranscriptionModel, request: TranscriptionRequest, audio: np.ndarray
) -> _Decoded:
    """Blocking: the whole span in one step (an utterance is at most one window)."""
    segments, info = model.transcribe(audio, request)
    return _Decoded(tuple(segments), info, audio.size)


class LiveTranscription:
    def __init__(
        self,
        model: TranscriptionModel,
        config: TranscriptionConfig,
        request: TranscriptionRequest,
        *,
        scheduler: DeadlineScheduler,
        admission: Admission,
        vad_executor: Executor,
    ) -> None:
        self._model = model
        self._request = request
        self._preview = model.preview_request(request)
        self._scheduler = scheduler
        self._admission = admission
        self._vad_executor = vad_executor
        self._rate = model.info.native_sample_rate_hz
        params = vad_parameters(config.vad)
        self._utterances = Utterances(
            model.voice_activity(params),
            rate_hz=self._rate,
            turn_detection=config.turn_detection,
            suffix_pad_ms=params.speech_pad_ms,
            speculative=config.speculative,
        )
        self._partials = config.partials
        self._out: asyncio.Queue[object] = asyncio.Queue()
        self._finals: asyncio.Queue[tuple[FinalJob, asyncio.Task[_Decoded] | None] | None]
        self._finals = asyncio.Queue()
        self._spec: tuple[Span, asyncio.Task[_Decoded]] | None = None
        self._partial: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finalized = 0
        self._next_segment_id = 0
        self._decoded_samples = 0
        self._last_info: TranscriptionInfo | None = None

    async def events(
        self, inputs: AsyncIterator[TranscriptionInput]
    ) -> AsyncIterator[TranscriptEvent]:
        feeder = asyncio.create_task(self._feed(inputs), name="transcribe-feed")
        pump = asyncio.create_task(self._pump(), name="transcribe-pump")
        try:
            while (item := await self._out.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, SpeechEvent | TranscriptUpdate | TranscriptionInfo)
                yield item
        finally:
            for task in (feeder, pump, *self._tasks):
                task.cancel()
            if self._spec is not None:
                self._spec[1].cancel()
            for task in (feeder, pump, *self._tasks):
                with contextlib.suppress(BaseException):
                    await task

    # -- input ------------------------------------------------------------------

    async def _feed(self, inputs: AsyncIterator[TranscriptionInput]) -> None:
        utterances = self._utterances
        loop = asyncio.get_running_loop()
        try:
            async for item in inputs:
                if isinstance(item, TranscriptionCommit):
                    utterances.commit(item.id)
                elif isinstance(item, TranscriptionClear):
                    utterances.clear()
                else:
                    push = partial(utterances.push, item)
                    for event in await loop.run_in_executor(self._vad_executor, push):
                        self._out.put_nowait(event)
                self._after_input()
            for event in await loop.run_in_executor(self._vad_executor, utterances.finish):
                self._out.put_nowait(event)
            self._after_input(partials=False)
        except Exception as exc:
            self._out.put_nowait(exc)
        finally:
            self._finals.put_nowait(None)

    def _after_input(self, *, partials: bool = True) -> None:
        while (job := self._utterances.take_final()) is not None:
            self._finals.put_nowait((job, self._final_decode(job)))
        self._update_speculation()
        if partials and self._partials:
            self._maybe_partial()

    # -- decoding ---------------------------------------------------------------

    def _final_decode(self, job: FinalJob) -> asyncio.Task[_Decoded] | None:
        if job.decode is None:
            return None
        if self._spec is not None and self._spec[0] == job.decode:
            task = self._spec[1]  # decoded while the silence was being confirmed
            self._spec = None
            return task
        audio = self._utterances.audio(job.decode)
        return self._spawn(self._run_decode(audio, self._request, slot=None))

    def _update_speculation(self) -> None:
        span = self._utterances.speculation()
        if self._spec is not None and self._spec[0] != span:
            self._spec[1].cancel()  # speech resumed: throw it away
            self._spec = None
        if span is None or self._spec is not None:
            return
        busy = self._scheduler.queued or self._scheduler.running
        if busy and self._utterances.silence_s < BUSY_SPECULATION_DELAY_S:
            return  # asked again with the next chunk
        slot = self._admission.try_work_or_none()
        if slot is None:
            return  # busy: the final decodes once it is due (asked again next chunk)
        audio = self._utterances.audio(span)
        self._spec = (span, self._spawn(self._run_decode(audio, self._request, slot=slot)))

    def _maybe_partial(self) -> None:
        if self._partial is not None and not self._partial.done():
            return
        if self._scheduler.queued or self._scheduler.running:
            return  # the worker is busy: a preview can wait, other work cannot
        span = self._utterances.partial_due()
        if span is None:
            return
        slot = self._admission.try_work_or_none()
        if slot is None:
            return
        audio = self._utterances.audio(span)
        utterance = self._utterances.utterance
        self._partial = self._spawn(self._run_partial(audio, span, utterance, slot))

    async def _run_decode(
        self, audio: np.ndarray, request: TranscriptionRequest, *, slot: WorkSlot | None
    ) -> _Decoded:
        if slot is None:
            slot = await self._admission.work()
        try:
            exclusive = None if self._model.concurrent_calls else self._model
            work = partial(_decode, self._model, request, audio)
            return await self._scheduler.run(
                work, deadline_s=self._scheduler.clock(), exclusive=exclusive
            )
        finally:
            slot.release()

    async def _run_partial(
        self, audio: np.ndarray, span: Span, utterance: int, slot: WorkSlot
    ) -> None:
        started = time.perf_counter()
        decoded = await self._run_decode(audio, self._preview, slot=slot)
        self._utterances.partial_cost_s = time.perf_counter() - started
        text = transcript_text(decoded.segments)
        # Sent unless its utterance's final has gone out (finals and partials share the
        # output queue, so one put before the final's is read before it).
        if text and utterance >= self._finalized:
            self._out.put_nowait(
                TranscriptUpdate(
                    utterance, False, text, span.start / self._rate, span.end / self._rate
                )
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- output -----------------------------------------------------------------

    async def _pump(self) -> None:
        """Finals in utterance order, then the stream's info and its end."""
        try:
            while (entry := await self._finals.get()) is not None:
                job, task = entry
                decoded = await task if task is not None else None
                self._out.put_nowait(self._final(job, decoded))
            self._out.put_nowait(self._info())
        except Exception as exc:
            self._out.put_nowait(exc)
        self._out.put_nowait(_END)

    def _final(self, job: FinalJob, decoded: _Decoded | None) -> TranscriptUpdate:
        self._finalized = job.utterance + 1
        segments: list[TranscriptSegment] = []
        if decoded is not None and job.decode is not None:
            offset_s = job.decode.start / self._rate
            segments = [
                segment.shifted(offset_s, id=self._next_segment_id + i)
                for i, segment in enumerate(decoded.segments)
            ]
            self._next_segment_id += len(segments)
            self._decoded_samples += decoded.samples
            self._last_info = decoded.info or self._last_info
        return TranscriptUpdate(
            utterance_index=job.utterance,
            final=True,
            text=transcript_text(segments),
            start_s=job.span.start / self._rate,
            end_s=job.span.end / self._rate,
            segments=tuple(segments),
            commit_id=job.commit_id,
        )

    def _info(self) -> TranscriptionInfo:
        """What the stream heard: the language its model decoded last (the request's,
        or the model's only one, before any decode)."""
        if self._last_info is not None:
            language = self._last_info.language
            probability = self._last_info.language_probability
        else:
            language = self._request.language or (self._model.info.languages or ("",))[0]
            probability = 1.0 if self._request.language else 0.0
        return TranscriptionInfo(
            language=language,
            language_probability=probability,
            duration_s=self._utterances.received / self._rate,
            duration_after_vad_s=self._decoded_samples / self._rate,
        )
