"""One Synthesize stream in a worker: text segments in, audio chunks out, in turns.

A stream holds a session while it is open. It works in *turns*: a turn starts when a
segment arrives for a stream that was idle and ends when the stream has synthesized
everything it was sent before a Pause (or End). Only a turn holds a work slot and a
lease on the model, so an idle stream (a voice agent's quiet WebSocket session)
neither counts against the worker's capacity nor pins its model against eviction.
A client that runs out of segments without saying Pause keeps its turn for
``_TURN_HOLD_S`` more, in case its next segment is on the way.

Each piece of a segment is synthesized step by step through the deadline scheduler
(one engine ``next()`` per step): due now for a listener with no audio left, else
when the audio already sent will have played.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from polyvox.contract.types import (
    AudioChunk,
    Capability,
    ModelInfo,
    Pause,
    Segment,
    SegmentEnd,
    SynthesisConfig,
    SynthesisEvent,
)
from polyvox.engines.base import (
    EngineChunk,
    KnowsItsEnd,
    SpeechModel,
    SynthesisRequest,
    TimedChunk,
    WordMark,
)
from polyvox.errors import InvalidArgument, ResourceExhausted
from polyvox.logs import bind_context
from polyvox.text.pieces import char_positions, split_to_length
from polyvox.voices import is_blend, resolve_blend
from polyvox.worker.admission import Admission, WorkSlot
from polyvox.worker.models import ModelLease, ModelManager
from polyvox.worker.scheduler import DeadlineScheduler, PlaybackClock
from polyvox.worker.segment_words import SegmentWords
from polyvox.worker.settings import WorkerTuning

logger = logging.getLogger(__name__)

#: A stream's next segment, with its index.
TextInput = tuple[int, Segment]

_END = object()
#: Segments read ahead of synthesis; past this the reader stops reading and gRPC's
#: flow control holds the sender back.
_READ_AHEAD = 64
#: Longest wait, after a stream failed, for its client to finish writing.
_DRAIN_TIMEOUT_S = 2.0
#: How long a turn waits for its next segment when the client said no Pause.
_TURN_HOLD_S = 2.0
#: Longest a new stream is held while working listeners' next audio is due, before it
#: is refused (a few steps: beyond that it waits in the gateway's line, holding nothing).
_NEWCOMER_HOLD_S = 0.5
#: How long a stream's next inference waits after the chunk that ended a listener's
#: silence. 5 ms was enough for the gateway to ship it on the 2-core development
#: machine (docs/benchmarks.md); twice that leaves room for a slower one.
_FIRST_AUDIO_HANDOFF_S = 0.010


def _next_chunk(chunks: Iterator[EngineChunk]) -> tuple[object, float]:
    """The engine's next chunk (or _END), and the seconds it took to make."""
    started = time.perf_counter()
    chunk = next(chunks, _END)
    return chunk, time.perf_counter() - started


class CharCost:
    """Seconds of compute per character of text, a moving average over whole pieces."""

    def __init__(self, *, weight: float = 0.1) -> None:
        self._weight = weight
        self.seconds: float | None = None

    def record(self, compute_s: float, chars: int) -> None:
        if chars <= 0 or compute_s <= 0:
            return
        cost = compute_s / chars
        previous = self.seconds
        self.seconds = cost if previous is None else previous + self._weight * (cost - previous)


@dataclass(slots=True)
class _Turn:
    slot: WorkSlot
    lease: ModelLease

    @property
    def model(self) -> SpeechModel:
        model = self.lease.model
        assert isinstance(model, SpeechModel)  # checked through info.capability
        return model

    def end(self) -> None:
        self.lease.release()
        self.slot.release()


Inbox = asyncio.Queue[TextInput | Pause | object]


def _voice(info: ModelInfo, voice: str) -> str:
    """``voice`` as the model knows it (a blend resolved), or a clear InvalidArgument."""
    if voice not in (valid := info.voice_ids()) and is_blend(voice):
        return str(resolve_blend(info, voice))
    if voice not in valid:
        raise InvalidArgument(
            f"model {info.id!r} has no voice {voice!r}; valid voices: {', '.join(valid)}"
        )
    return voice


