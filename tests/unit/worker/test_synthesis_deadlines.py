"""Which deadline a synthesis stream gives each inference step (real engines, a fixed clock)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import pytest

from polyvox.contract.types import (
    AudioChunk,
    Segment,
    SegmentEnd,
    SynthesisConfig,
    SynthesisEvent,
)
from polyvox.engines.base import Engine, SynthesisRequest
from polyvox.engines.espeak import MODEL_ID as ESPEAK_MODEL
from polyvox.engines.espeak import EspeakEngine
from polyvox.engines.piper import PiperEngine
from polyvox.errors import ResourceExhausted
from polyvox.worker import synthesis_stream as synthesis_module
from polyvox.worker.admission import Admission
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler, PlaybackClock
from polyvox.worker.settings import LifecycleSettings, WorkerSettings
from polyvox.worker.synthesis_stream import SynthesisStreams, TextInput

PIPER_MODEL = "en_US-joe-medium"
NOW_S = 100.0
T = TypeVar("T")


class RecordingScheduler(DeadlineScheduler):
    """Runs steps as usual and keeps the deadline each one was queued with, and when
    (event loop time) it was queued."""

    deadlines: list[float]
    queued_at_s: list[float]

    async def run(
        self, work: Callable[[], T], *, deadline_s: float, exclusive: Hashable | None = None
    ) -> T:
        self.deadlines.append(deadline_s)
        self.queued_at_s.append(asyncio.get_running_loop().time())
        return await super().run(work, deadline_s=deadline_s, exclusive=exclusive)


@dataclass
class Recording:
    deadlines: list[float]
    queued_at_s: list[float]
    outs: list[SynthesisEvent]
    #: When (event loop time) each of ``outs`` reached the caller.
    received_at_s: list[float]


async def segments(
    texts: tuple[str, ...], before_later: Callable[[], None], spoken: asyncio.Queue[int] | None
) -> AsyncIterator[TextInput]:
    """The texts as a client sends them: all at once (an HTTP request), or, with
    ``spoken``, each once the one before it has been spoken (a voice agent's turns)."""
    for index, text in enumerate(texts):
        if index:
            if spoken is not None:
                await spoken.get()
            before_later()
        yield index, Segment(text)


async def synthesize_recording(
    engine: Engine, model_id: str, voice: str, *texts: str, pause_s: float = 0.0
) -> Recording:
    """Each step's deadline, and the stream's messages, under a clock stopped at NOW_S
    that moves on by ``pause_s`` before each later segment is sent (after the one
    before it was spoken)."""
    now_s = [NOW_S]

    def pause() -> None:
        now_s[0] += pause_s

    with ThreadPoolExecutor(1) as pool:
        scheduler = RecordingScheduler(executor=pool, clock=lambda: now_s[0])
        scheduler.deadlines, scheduler.queued_at_s = [], []
        scheduler.start()
        lifecycle = LifecycleSettings(warmup=False)
        models = ModelManager(engine=engine, executor=pool, lifecycle=lifecycle)
        streams = SynthesisStreams(
            settings=WorkerSettings(),
            models=models,
            scheduler=scheduler,
            admission=Admission(capacity=1, max_sessions=1),
        )
        outs: list[SynthesisEvent] = []
        received_at_s: list[float] = []
        config = SynthesisConfig(model_id=model_id, voice=voice)
        spoken: asyncio.Queue[int] | None = asyncio.Queue() if pause_s else None
        async for out in streams.stream(config, segments(texts, pause, spoken)):
            if spoken is not None and isinstance(out, SegmentEnd):
                spoken.put_nowait(out.segment_index)
            outs.append(out)
            received_at_s.append(asyncio.get_running_loop().time())
        await scheduler.stop()
        await asyncio.sleep(0)
    return Recording(scheduler.deadlines, scheduler.queued_at_s, outs, received_at_s)


def samples_per_segment(outs: list[SynthesisEvent]) -> list[int]:
    return [o.num_samples for o in outs if isinstance(o, SegmentEnd)]


def audio(outs: list[SynthesisEvent]) -> list[AudioChunk]:
    return [o for o in outs if isinstance(o, AudioChunk)]


async def test_piper_first_chunk_now_the_rest_at_playback_and_no_check_after_the_end() -> None:
    recording = await synthesize_recording(
        PiperEngine(), PIPER_MODEL, "joe", "Hello there, how are you today?", "See you soon."
    )
    deadlines, outs = recording.deadlines, recording.outs
    chunks = [chunk.samples.size for chunk in audio(outs)]
    first_segment_s = samples_per_segment(outs)[0] / 22050
    # Segment 0: a first chunk of about first_chunk_ms, due now (a new stream); the
    # rest of the segment due when that chunk has played. Segment 1: due when all of
    # segment 0 has played. Piper says when it is done, so no step asks for more.
    first_chunk_s = chunks[0] / 22050
    assert abs(first_chunk_s - WorkerSettings().first_chunk_ms / 1000) < 0.02
    assert deadlines == [NOW_S, NOW_S + first_chunk_s, NOW_S + first_segment_s]
    assert len(chunks) == 3


async def test_after_a_pause_that_emptied_the_listener_piper_cuts_a_first_chunk_again() -> None:
    texts = ("Hello there, how are you today?", "I am fine, thank you very much.")
    recording = await synthesize_recording(PiperEngine(), PIPER_MODEL, "joe", *texts, pause_s=30.0)
    deadlines, outs = recording.deadlines, recording.outs
    indices = [chunk.segment_index for chunk in audio(outs)]
    # A voice agent's next turn, after its listener heard everything: the segment
    # comes as a first chunk and the rest, as the stream's first did.
    assert indices == [0, 0, 1, 1]
    # Its deadline (when the listener ran dry) has passed: it goes before any stream
    # that still has audio to play.
    assert deadlines[2] < NOW_S + 30.0


async def test_a_plain_generator_is_asked_for_more_at_once() -> None:
    recording = await synthesize_recording(
        EspeakEngine(), ESPEAK_MODEL, "en-us", "Hello there.", "See you soon."
    )
    deadlines, outs = recording.deadlines, recording.outs
    first_segment_s = (
        samples_per_segment(outs)[0] / EspeakEngine().list_models()[0].native_sample_rate_hz
    )
    # The playback clock adds up chunk durations: equal to the whole within float error.
    segment_1_starts = next(
        i
        for i, deadline in enumerate(deadlines)
        if abs(deadline - (NOW_S + first_segment_s)) < 1e-9
    )
    # Segment 1's first step is due when segment 0 has played; every step asking an
    # iterator that cannot tell its end for more is due now, so a finished stream never
    # waits behind other streams.
    assert segment_1_starts > 1
    assert deadlines[:segment_1_starts] == [NOW_S] * segment_1_starts
    assert deadlines[segment_1_starts + 1 :] == [NOW_S] * (len(deadlines) - segment_1_starts - 1)


async def test_after_first_audio_the_stream_leaves_the_cores_to_the_gateway_a_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Far longer than the default, so that a step queued without the wait (within
    # milliseconds of the chunk) cannot pass for one queued after it.
    handoff_s = 0.2
    monkeypatch.setattr(synthesis_module, "_FIRST_AUDIO_HANDOFF_S", handoff_s)
    texts = ("Hello there, how are you today?", "I am fine, thank you very much.")
    recording = await synthesize_recording(PiperEngine(), PIPER_MODEL, "joe", *texts, pause_s=30.0)
    audio_at = [at for out, at in zip(recording.outs, recording.received_at_s, strict=True)
                if isinstance(out, AudioChunk)]  # fmt: skip
    # Steps: segment 0's first chunk, its rest, segment 1's first chunk (the listener
    # ran dry in the pause), its rest. Each step after a first chunk is queued only
    # once that chunk has been out for the hand-off time (asyncio's timers may fire
    # up to the clock's resolution early, hence the microsecond).
    queued = recording.queued_at_s
    assert len(queued) == len(audio_at) == 4
    assert queued[1] - audio_at[0] >= handoff_s - 1e-6
    assert queued[3] - audio_at[2] >= handoff_s - 1e-6


async def test_a_new_stream_waits_while_a_working_listener_is_due_first() -> None:
    # A newcomer's first step is due at once and would run before a working stream's
    # next audio, due in 50 ms: the newcomer is held until that step has run, and
    # refused (the gateway's line holds it) if that takes too long.
    now_s = [NOW_S]
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        scheduler = RecordingScheduler(executor=pool, clock=lambda: now_s[0])
        scheduler.deadlines, scheduler.queued_at_s = [], []
        models = ModelManager(
            engine=PiperEngine(), executor=pool, lifecycle=LifecycleSettings(warmup=False)
        )
        admission = Admission(capacity=4, max_sessions=4)
        streams = SynthesisStreams(
            settings=WorkerSettings(newcomer_slack_ms=100),
            models=models,
            scheduler=scheduler,
            admission=admission,
        )
        working = admission.try_work()
        config = SynthesisConfig(model_id=PIPER_MODEL, voice="joe")

        async def newcomer() -> list[SynthesisEvent]:
            texts = segments(("Hi.",), lambda: None, None)
            return [out async for out in streams.stream(config, texts)]

        # Nothing runs the due step (no runner yet): refused after the hold.
        due = asyncio.create_task(scheduler.run(lambda: None, deadline_s=NOW_S + 0.05))
        await asyncio.sleep(0)
        with pytest.raises(ResourceExhausted, match="need their next audio first"):
            await newcomer()
        due.cancel()
        # A step running (the gate), the listener's due step behind it: held, then in.
        scheduler.start()
        scheduler.deadlines.clear()
        running = asyncio.create_task(scheduler.run(gate.wait, deadline_s=NOW_S))
        queued_when_the_listener_ran: list[int] = []

        def listener_step() -> None:
            queued_when_the_listener_ran.append(len(scheduler.deadlines))

        due = asyncio.create_task(scheduler.run(listener_step, deadline_s=NOW_S + 0.05))
        arriving = asyncio.create_task(newcomer())
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not arriving.done()  # held while the listener's step waits
        gate.set()
        outs = await arriving
        assert isinstance(outs[-1], SegmentEnd)
        # The gate's and the listener's steps only: the newcomer's first step (due at
        # once, so it would have gone first) was queued after the listener's ran.
        assert queued_when_the_listener_ran == [2]
        assert len(scheduler.deadlines) > 2
        await asyncio.gather(running, due)
        working.release()
        await scheduler.stop()


def test_beside_others_pieces_are_short_unless_newcomers_are_being_turned_away() -> None:
    now_s = [NOW_S]

    def clock() -> float:
        return now_s[0]

    with ThreadPoolExecutor(1) as pool:
        admission = Admission(capacity=4, max_sessions=4, clock=clock)
        streams = SynthesisStreams(
            settings=WorkerSettings(busy_split_chars=30),
            models=ModelManager(engine=PiperEngine(), executor=pool, lifecycle=LifecycleSettings()),
            scheduler=DeadlineScheduler(executor=pool, clock=clock),
            admission=admission,
        )
        request = SynthesisRequest(text="word " * 40, voice="joe")  # 200 characters
        slots = [admission.try_work(), admission.try_work()]
        # Beside another stream, a newcomer may come: short pieces keep its wait short.
        assert streams._piece_chars(request) == 30
        streams._char_cost.record(0.3, 100)  # 3 ms of compute per character
        ahead, behind = PlaybackClock(clock=clock), PlaybackClock(clock=clock)
        ahead.sent(4.0)
        behind.sent(2.0)  # runs dry first: in 2 s
        streams._listeners = {1: ahead, 2: behind}
        slots += [admission.try_work(), admission.try_work()]
        with pytest.raises(ResourceExhausted):
            admission.try_work()  # a fifth: full
        # Newcomers are turned away: each of the 4 working streams may take 0.5 s of
        # compute before the first listener runs dry; 166 characters.
        assert streams._piece_chars(request) == 166
        behind.audio_sent_s = 0.05  # a listener about to run dry: short pieces again
        assert streams._piece_chars(request) == 30
        behind.audio_sent_s = 2.0
        now_s[0] += 1.5  # no refusal for a while: newcomers may come again
        assert streams._piece_chars(request) == 30
        for slot in slots:
            slot.release()
