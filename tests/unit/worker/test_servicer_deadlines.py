"""Which deadline the servicer gives each inference step (real Piper, a fixed clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox.engines.piper import PiperEngine
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler
from polyvox.worker.servicer import WorkerServicer
from polyvox.worker.settings import LifecycleSettings, WorkerSettings

MODEL = "en_US-joe-medium"
NOW_S = 100.0
T = TypeVar("T")


class RecordingScheduler(DeadlineScheduler):
    """Runs steps as usual and keeps the deadline each one was queued with."""

    deadlines: list[float]

    async def run(self, work: Callable[[], T], *, deadline_s: float) -> T:
        self.deadlines.append(deadline_s)
        return await super().run(work, deadline_s=deadline_s)


async def requests(*texts: str) -> AsyncIterator[pb.SynthesizeIn]:
    yield pb.SynthesizeIn(config=pb.SynthesisConfig(model_id=MODEL, voice="joe", speed=1.0))
    for index, text in enumerate(texts):
        yield pb.SynthesizeIn(segment=pb.TextSegment(index=index, text=text))
    yield pb.SynthesizeIn(end=pb.EndOfInput())


async def test_the_check_after_each_chunk_is_due_now_later_segments_at_playback() -> None:
    with ThreadPoolExecutor(1) as pool:
        scheduler = RecordingScheduler(executor=pool, clock=lambda: NOW_S)
        scheduler.deadlines = []
        scheduler.start()
        lifecycle = LifecycleSettings(warmup=False)
        models = ModelManager(engine=PiperEngine(), executor=pool, lifecycle=lifecycle)
        servicer = WorkerServicer(
            settings=WorkerSettings(), engine=PiperEngine(), models=models, scheduler=scheduler
        )
        outs = [
            out
            async for out in servicer.Synthesize(
                requests("Hello there.", "See you soon."),
                None,  # type: ignore[arg-type]  # the servicer does not use its context
            )
        ]
        await scheduler.stop()
        await asyncio.sleep(0)
    first_audio_s = next(o.segment_end.num_samples for o in outs if o.HasField("segment_end"))
    # Segment 0: its chunk is due now (a new stream), the check after it too.
    # Segment 1: its chunk is due when segment 0's audio has played; the check after
    # it is due now again, so a finished stream never waits behind other streams.
    assert scheduler.deadlines == [NOW_S, NOW_S, NOW_S + first_audio_s / 22050, NOW_S]
