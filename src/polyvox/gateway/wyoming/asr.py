"""Speech to text over Wyoming: ``transcribe``, then ``audio-start``, ``audio-chunk``s,
``audio-stop`` → ``transcript-start``, a ``transcript-chunk`` per decoded segment as it
is decoded, ``transcript`` (the whole text) and ``transcript-stop``.

Audio comes at whatever rate, width (8 to 32 bits) and channel count each chunk says;
it is mixed to mono and resampled (soxr) to the model's rate. What a connection may
hold is bounded (``wyoming.max_audio_s``). The audio is decoded at ``audio-stop``,
waiting in the engine's line like an upload to ``/v1/audio/transcriptions``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk as WyomingChunk

from polyvox.audio import StreamResampler
from polyvox.contract.types import (
    Capability,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptSegment,
)
from polyvox.errors import InvalidArgument
from polyvox.gateway.admission import on_some_replica
from polyvox.gateway.languages import resolve_language
from polyvox.gateway.routing import Route
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.wire import Writer

_Opened = tuple[TranscriptEvent | None, AsyncGenerator[TranscriptEvent, None]]


def pcm_to_float(audio: bytes, *, width: int, channels: int) -> np.ndarray:
    """Little-endian pcm of ``width`` bytes per sample (8-bit unsigned, wider signed)
    and ``channels`` interleaved channels, as mono float32."""
    if width not in (1, 2, 3, 4) or channels < 1:
        raise InvalidArgument(f"audio of width {width} and {channels} channel(s) is not pcm")
    frame = width * channels
    if len(audio) % frame:
        raise InvalidArgument(f"audio bytes are not a whole number of {frame}-byte frames")
    raw = np.frombuffer(audio, np.uint8)
    if width == 1:
        samples = (raw.astype(np.float32) - 128) / 128
    elif width == 3:
        padded = np.zeros((raw.size // 3, 4), np.uint8)
        padded[:, 1:] = raw.reshape(-1, 3)  # 24-bit into the top of a 32-bit word
        samples = padded.view("<i4").reshape(-1).astype(np.float32) / 2**31
    else:
        dtype = "<i2" if width == 2 else "<i4"
        samples = raw.view(dtype).astype(np.float32) / 2 ** (8 * width - 1)
    return samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)


class Listener:
    """The speech-to-text side of one connection."""

    def __init__(self, gateway: Gateway, writer: Writer) -> None:
        self.gateway = gateway
        self.writer = writer
        self._request = Transcribe()
        self._route: Route | None = None
        self._resampler: StreamResampler | None = None
        self._in_rate_hz = 0
        self._parts: list[np.ndarray] = []
        self._received_s = 0.0

    def transcribe(self, request: Transcribe) -> None:
        self._request = request

    def audio_start(self) -> None:
        router = self.gateway.router
        name = self._request.name or self.gateway.settings.wyoming.asr_model
        # A model named by its Wyoming name (the model id) or any name the router knows.
        matches = [n for n, (m, _) in router.catalog().items() if m.id == name]
        self._route = router.resolve(matches[0] if matches else name, capability=Capability.STT)
        self._parts, self._received_s, self._resampler = [], 0.0, None

    def audio_chunk(self, chunk: WyomingChunk) -> None:
        if self._route is None:
            self.audio_start()  # audio without audio-start: as if it had come
        assert self._route is not None
        try:
            samples = self._samples(chunk)
        except (InvalidArgument, TypeError, ValueError):
            self._route, self._parts = None, []  # this audio is refused: start again
            raise
        self._add(samples, chunk.rate)

    @staticmethod
    def _samples(chunk: WyomingChunk) -> np.ndarray:
        if not isinstance(chunk.rate, int) or chunk.rate <= 0:
            raise InvalidArgument(f"audio-chunk rate must be a positive integer, got {chunk.rate}")
        return pcm_to_float(chunk.audio, width=chunk.width, channels=chunk.channels)

    def _add(self, samples: np.ndarray, rate_hz: int) -> None:
        assert self._route is not None
        self._received_s += samples.size / rate_hz
        limit = self.gateway.settings.wyoming.max_audio_s
        if self._received_s > limit:
            self._route = None
            raise InvalidArgument(f"a transcription may carry at most {limit:g} s of audio")
        if self._resampler is None or rate_hz != self._in_rate_hz:
            self._flush_resampler()
            self._in_rate_hz = rate_hz
            self._resampler = StreamResampler(
                in_rate_hz=rate_hz, out_rate_hz=self._route.model.native_sample_rate_hz
            )
        self._parts.append(self._resampler.process(samples))

    def _flush_resampler(self) -> None:
        if self._resampler is not None:
            self._parts.append(self._resampler.flush())

    async def audio_stop(self) -> None:
        route, self._route = self._route, None
        if route is None:
            raise InvalidArgument("audio-stop without audio: send audio-start and audio-chunks")
        self._flush_resampler()
        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        self._parts = []
        if not samples.size:
            raise InvalidArgument("audio-stop without audio: send audio-chunks first")
        language = resolve_language(route.model, self._request.language)
        config = TranscriptionConfig(model_id=route.model.id, language=language)
        rate_hz = route.model.native_sample_rate_hz

        async def once() -> AsyncIterator[np.ndarray]:
            yield samples

        async def start(on: Route) -> _Opened:
            events = on.worker.client.transcribe(config, once(), sample_rate_hz=rate_hz)
            try:
                return await anext(events, None), events
            except BaseException:
                await events.aclose()
                raise

        async def attempt() -> tuple[_Opened, Route]:
            return await on_some_replica(self.gateway.router, route.native_id, Capability.STT,
                                         start)  # fmt: skip

        line = self.gateway.lines[route.worker.engine]
        ((first, events), _), _ = await line.admit(attempt)
        await self.writer.send(TranscriptStart(language=language).event())
        texts: list[str] = []
        info_language = language
        async with contextlib.aclosing(events):
            pending = [first] if first is not None else []
            async for event in _chain(pending, events):
                if isinstance(event, TranscriptSegment) and event.text.strip():
                    text = event.text if texts else event.text.lstrip()
                    texts.append(text)
                    await self.writer.send(TranscriptChunk(text=text).event())
                elif isinstance(event, TranscriptionInfo):
                    info_language = event.language or language
        text = "".join(texts).strip()
        await self.writer.send(Transcript(text=text, language=info_language).event())
        await self.writer.send(TranscriptStop().event())


async def _chain(
    first: list[TranscriptEvent], rest: AsyncGenerator[TranscriptEvent, None]
) -> AsyncIterator[TranscriptEvent]:
    for event in first:
        yield event
    async for event in rest:
        yield event


__all__ = ["Listener", "pcm_to_float"]