def _check_speed(speed: float) -> None:
    if not (speed > 0 and np.isfinite(speed)):
        raise InvalidArgument(f"speed must be a positive number, got {speed}")


async def _next_input(inbox: Inbox, turn: _Turn | None, paused: bool) -> tuple[object, bool]:
    """The stream's next input, and whether its turn must end first: the turn ends once
    nothing is left of it (after a Pause at once, otherwise after a short hold)."""
    if turn is None or not inbox.empty():
        return await inbox.get(), False
    if paused:
        return None, True
    try:
        return await asyncio.wait_for(inbox.get(), _TURN_HOLD_S), False
    except TimeoutError:
        return None, True


class _ReadAhead:
    """Reads the client's segments into a bounded inbox, in a task of its own, so the
    stream can tell "nothing more for now" (idle) from "more is here" (same turn).

    When the stream stops early (an error), the reader goes on reading and drops what
    it reads until the client's end: a call whose client is still writing when the
    server ends it loses its status to a write race (grpc/grpc#36066), and cancelling
    a pending read would do the same.
    """

    def __init__(self, segments: AsyncIterator[TextInput | Pause]) -> None:
        self.inbox: Inbox = asyncio.Queue(_READ_AHEAD)
        self._discarding = False
        self._task = asyncio.create_task(self._read(segments), name="read-segments")

    async def _read(self, segments: AsyncIterator[TextInput | Pause]) -> None:
        try:
            async for segment in segments:
                if not self._discarding:
                    await self.inbox.put(segment)
        except Exception as exc:
            if not self._discarding:
                await self.inbox.put(exc)
            return
        if not self._discarding:
            await self.inbox.put(_END)

    async def close(self) -> None:
        """Stop delivering; let the client finish writing (bounded), then stop reading."""
        self._discarding = True
        while not self.inbox.empty():  # unblock a reader waiting for room
            self.inbox.get_nowait()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), _DRAIN_TIMEOUT_S)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class SynthesisStreams:
    """Serves every Synthesize stream of one worker."""

    def __init__(
        self,
        *,
        settings: WorkerTuning,
        models: ModelManager,
        scheduler: DeadlineScheduler,
        admission: Admission,
    ) -> None:
        self._settings = settings
        self._models = models
        self._scheduler = scheduler
        self._admission = admission
        self._char_cost = CharCost()
        #: The playback clocks of the streams in a turn now, by identity.
        self._listeners: dict[int, PlaybackClock] = {}

    def _validate(self, config: SynthesisConfig) -> tuple[ModelInfo, str]:
        info = self._models.info(config.model_id)
        if info.capability is not Capability.TTS:
            raise InvalidArgument(f"model {info.id!r} does not synthesize speech")
        _check_speed(config.speed)
        return info, _voice(info, config.voice or info.default_voice.id)

    def _request(
        self, config: SynthesisConfig, info: ModelInfo, voice: str, segment: Segment
    ) -> SynthesisRequest:
        """What the engine is asked for one segment: the stream's settings, overridden
        by the segment's own voice and speed (SSML)."""
        if segment.voice:
            voice = _voice(info, segment.voice)
        speed = segment.speed or config.speed
        _check_speed(speed)
        if segment.phonemes and segment.phoneme_alphabet not in info.phoneme_alphabets:
            readable = ", ".join(info.phoneme_alphabets) or "none"
            raise InvalidArgument(
                f"model {info.id!r} reads no {segment.phoneme_alphabet!r} phonemes "
                f"(alphabets it reads: {readable})"
            )
        return SynthesisRequest(
            text=segment.text,
            voice=voice,
            speed=speed,
            options=dict(config.options),
            language=segment.language,
            phonemes=segment.phonemes,
            phoneme_alphabet=segment.phoneme_alphabet,
            word_timings=config.word_timings,
        )

    async def stream(
        self, config: SynthesisConfig, segments: AsyncIterator[TextInput | Pause]
    ) -> AsyncIterator[SynthesisEvent]:
        """Serve one stream (its session is held by the caller)."""
        # Each RPC runs in its own task: its log lines carry the gateway's request id.
        bind_context(request_id=config.request_id or None, model=config.model_id)
        info, voice = self._validate(config)
        reader = _ReadAhead(segments)
        inbox = reader.inbox
        playback = PlaybackClock(clock=self._scheduler.clock)
        turn: _Turn | None = None
        turns = 0
        paused = False
        logger.debug("synthesis started: voice %s, speed %.2f", voice, config.speed)
        try:
            while True:
                item, turn_over = await _next_input(inbox, turn, paused)
                if turn_over and turn is not None:
                    turn.end()  # nothing more to say for now: hold nothing while idle
                    turn = None
                    del self._listeners[id(playback)]
                if item is None:
                    item = await inbox.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                paused = isinstance(item, Pause)
                if paused:
                    continue
                assert isinstance(item, tuple)
                index, segment = item
                request = self._request(config, info, voice, segment)
                if turn is None:
                    refuse_if_full = turns == 0 and not config.wait_for_slot
                    turn = await self._begin_turn(info.id, refuse_if_full=refuse_if_full)
                    turns += 1
                    self._listeners[id(playback)] = playback
                async for event in self._segment(turn.model, index, request, info, playback):
                    yield event
        finally:
            if turn is not None:
                turn.end()
            self._listeners.pop(id(playback), None)
            await reader.close()
            logger.info(
                "synthesis ended: %.2f s of audio sent in %d turn(s)",
                playback.audio_sent_s, turns,
            )  # fmt: skip

    async def _begin_turn(self, model_id: str, *, refuse_if_full: bool) -> _Turn:
        if refuse_if_full:
            await self._wait_while_listeners_due()
        slot = self._admission.try_work() if refuse_if_full else await self._admission.work()
        try:
            lease = await self._models.acquire(model_id)
        except BaseException:
            slot.release()
            raise
        return _Turn(slot, lease)

    async def _wait_while_listeners_due(self) -> None:
        """Hold a new stream while a working stream's next audio is due soon and not
        made yet (see WorkerTuning.newcomer_slack_ms); RESOURCE_EXHAUSTED if that
        lasts past ``_NEWCOMER_HOLD_S`` (it then waits in the gateway's line)."""
        slack_s = self._settings.newcomer_slack_ms / 1000
        working = self._admission.working
        if not slack_s or not working or working >= self._admission.capacity:
            return  # nobody to keep in time, or full anyway (try_work says so)
        if not self._scheduler.due_within(slack_s):
            return
        self._admission.note_refusal()  # newcomers are being held back: see _piece_chars
        if not await self._scheduler.none_due_within(slack_s, timeout_s=_NEWCOMER_HOLD_S):
            raise ResourceExhausted(
                f"worker's {self._admission.working} working streams need their next audio "
                "first; retry shortly"
            )

    def _piece_chars(self, request: SynthesisRequest) -> int | None:
        """The longest piece of a segment (characters) now; None: the segment whole.

        A lone stream keeps its segments whole. Beside others, pieces of
        ``busy_split_chars`` bound how long a newcomer's first audio waits behind
        this stream. But while the worker is holding newcomers back (a burst: they
        wait for the working listeners anyway), that costs throughput for nobody: pieces
        are then cut only as fine as the working streams' listeners need: each of
        them may run one piece before the first of them (this one included) runs
        out of audio, so a piece takes at most that time over their number
        (bench/burst.py).
        """
        floor = self._settings.busy_split_chars
        if request.phonemes or not floor or self._admission.working <= 1:
            return None
        per_char_s = self._char_cost.seconds
        if not self._admission.refused_lately() or per_char_s is None or not self._listeners:
            return floor
        first_dry_s = min(playback.next_deadline_s() for playback in self._listeners.values())
        # Every working stream may run one piece before the first listener runs dry.
        budget_s = (first_dry_s - self._scheduler.clock()) / self._admission.working
        return max(floor, int(budget_s / per_char_s))

    def _pieces(self, request: SynthesisRequest) -> list[tuple[str, list[int]]]:
        """The texts to synthesize one after another for one segment (see
        WorkerTuning.busy_split_chars), each with where its characters are in the
        segment's text: whole unless another stream is working (or it is phonemes)."""
        text = request.text
        if not text.strip() and not request.phonemes:
            return []
        limit = self._piece_chars(request)
        if limit is None or len(text) <= limit:
            return [(text, [])]
        pieces = []
        cursor = 0
        for piece in split_to_length(text, limit):
            positions = char_positions(piece, text, cursor)
            cursor = positions[-1]
            pieces.append((piece, positions))
        return pieces

    async def _segment(
        self,
        model: SpeechModel,
        index: int,
        request: SynthesisRequest,
        info: ModelInfo,
        playback: PlaybackClock,
    ) -> AsyncIterator[SynthesisEvent]:
        if "\x00" in request.text:
            raise InvalidArgument(f"segment {index} contains a NUL character")
        if len(request.text) > self._settings.max_segment_chars:
            raise InvalidArgument(
                f"segment {index} has {len(request.text)} characters; the limit is "
                f"{self._settings.max_segment_chars}"
            )
        num_samples = 0
        words = SegmentWords(index, len(request.text))
        for piece, positions in self._pieces(request):
            words.next_piece(positions, num_samples)
            audio = self._piece_audio(model, replace(request, text=piece), playback)
            # aclosing: a stream ended mid-piece stops its engine iterator now.
            async with contextlib.aclosing(audio):
                async for samples, marks in audio:
                    if marks and request.word_timings:
                        for timing in words.timings(marks):
                            yield timing
                    num_samples += samples.size
                    yield AudioChunk(index, samples, info.native_sample_rate_hz)
        yield SegmentEnd(index, num_samples)

    async def _piece_audio(
        self, model: SpeechModel, request: SynthesisRequest, playback: PlaybackClock
    ) -> AsyncGenerator[tuple[np.ndarray, tuple[WordMark, ...]], None]:
        """Synthesize one piece step by step through the scheduler; yield its samples
        with the word marks the engine reported with them."""
        deadline_s = playback.next_deadline_s()
        # The listener has no audio left (a new stream, or a voice agent's next turn
        # on a stream that went quiet): ask for a short first chunk.
        dry = deadline_s <= self._scheduler.clock()
        if self._settings.first_chunk_ms and dry:
            request = replace(request, first_chunk_s=self._settings.first_chunk_ms / 1000)
        chunks = iter(model.synthesize(request))
        ending = chunks if isinstance(chunks, KnowsItsEnd) else None
        exclusive = None if model.concurrent_calls else model
        piece_compute_s = 0.0
        while True:
            step = partial(_next_chunk, chunks)
            chunk, compute_s = await self._scheduler.run(
                step, deadline_s=deadline_s, exclusive=exclusive
            )
            piece_compute_s += compute_s
            if chunk is _END:
                self._char_cost.record(piece_compute_s, len(request.text))
                return
            marks: tuple[WordMark, ...] = ()
            if isinstance(chunk, TimedChunk):
                marks = chunk.words
                chunk = chunk.samples
            samples = np.asarray(chunk, dtype="<f4").reshape(-1)
            audio_s = samples.size / model.info.native_sample_rate_hz
            playback.sent(audio_s)
            self._admission.speed.record(compute_s, audio_s)
            if ending is not None:
                finished = ending.finished
                deadline_s = playback.next_deadline_s()
            else:
                finished = False
                # Asking an engine for more after a chunk usually finds it done (one
                # chunk per sentence). Queued at the playback deadline, that check
                # waited behind other streams' inferences, holding finished streams
                # open and ending them in bunches whose clients then all came back at
                # once. So it is due now; if the engine has more (another sentence),
                # that is one sentence of work, as a new stream's first segment is.
                deadline_s = self._scheduler.clock()
            yield samples, marks
            if dry:
                dry = False
                # The listener is waiting for this chunk, and the gateway (on this
                # host by default) still has to resample, encode and send it. This
                # stream's next inference would take both cores from it: an mp3's
                # first 100 ms took 9 ms to encode instead of 1.5. The chunk gives
                # the stream far more slack than this; other streams' steps still run.
                await asyncio.sleep(_FIRST_AUDIO_HANDOFF_S)
            if finished:
                self._char_cost.record(piece_compute_s, len(request.text))
                return
