"""One Wyoming connection: read events, do what each asks, answer failures with an
``error`` event, and go on reading.

Nothing a client sends ends the handler but the end of its stream (or one that can no
longer be followed, see :mod:`.wire`): a malformed event, one with missing or null
data, a wrong payload, an unknown type, a refused voice or a worker that failed each
get an ``error`` event (``text``, ``code``) and the next event is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from polyvox.errors import PolyvoxError
from polyvox.gateway.errors import ApiError
from polyvox.gateway.wyoming.asr import Listener
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.info import describe
from polyvox.gateway.wyoming.tts import Speaker
from polyvox.gateway.wyoming.wire import BadEvent, LostSync, Writer, read_event

logger = logging.getLogger(__name__)


class Connection:
    def __init__(
        self, gateway: Gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._gateway = gateway
        self._reader = reader
        self._stream_writer = writer
        self._writer = Writer(writer)
        self._speaker = Speaker(gateway, self._writer)
        self._listener = Listener(gateway, self._writer)
        self._handlers: dict[str, Callable[[Event], Awaitable[None]]] = {
            "describe": self._describe,
            "ping": self._ping,
            "synthesize": self._synthesize,
            "synthesize-start": self._synthesize_start,
            "synthesize-chunk": self._synthesize_chunk,
            "synthesize-stop": self._synthesize_stop,
            "transcribe": self._transcribe,
            "audio-start": self._audio_start,
            "audio-chunk": self._audio_chunk,
            "audio-stop": self._audio_stop,
        }

    async def run(self) -> None:
        try:
            while True:
                try:
                    event = await read_event(self._reader)
                except BadEvent as exc:
                    await self._error(str(exc), "bad_event")
                    continue
                except LostSync as exc:
                    await self._error(str(exc), "bad_stream")
                    return
                if event is None:
                    return
                await self._handle(event)
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the client went away mid-write
        finally:
            await self._speaker.close()
            self._stream_writer.close()

    async def _handle(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            await self._error(f"unknown event type {event.type!r}", "unknown_event")
            return
        try:
            await handler(event)
        except (PolyvoxError, ApiError) as exc:
            code = exc.reason or exc.code.value if isinstance(exc, PolyvoxError) else exc.code
            await self._error(exc.message, code or "error")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A field missing or of the wrong type (the wyoming classes index data).
            await self._error(f"malformed {event.type} event: {exc!r}", "bad_event")
        except ConnectionError:
            raise
        except Exception:
            logger.exception("wyoming %s failed", event.type)
            await self._error(f"{event.type} failed on the server", "internal")

    async def _error(self, text: str, code: str) -> None:
        logger.info("wyoming error (%s): %s", code, text)
        await self._writer.send(Error(text=text, code=code).event())

    async def _describe(self, event: Event) -> None:
        Describe.from_event(event)
        await self._writer.send(describe(self._gateway.router).event())

    async def _ping(self, event: Event) -> None:
        await self._writer.send(Pong(text=Ping.from_event(event).text).event())

    async def _synthesize(self, event: Event) -> None:
        request = Synthesize.from_event(event)
        if self._speaker.streaming:
            return  # the compatibility copy of a streamed request: already being spoken
        _require_text(request.text, "synthesize")
        await self._speaker.synthesize(request)

    async def _synthesize_start(self, event: Event) -> None:
        await self._speaker.start(SynthesizeStart.from_event(event))

    async def _synthesize_chunk(self, event: Event) -> None:
        chunk = SynthesizeChunk.from_event(event)
        _require_text(chunk.text, "synthesize-chunk", allow_empty=True)
        await self._speaker.chunk(chunk.text)

    async def _synthesize_stop(self, event: Event) -> None:
        SynthesizeStop.from_event(event)
        await self._speaker.stop()

    async def _transcribe(self, event: Event) -> None:
        self._listener.transcribe(Transcribe.from_event(event))

    async def _audio_start(self, event: Event) -> None:
        AudioStart.from_event(event)
        self._listener.audio_start()

    async def _audio_chunk(self, event: Event) -> None:
        self._listener.audio_chunk(AudioChunk.from_event(event))

    async def _audio_stop(self, event: Event) -> None:
        AudioStop.from_event(event)
        await self._listener.audio_stop()


def _require_text(text: object, what: str, *, allow_empty: bool = False) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{what} text must be a string, got {type(text).__name__}")
    if not allow_empty and not text.strip():
        raise ValueError(f"{what} has no text to speak")
