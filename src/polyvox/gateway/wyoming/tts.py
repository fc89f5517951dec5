"""Text to speech over Wyoming: ``synthesize``, and streaming synthesis.

``synthesize`` (text, or SSML with ``text_format: ssml``) is planned, waits in the
engine's line and streams through the same code as ``POST /v1/audio/speech`` (so SSML
breaks are exact); its audio is 16-bit mono pcm at the voice's native rate, announced
once by ``audio-start`` and never changed within the stream.

Streaming (``synthesize-start``, ``synthesize-chunk``..., ``synthesize-stop``): the
text is buffered as the TTS WebSocket buffers an LLM's tokens, and each sentence is
spoken as soon as it is complete, over one worker stream bound to its worker (as a
WebSocket session is); ``synthesize-stop`` speaks what is left, then ``audio-stop``
and ``synthesize-stopped``. A ``synthesize`` arriving inside a stream is the
compatibility copy Home Assistant sends for older servers: ignored. SSML in a stream
is spoken whole at ``synthesize-stop`` (markup cannot be cut at sentence ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from wyoming.audio import AudioChunk as WyomingChunk
from wyoming.audio import AudioStart, AudioStop
from wyoming.error import Error
from wyoming.tts import (
    Synthesize,
    SynthesizeStart,
    SynthesizeStopped,
    SynthesizeTextFormat,
    SynthesizeVoice,
)

from polyvox.audio import OutputFormat, create_encoder, float_to_int16
from polyvox.contract.types import (
    PAUSE,
    AudioChunk,
    Capability,
    Pause,
    Segment,
    SegmentEnd,
    SynthesisConfig,
)
from polyvox.errors import InvalidArgument, PolyvoxError
from polyvox.gateway.admission import on_some_replica
from polyvox.gateway.errors import ApiError
from polyvox.gateway.languages import check_speakable, language_runs, speaking_languages
from polyvox.gateway.routing import Route
from polyvox.gateway.speech_plan import PlanRequest, plan_speech
from polyvox.gateway.speech_stream import stream_speech
from polyvox.gateway.word_timeline import SpokenWord
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.info import NamedVoice, find_voice
from polyvox.gateway.wyoming.wire import Writer
from polyvox.text.buffer import TextBuffer
from polyvox.text.normalize import clean_text
from polyvox.text.ssml import is_ssml

logger = logging.getLogger(__name__)

_WIDTH, _CHANNELS = 2, 1
#: Audio per audio-chunk event, in seconds.
_CHUNK_S = 0.1
#: A stream a worker took: its first item and the rest.
_Opened = tuple[bytes | SpokenWord, AsyncGenerator[bytes | SpokenWord, None]]


def _voice(gateway: Gateway, voice: SynthesizeVoice | None) -> tuple[NamedVoice, Route]:
    named = find_voice(
        gateway.router, voice.name if voice else None, voice.language if voice else None
    )
    return named, gateway.router.resolve(named.native_id, capability=Capability.TTS)


def _is_ssml(text_format: object) -> bool:
    return str(getattr(text_format, "value", text_format)) == SynthesizeTextFormat.SSML.value


class Speaker:
    """The text-to-speech side of one connection."""

    def __init__(self, gateway: Gateway, writer: Writer) -> None:
        self.gateway = gateway
        self.writer = writer
        self._stream: _Stream | None = None

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    async def synthesize(self, request: Synthesize) -> None:
        named, route = _voice(self.gateway, request.voice)
        await self.speak_whole(request.text, _is_ssml(request.text_format), named, route)

    async def speak_whole(self, text: str, ssml: bool, named: NamedVoice, route: Route) -> None:
        gateway = self.gateway
        if len(text) > gateway.settings.max_input_chars:
            raise InvalidArgument(
                f"text has {len(text)} characters; the limit is {gateway.settings.max_input_chars}"
            )
        if ssml and not is_ssml(text):
            text = f"<speak>{text}</speak>"  # Home Assistant may send the body alone
        planning = PlanRequest(route.model, named.voice, 1.0, None, gateway.router,
                               gateway.segmenters)  # fmt: skip
        plan = await asyncio.to_thread(plan_speech, text, planning, ssml=ssml)
        rate_hz = route.model.native_sample_rate_hz
        if not plan.segments:
            await self.writer.send(AudioStart(rate_hz, _WIDTH, _CHANNELS).event())
            await self.writer.send(AudioStop().event())
            return
        config = SynthesisConfig(model_id=route.model.id, voice=named.voice)

        async def start(on: Route) -> _Opened:
            encoder = create_encoder(OutputFormat.PCM, sample_rate_hz=rate_hz)
            chunks = stream_speech(on.worker.client, config, plan, native_rate_hz=rate_hz,
                                   encoder=encoder)  # fmt: skip
            try:
                return await anext(chunks), chunks
            except BaseException:
                await chunks.aclose()
                raise

        async def attempt() -> tuple[_Opened, Route]:
            return await on_some_replica(gateway.router, named.native_id, Capability.TTS, start)

        line = gateway.lines[route.worker.engine]
        ((first, rest), _), _ = await line.admit(attempt)
        await self.writer.send(AudioStart(rate_hz, _WIDTH, _CHANNELS).event())
        async with contextlib.aclosing(rest):
            if isinstance(first, bytes):
                await self.send_pcm(first, rate_hz)
            async for item in rest:
                if isinstance(item, bytes):
                    await self.send_pcm(item, rate_hz)
        await self.writer.send(AudioStop().event())

    async def send_pcm(self, pcm: bytes, rate_hz: int) -> None:
        step = round(rate_hz * _CHUNK_S) * _WIDTH
        for start in range(0, len(pcm), step):
            chunk = WyomingChunk(rate_hz, _WIDTH, _CHANNELS, pcm[start : start + step])
            await self.writer.send(chunk.event())

    # --- streaming ------------------------------------------------------------------

    async def start(self, request: SynthesizeStart) -> None:
        if self._stream is not None:
            raise InvalidArgument("a synthesize stream is already open; send synthesize-stop")
        named, route = _voice(self.gateway, request.voice)
        self._stream = _Stream(self, named, route, ssml=_is_ssml(request.text_format))

    async def chunk(self, text: str) -> None:
        if self._stream is None:
            raise InvalidArgument("synthesize-chunk outside a stream: send synthesize-start")
        await self._stream.push(text)

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            raise InvalidArgument("synthesize-stop outside a stream: send synthesize-start")
        try:
            await stream.finish()
        finally:
            await self.writer.send(SynthesizeStopped().event())

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.cancel()


class _Stream:
    """One streaming synthesis: sentences out to one worker stream as they complete."""

    def __init__(self, speaker: Speaker, named: NamedVoice, route: Route, *, ssml: bool) -> None:
        self._speaker = speaker
        self.gateway = speaker.gateway
        self._named, self._route = named, route
        self._ssml = ssml
        self._ssml_text = ""
        self._languages = speaking_languages(route.model, named.voice, None)
        self._buffer = TextBuffer(self.gateway.segmenters.for_language(self._languages[0]))
        self._segments: asyncio.Queue[Segment | Pause | None] = asyncio.Queue()
        #: Characters sent to the worker and not yet spoken, by segment index: with the
        #: buffer's, what a stream may hold (``max_input_chars``).
        self._unspoken: dict[int, int] = {}
        self._sent = 0
        self._started = False
        self._task: asyncio.Task[None] | None = None

    async def push(self, text: str) -> None:
        limit = self.gateway.settings.max_input_chars
        if self._ssml:
            if len(self._ssml_text) + len(text) > limit:
                raise InvalidArgument(f"a stream's SSML may have at most {limit} characters")
            self._ssml_text += text
            return
        text = clean_text(text)
        waiting = len(self._buffer.pending) + sum(self._unspoken.values())
        if waiting + len(text) > limit:
            raise InvalidArgument(f"more than {limit} characters would wait to be spoken")
        check_speakable(text, self._languages, voices=self.gateway.router.tts_voices())
        sentences = await asyncio.to_thread(self._buffer.push, text)
        await self._speak(sentences)

    async def _speak(self, sentences: list[str]) -> None:
        if not sentences:
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="wyoming-tts")
        tag = len(self._languages) > 1
        for sentence in sentences:
            for run in language_runs(sentence, self._languages):
                self._unspoken[self._sent] = len(run.text)
                self._sent += 1
                await self._segments.put(Segment(run.text, run.language if tag else None))
        await self._segments.put(PAUSE)

    async def finish(self) -> None:
        if self._ssml:
            await self._speaker.speak_whole(self._ssml_text, True, self._named, self._route)
            return
        await self._speak(self._buffer.flush())
        await self._segments.put(None)
        if self._task is not None:
            await self._task
        rate_hz = self._route.model.native_sample_rate_hz
        if not self._started:
            await self._speaker.writer.send(AudioStart(rate_hz, _WIDTH, _CHANNELS).event())
        await self._speaker.writer.send(AudioStop().event())

    async def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _inputs(self) -> AsyncIterator[Segment | Pause]:
        while (item := await self._segments.get()) is not None:
            yield item

    async def _run(self) -> None:
        route, writer = self._route, self._speaker.writer
        rate_hz = route.model.native_sample_rate_hz
        # Bound to its worker like a WebSocket session: a full worker makes a turn
        # wait there rather than refusing it.
        config = SynthesisConfig(model_id=route.model.id, voice=self._named.voice,
                                 wait_for_slot=True)  # fmt: skip
        try:
            events = route.worker.client.synthesize(config, self._inputs())
            async with contextlib.aclosing(events):
                async for item in events:
                    if isinstance(item, SegmentEnd):
                        self._unspoken.pop(item.segment_index, None)
                    if not isinstance(item, AudioChunk) or not item.samples.size:
                        continue
                    if not self._started:
                        self._started = True
                        await writer.send(AudioStart(rate_hz, _WIDTH, _CHANNELS).event())
                    pcm = float_to_int16(item.samples).astype("<i2").tobytes()
                    await self._speaker.send_pcm(pcm, rate_hz)
        except (PolyvoxError, ApiError) as exc:
            message = exc.message
            logger.info("wyoming synthesis stream failed: %s", message)
            await writer.send(Error(text=message, code="synthesis_failed").event())
        finally:
            # Drain: a failed stream must not leave push() blocked on a full queue.
            while not self._segments.empty():
                self._segments.get_nowait()
