"""Speak one reply: its text segments in, ``response.output_audio.delta`` events out.

A reply's segments (cut from the language model's tokens by the TTS WebSocket's
``TextBuffer``: a short first clause, then sentences) go on one Synthesize stream
to the speech worker, whose deadline scheduler serves them; each chunk of audio
is resampled and encoded to the session's output format and sent at once. A
segment's text is sent as ``response.output_audio_transcript.delta`` when its
first audio is, so the transcript never runs ahead of the audio sent.

The speaker keeps, for each segment, where its audio starts and ends in the
reply's audio (:class:`~polyvox.gateway.realtime.spoken.SpokenSegment`): a
truncation (barge-in, or the client's ``conversation.item.truncate``) cuts the
transcript to the words heard. :meth:`Speaker.cancel` closes the Synthesize
stream, which stops the worker at once; audio not yet sent is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from polyvox.contract.types import AudioChunk, Segment, SynthesisConfig
from polyvox.gateway.languages import language_runs, voice_languages
from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.audio_formats import OutputEncoder
from polyvox.gateway.realtime.host import SessionHost
from polyvox.gateway.realtime.session_config import AudioFormat
from polyvox.gateway.realtime.spoken import SpokenSegment
from polyvox.gateway.routing import Route

#: A segment's characters per second of speech, to place a cut inside a segment whose
#: audio was not all sent (its length is known only once it is): about 15 for English.
_CHARS_PER_S = 15.0


class Speaker:
    def __init__(
        self,
        host: SessionHost,
        ref: se.PartRef,
        *,
        route: Route,
        voice: str,
        speed: float,
        output_format: AudioFormat,
    ) -> None:
        self._host = host
        self._ref = ref
        self._route = route
        self._config = SynthesisConfig(
            model_id=route.model.id,
            voice=voice,
            speed=speed,
            request_id=host.request_id,
            # The conversation is bound to this worker: when it is full, the reply waits
            # in the worker's own line, which is served before any new stream.
            wait_for_slot=True,
        )
        #: The languages the voice reads: a reply in several is cut by language, each
        #: run read by its own front end.
        self._languages = voice_languages(route.model, voice)
        self._encoder = OutputEncoder(output_format, in_rate_hz=route.model.native_sample_rate_hz)
        self._queue: asyncio.Queue[Segment | None] = asyncio.Queue()
        self._texts: dict[int, str] = {}
        self._queued = 0
        #: Segments whose audio was sent whole; the one being sent, with its start.
        self.spoken: list[SpokenSegment] = []
        self._current: tuple[str, float] | None = None
        self.sent_ms = 0.0
        self.transcript = ""
        self.unspoken_chars = 0
        #: Set each time a segment has been spoken (a writer waiting for room).
        self.progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def say(self, text: str) -> None:
        """Queue a segment (with its leading space when it is not the first)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="realtime-speak")
        segments = [Segment(text)]
        if len(self._languages) > 1 and (runs := language_runs(text, self._languages)):
            # Each run keeps the text before it (the space a transcript needs between them).
            starts = [0] + [run.end for run in runs[:-1]]
            segments = [
                Segment(text[start : run.end], run.language)
                for start, run in zip(starts, runs, strict=True)
            ]
        for segment in segments:
            self._texts[self._queued] = segment.text
            self._queued += 1
            self.unspoken_chars += len(segment.text)
            self._queue.put_nowait(segment)

    async def finish(self) -> None:
        """Wait until everything queued has been sent; raises what the worker raised."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task

    async def cancel(self) -> None:
        """Stop now: the worker stops synthesizing, audio not yet sent is dropped."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def heard(self) -> list[SpokenSegment]:
        """The segments as sent so far, the one cut short placed by its characters."""
        segments = list(self.spoken)
        if self._current is not None:
            text, start_ms = self._current
            estimated_end = start_ms + len(text.strip()) / _CHARS_PER_S * 1000
            segments.append(
                SpokenSegment(text, round(start_ms), round(max(estimated_end, self.sent_ms)))
            )
        return segments

    async def _segments(self) -> AsyncIterator[Segment]:
        while (segment := await self._queue.get()) is not None:
            yield segment

    async def _run(self) -> None:
        client = self._route.worker.client
        stream = client.synthesize(self._config, self._segments())
        async with contextlib.aclosing(stream) as audio:
            async for item in audio:
                if isinstance(item, AudioChunk):
                    await self._audio(item)
                else:
                    self._segment_done(item.segment_index)
        if tail := self._encoder.flush():
            await self._send_audio(tail)

    async def _audio(self, chunk: AudioChunk) -> None:
        index = chunk.segment_index
        if self._current is None and index in self._texts:
            text = self._texts[index]
            self._current = (text, self.sent_ms)
            self.transcript += text
            await self._host.send(se.output_audio_transcript_delta(self._ref, delta=text))
        if data := self._encoder.encode(chunk.samples):
            await self._send_audio(data)

    async def _send_audio(self, data: bytes) -> None:
        await self._host.send(se.output_audio_delta(self._ref, audio=data))
        self.sent_ms += self._encoder.duration_ms(data)

    def _segment_done(self, index: int) -> None:
        text = self._texts.pop(index, "")
        self.unspoken_chars -= len(text)
        if self._current is not None:
            current_text, start_ms = self._current
            self.spoken.append(SpokenSegment(current_text, round(start_ms), round(self.sent_ms)))
            self._current = None
        self.progress.set()
