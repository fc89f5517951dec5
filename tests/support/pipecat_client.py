"""Pipecat's OpenAI services pointed at Polyvox, in small pipelines with real audio.

Runs in Pipecat's own environment (pipecat-ai needs protobuf<7; Polyvox pins >=7),
built and started by tests/integration/realtime/test_pipecat.py:

    python pipecat_client.py GATEWAY_URL SPEECH_PCM_24K OUT_DIR

It speaks a sentence with OpenAITTSService (written to OUT_DIR/tts.pcm, 24 kHz),
transcribes the given speech with OpenAISTTService and with
OpenAIRealtimeSTTService (Pipecat's VAD frames around the audio, as its transports
send them), and prints one JSON object: the transcripts, the TTS sample rate and
any errors the services reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path

from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.stt import OpenAIRealtimeSTTService, OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService

RATE = 24_000
FRAME_BYTES = RATE * 2 // 50  # 20 ms
SAY = "Please send the report to my office before noon."
TIMEOUT_S = 60.0


class Collect(FrameProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.audio = bytearray()
        self.sample_rate = 0
        self.texts: list[str] = []
        self.errors: list[str] = []
        #: Set once a transcript (or an error) arrived.
        self.answered = asyncio.Event()

    async def process_frame(self, frame, direction: FrameDirection) -> None:  # type: ignore[no-untyped-def]
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self.audio += frame.audio
            self.sample_rate = frame.sample_rate
        elif isinstance(frame, TranscriptionFrame):
            self.texts.append(frame.text)
            self.answered.set()
        elif isinstance(frame, ErrorFrame):
            self.errors.append(str(frame.error))
            self.answered.set()
        await self.push_frame(frame, direction)


async def run(service: object, frames: list[object], collect: Collect, *, wait_text: bool) -> None:
    params = PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE)
    task = PipelineTask(Pipeline([service, collect]), params=params, idle_timeout_secs=None)
    runner = PipelineRunner(handle_sigint=False)
    running = asyncio.create_task(runner.run(task))
    # As a transport delivers them: audio at real-time pace, once the pipeline runs.
    await asyncio.sleep(1.0)
    for frame in frames:
        await task.queue_frame(frame)
        if isinstance(frame, InputAudioRawFrame):
            await asyncio.sleep(len(frame.audio) / 2 / RATE)
    if wait_text:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect.answered.wait(), TIMEOUT_S)
    await task.queue_frame(EndFrame())
    await asyncio.wait_for(running, TIMEOUT_S)


def speech_frames(pcm: bytes) -> list[object]:
    silence = bytes(FRAME_BYTES * 10)
    audio = silence + pcm + silence
    frames: list[object] = [VADUserStartedSpeakingFrame()]
    for start in range(0, len(audio), FRAME_BYTES):
        chunk = audio[start : start + FRAME_BYTES]
        frames.append(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))
    frames.append(VADUserStoppedSpeakingFrame())
    return frames


async def main(url: str, speech: Path, out: Path) -> None:
    pcm = speech.read_bytes()
    result: dict[str, object] = {}

    tts = Collect()
    service = OpenAITTSService(api_key="unused", base_url=f"{url}/v1", voice="marin")
    await run(service, [TTSSpeakFrame(SAY)], tts, wait_text=False)
    (out / "tts.pcm").write_bytes(bytes(tts.audio))
    result["tts"] = {"text": SAY, "sample_rate": tts.sample_rate, "errors": tts.errors}

    stt = Collect()
    await run(OpenAISTTService(api_key="unused", base_url=f"{url}/v1"), speech_frames(pcm), stt,
              wait_text=True)  # fmt: skip
    result["stt"] = {"texts": stt.texts, "errors": stt.errors}

    realtime = Collect()
    ws_url = url.replace("http://", "ws://") + "/v1/realtime"
    service = OpenAIRealtimeSTTService(api_key="unused", base_url=ws_url)
    await run(service, speech_frames(pcm), realtime, wait_text=True)
    result["realtime_stt"] = {"texts": realtime.texts, "errors": realtime.errors}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
