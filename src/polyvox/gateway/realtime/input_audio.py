"""The user's audio: the input buffer, turns, and their transcripts.

Appended audio is decoded, resampled to the transcription model's rate and sent
on one streaming Transcribe call to the STT worker, which runs Silero VAD and
Whisper. Its speech events become ``speech_started`` / ``speech_stopped`` (with
server VAD) and its finals the transcripts of the user's items. Who ends a turn
is the worker's business: server VAD (the session's ``silence_duration_ms``, with
the worker decoding speculatively from the moment silence begins, so the
transcript is ready when the turn ends), or the client's ``commit``, sent on as
a Commit whose final echoes its id. The stream opens with the first append and
is opened again after a ``session.update`` that changes how turns are detected.

A user item's audio is never kept: the item holds its transcript once it has one.
What the buffer may hold is bounded (``realtime.max_input_buffer_s`` of audio not
yet committed); the queue to the worker is bounded too, so a client that sends
faster than the worker reads is held back rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import numpy as np

from polyvox.contract.types import (
    Capability,
    SpeechEvent,
    SpeechEventKind,
    TranscriptionClear,
    TranscriptionCommit,
    TranscriptionConfig,
    TranscriptionInput,
    TranscriptSegment,
    TranscriptUpdate,
    TurnDetection,
    VadConfig,
    transcript_text,
)
from polyvox.errors import PolyvoxError
from polyvox.gateway.languages import resolve_language
from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.audio_formats import InputDecoder, decode_item_audio
from polyvox.gateway.realtime.client_events import ClientEventError
from polyvox.gateway.realtime.host import SessionHost
from polyvox.gateway.realtime.ids import item_id as new_item_id
from polyvox.gateway.realtime.items import UserContent, UserMessage, item_to_wire
from polyvox.gateway.routing import Route

logger = logging.getLogger(__name__)

#: Chunks of audio waiting for the worker before appends wait (about 5 s of 20 ms appends).
_QUEUED_CHUNKS = 256
#: The least a commit may hold (OpenAI's rule).
MIN_COMMIT_S = 0.1
_END = None


def stt_model_name(host: SessionHost) -> str:
    transcription = host.config.transcription
    return (transcription.model if transcription else None) or host.settings.stt_model


class _Stream:
    """One Transcribe call: its input queue and the task reading its events."""

    def __init__(self, route: Route, config: TranscriptionConfig, offset_ms: float) -> None:
        self.route = route
        self.config = config
        #: Where this stream's audio starts in the session's input audio.
        self.offset_ms = offset_ms
        self.queue: asyncio.Queue[TranscriptionInput | None] = asyncio.Queue(_QUEUED_CHUNKS)
        self.reader: asyncio.Task[None] | None = None

    async def inputs(self) -> AsyncIterator[TranscriptionInput]:
        while (item := await self.queue.get()) is not _END:
            yield item


class InputAudio:
    def __init__(self, host: SessionHost, *, conversation: bool) -> None:
        self._host = host
        #: Realtime sessions keep the user's turns as conversation items.
        self._conversation = conversation
        self._stream: _Stream | None = None
        self._decoder: InputDecoder | None = None
        self._audio_ms = 0.0
        self._uncommitted_s = 0.0
        self._open_item: str | None = None
        self._vad_items: collections.deque[str] = collections.deque()
        self._commits: dict[int, str] = {}
        self._commit_ids = itertools.count(1)
        self._transcripts: dict[str, asyncio.Future[str]] = {}
        self._sent_text: dict[str, str] = {}
        self._last_item: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- client events ------------------------------------------------------------

    async def append(self, data: bytes) -> None:
        stream = self._ensure_stream()
        decoder = self._ensure_decoder(stream)
        duration_s = decoder.duration_s(data)
        limit_s = self._host.settings.max_input_buffer_s
        if self._uncommitted_s + duration_s > limit_s:
            raise ClientEventError(
                "input_audio_buffer_full",
                f"The input audio buffer would hold more than {limit_s:g} s of audio not "
                "yet committed: commit or clear it.",
                param="audio",
            )
        try:
            samples = decoder.decode(data)
        except ValueError as exc:
            raise ClientEventError(
                "invalid_audio", f"The audio is not {decoder.format.type}: {exc}.", param="audio"
            ) from None
        self._uncommitted_s += duration_s
        self._audio_ms += duration_s * 1000
        if samples.size:
            await stream.queue.put(samples)

    async def commit(self) -> None:
        if self._uncommitted_s < MIN_COMMIT_S or self._stream is None:
            raise ClientEventError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_S * 1000:.0f}ms of audio, but buffer only has "
                f"{self._uncommitted_s * 1000:.2f}ms of audio.",
            )
        item_id = self._open_item or new_item_id()
        self._open_item = None
        commit_id = next(self._commit_ids)
        self._commits[commit_id] = item_id
        self._uncommitted_s = 0.0
        await self._stream.queue.put(TranscriptionCommit(commit_id))
        await self._committed(item_id)

    async def clear(self) -> None:
        if self._stream is not None:
            await self._stream.queue.put(TranscriptionClear())
        self._uncommitted_s = 0.0
        self._open_item = None
        await self._host.send(se.input_audio_cleared())

    def reconfigure(self) -> None:
        """The session changed how turns are detected or transcribed: the next append
        opens a stream with the new settings (the audio before stays with the old one)."""
        if self._stream is not None and self._stream.config != self._stream_config(
            self._stream.route
        ):
            self._end_stream()
        if self._decoder is not None and self._decoder.format != self._host.config.input_format:
            self._decoder = None

    @property
    def audio_ms(self) -> float:
        """Input audio received so far (the clock of speech events)."""
        return self._audio_ms

    def pending(self) -> list[asyncio.Future[str]]:
        """Transcripts not in yet (a response waits for them)."""
        return [future for future in self._transcripts.values() if not future.done()]

    def transcribe_item(self, item: UserMessage, audio: bytes) -> None:
        """Transcribe a client's ``input_audio`` item in the background."""
        assert item.id is not None
        self._transcripts[item.id] = asyncio.get_running_loop().create_future()
        self._spawn(self._transcribe_item(item.id, audio))

    async def close(self) -> None:
        if self._stream is not None:
            self._end_stream()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        for future in self._transcripts.values():
            if not future.done():
                future.set_result("")

    # -- the worker stream ----------------------------------------------------------

    def _route(self) -> Route:
        try:
            return self._host.router.resolve(stt_model_name(self._host), capability=Capability.STT)
        except PolyvoxError as exc:
            raise ClientEventError(
                exc.code.value, exc.message, param="session.audio.input.transcription.model"
            ) from None

    def _stream_config(self, route: Route) -> TranscriptionConfig:
        config = self._host.config
        detection = config.turn_detection
        vad = VadConfig()
        if detection is not None:
            vad = VadConfig(
                threshold=detection.threshold,
                prefix_padding_ms=detection.prefix_padding_ms,
                silence_duration_ms=detection.silence_duration_ms,
            )
        transcription = config.transcription
        return TranscriptionConfig(
            model_id=route.model.id,
            language=resolve_language(
                route.model, transcription.language if transcription else None
            ),
            prompt=(transcription.prompt if transcription else None) or None,
            streaming=True,
            request_id=self._host.request_id,
            vad=vad,
            turn_detection=TurnDetection.VOICE_ACTIVITY if detection else TurnDetection.CLIENT,
            speculative=self._host.settings.speculative_transcription,
            # Previews cost a decode each: only where someone reads them (captions), not
            # where the reply waits for the final.
            partials=not self._conversation and detection is not None and transcription is not None,
        )

    def _ensure_stream(self) -> _Stream:
        if self._stream is None or self._stream.reader is None or self._stream.reader.done():
            route = self._route()
            stream = _Stream(route, self._stream_config(route), self._audio_ms)
            stream.reader = asyncio.create_task(self._read(stream), name="realtime-transcribe")
            self._stream = stream
            self._decoder = None
        return self._stream

    def _ensure_decoder(self, stream: _Stream) -> InputDecoder:
        if self._decoder is None:
            self._decoder = InputDecoder(
                self._host.config.input_format, out_rate_hz=stream.route.model.native_sample_rate_hz
            )
        return self._decoder

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and stream.reader is not None:
            stream.reader.cancel()
        self._open_item = None

    async def _read(self, stream: _Stream) -> None:
        rate_hz = stream.route.model.native_sample_rate_hz
        client = stream.route.worker.client
        events = client.transcribe(stream.config, stream.inputs(), sample_rate_hz=rate_hz)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, SpeechEvent):
                        await self._speech(stream, event)
                    elif isinstance(event, TranscriptUpdate):
                        await self._transcript(event)
        except PolyvoxError as exc:
            logger.warning("realtime %s: transcription failed: %s", self._host.request_id, exc)
            await self._fail_pending(exc.code.value, exc.message)
            await self._host.send_error(exc.code.value, exc.message, server=True)

    async def _speech(self, stream: _Stream, event: SpeechEvent) -> None:
        if stream.config.turn_detection is TurnDetection.CLIENT:
            return  # the client's own VAD decides; OpenAI sends no speech events then
        at_ms = round(stream.offset_ms + event.time_s * 1000)
        if event.kind is SpeechEventKind.STARTED:
            self._open_item = new_item_id()
            self._host.interrupt()  # first: no reply audio goes out after speech_started
            await self._host.send(se.speech_started(item_id=self._open_item, audio_start_ms=at_ms))
            await self._host.user_turn_started()
            return
        item_id = self._open_item or new_item_id()
        self._open_item = None
        self._uncommitted_s = 0.0
        self._vad_items.append(item_id)
        await self._host.send(se.speech_stopped(item_id=item_id, audio_end_ms=at_ms))
        await self._committed(item_id)

    async def _committed(self, item_id: str) -> None:
        previous, self._last_item = self._last_item, item_id
        self._transcripts[item_id] = asyncio.get_running_loop().create_future()
        await self._host.send(se.input_audio_committed(item_id=item_id, previous_item_id=previous))
        if not self._conversation:
            return
        item = UserMessage(
            id=item_id, type="message", role="user", content=[UserContent(type="input_audio")]
        )
        conversation = self._host.conversation
        previous_id = conversation.items()[-1].id if len(conversation) else None
        stored, dropped = conversation.add(item)
        for gone in dropped:
            await self._host.send(se.item_deleted(item_id=gone))
        await self._host.send(
            se.item_added(item=item_to_wire(stored), previous_item_id=previous_id)
        )

    async def _transcript(self, update: TranscriptUpdate) -> None:
        if not update.final:
            if self._open_item is not None:
                await self._delta(self._open_item, update.text)
            return
        auto = False
        if update.commit_id:
            item_id = self._commits.pop(update.commit_id, None) or new_item_id()
        elif self._vad_items:
            item_id, auto = self._vad_items.popleft(), True
        else:  # an utterance too long for one window, cut by the worker
            item_id, auto = self._open_item or new_item_id(), True
            await self._committed(item_id)
            self._open_item = new_item_id()
        duration_s = max(update.end_s - update.start_s, 0.0)
        await self._transcribed(item_id, update.text, duration_s)
        if auto and update.text:
            await self._host.user_turn_transcribed(item_id, update.text)

    async def _delta(self, item_id: str, text: str) -> None:
        """Send what ``text`` adds to what was sent (Whisper's revisions are not sent)."""
        sent = self._sent_text.get(item_id, "")
        if self._host.config.transcription is None or not text.startswith(sent) or text == sent:
            return
        self._sent_text[item_id] = text
        delta = se.transcription_delta(item_id=item_id, content_index=0, delta=text[len(sent) :])
        await self._host.send(delta)

    async def _transcribed(self, item_id: str, transcript: str, duration_s: float) -> None:
        await self._delta(item_id, transcript)
        self._sent_text.pop(item_id, None)
        if self._host.config.transcription is not None:
            await self._host.send(
                se.transcription_completed(
                    item_id=item_id,
                    content_index=0,
                    transcript=transcript,
                    audio_duration_s=round(duration_s, 3),
                )
            )
        if self._conversation and item_id in self._host.conversation:
            conversation = self._host.conversation
            item = conversation.get(item_id)
            assert isinstance(item, UserMessage)
            content = [
                part.model_copy(update={"transcript": transcript, "audio": None})
                if part.type == "input_audio"
                else part
                for part in item.content
            ]
            stored = item.model_copy(update={"content": content})
            for gone in conversation.replace(stored):
                await self._host.send(se.item_deleted(item_id=gone))
            previous = conversation.previous_id(item_id)
            await self._host.send(
                se.item_done(item=item_to_wire(stored), previous_item_id=previous)
            )
        future = self._transcripts.pop(item_id, None)
        if future is not None and not future.done():
            future.set_result(transcript)

    async def _fail_pending(self, code: str, message: str) -> None:
        waiting = [*self._commits.values(), *self._vad_items]
        self._commits.clear()
        self._vad_items.clear()
        for item_id in waiting:
            await self._host.send(
                se.transcription_failed(
                    item_id=item_id, content_index=0, code=code, message=message
                )
            )
            future = self._transcripts.pop(item_id, None)
            if future is not None and not future.done():
                future.set_result("")

    async def _transcribe_item(self, item_id: str, audio: bytes) -> None:
        route = self._route()
        rate_hz = route.model.native_sample_rate_hz
        try:
            samples = decode_item_audio(audio, self._host.config.input_format, out_rate_hz=rate_hz)
        except ValueError as exc:
            await self._fail_item(item_id, "invalid_audio", f"the item's audio is not valid: {exc}")
            return
        config = TranscriptionConfig(
            model_id=route.model.id,
            language=self._stream_config(route).language,
            request_id=self._host.request_id,
        )
        segments: list[TranscriptSegment] = []
        try:
            events = route.worker.client.transcribe(config, _once(samples), sample_rate_hz=rate_hz)
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, TranscriptSegment):
                        segments.append(event)
        except PolyvoxError as exc:
            await self._fail_item(item_id, exc.code.value, exc.message)
            return
        text = transcript_text(segments)
        await self._transcribed(item_id, text, samples.size / rate_hz)

    async def _fail_item(self, item_id: str, code: str, message: str) -> None:
        await self._host.send(
            se.transcription_failed(item_id=item_id, content_index=0, code=code, message=message)
        )
        future = self._transcripts.pop(item_id, None)
        if future is not None and not future.done():
            future.set_result("")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _once(samples: np.ndarray) -> AsyncIterator[np.ndarray]:
    yield samples
