"""One ``/v1/realtime`` WebSocket: the client events of OpenAI's GA Realtime API, acted on.

Tasks: the receive loop (this class) parses each message (``client_events``) and
acts on it in order; the input audio has a task reading the STT worker's stream
(``input_audio``); a response runs in a task of its own (``responses``), with its
speaker's task on the TTS worker's stream (``speaker``). Every event goes out
through :meth:`RealtimeSession.send`, one at a time.

A client mistake (malformed JSON, an unknown type or field, a value Polyvox cannot
serve, an event out of order, audio past the bounds) is an ``error`` event with
OpenAI's code, the field (``param``) and the client's ``event_id``; the session
goes on. Fields of OpenAI's schema that Polyvox accepts but does not honour are
logged (``wire.Ignored``). A session holds bounded state: the message size, the
input audio not yet committed, the conversation's items and characters, the tools,
and the reply text not yet spoken.

Barge-in: with server VAD, speech that starts while a response is in progress
cancels it at once (``turn_detection.interrupt_response``): its Synthesize stream is
closed, so the worker stops, and audio not yet sent is dropped; the assistant item
keeps the words whose audio was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

from starlette.websockets import WebSocket

from polyvox.config import RealtimeSettings
from polyvox.errors import PolyvoxError
from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.client_events import (
    ClientEvent,
    ClientEventError,
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    OutputAudioBufferClear,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    parse_client_event,
)
from polyvox.gateway.realtime.conversation import Conversation, ConversationError
from polyvox.gateway.realtime.ids import new_id
from polyvox.gateway.realtime.input_audio import InputAudio
from polyvox.gateway.realtime.items import item_to_wire
from polyvox.gateway.realtime.llm import LlmClient
from polyvox.gateway.realtime.responses import Response, ResponseOptions
from polyvox.gateway.realtime.session_checks import SessionChecks
from polyvox.gateway.realtime.session_config import SessionConfig
from polyvox.gateway.realtime.session_params import InputTranscription
from polyvox.gateway.routing import Router
from polyvox.gateway.sessions.base import SessionError, WebSocketSession
from polyvox.text.segment import Segmenter

logger = logging.getLogger(__name__)

Intent = Literal["conversation", "transcription"]
#: Events a transcription session takes; the rest are for conversations.
_TRANSCRIPTION_EVENTS = (
    SessionUpdate,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferClear,
)


class RealtimeSession(WebSocketSession):
    close_on_error = False

    def __init__(
        self,
        websocket: WebSocket,
        *,
        router: Router,
        settings: RealtimeSettings,
        segmenter: Segmenter,
        llm: LlmClient | None,
        intent: Intent,
        model: str | None,
    ) -> None:
        super().__init__(websocket)
        self.router = router
        self.settings = settings
        self.conversation = Conversation(
            max_items=settings.max_conversation_items, max_chars=settings.max_conversation_chars
        )
        self.conversation_id = new_id("conv")
        self._segmenter = segmenter
        self._llm = llm
        kind: Literal["realtime", "transcription"] = (
            "transcription" if intent == "transcription" else "realtime"
        )
        self._config = SessionConfig(
            type=kind,
            id=new_id("sess"),
            voice="alloy",
            model=model,
            transcription=InputTranscription(model=settings.stt_model),
        )
        self._checks = SessionChecks(self)
        self.input = InputAudio(self, conversation=kind == "realtime")
        self.response: Response | None = None
        self._idle_timer: asyncio.Task[None] | None = None
        #: The reply a barge-in stopped, until its response.done is out.
        self._interrupted: Response | None = None

    @property
    def config(self) -> SessionConfig:
        return self._config

    # -- sending ------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the client may be gone; the receive loop ends
            await self.send_json(event)

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        server: bool = False,
    ) -> None:
        kind = "server_error" if server else "invalid_request_error"
        await self.send(
            se.error(code=code, message=message, type=kind, param=param, client_event_id=event_id)
        )

    def error_event(self, error: SessionError) -> dict[str, Any]:
        return se.error(code=error.code, message=error.message, param=error.param)

    async def on_event(self, event: dict[str, Any]) -> bool:
        # Messages are parsed from their raw text in run() (an append may be megabytes:
        # it is parsed once, into the event model).
        raise NotImplementedError

    # -- the receive loop ---------------------------------------------------------------

    async def run(self) -> None:
        await self.send(se.session_created(self._config.to_wire()))
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await self._message(message.get("text"), message.get("bytes"))
        finally:
            await self.on_end()

    async def _message(self, text: str | None, data: bytes | None) -> None:
        try:
            if text is None:
                raise ClientEventError(
                    "invalid_type", "Binary messages are not accepted: send JSON text events."
                )
            if len(text) > self.settings.max_message_bytes:
                raise ClientEventError(
                    "message_too_large",
                    f"The message has {len(text)} bytes; a message holds at most "
                    f"{self.settings.max_message_bytes}.",
                )
            parsed = parse_client_event(text)
            for ignored in parsed.ignored:
                logger.info(
                    "realtime %s: %s accepted and ignored: %s",
                    self.request_id, ignored.path, ignored.reason,
                )  # fmt: skip
            await self._act(parsed.event)
        except ClientEventError as exc:
            await self.send_error(exc.code, exc.message, param=exc.param, event_id=exc.event_id)

    async def _act(self, event: ClientEvent) -> None:
        try:
            if self._config.type == "transcription" and not isinstance(
                event, _TRANSCRIPTION_EVENTS
            ):
                raise ClientEventError(
                    "invalid_value",
                    f"'{event.type}' is for conversations; this is a transcription session "
                    "(?intent=transcription).",
                    param="type",
                )
            await self._dispatch(event)
        except ClientEventError as exc:
            exc.event_id = exc.event_id or event.event_id
            raise
        except ConversationError as exc:
            raise ClientEventError(
                exc.code, exc.message, param=exc.param, event_id=event.event_id
            ) from None
        except PolyvoxError as exc:
            await self.send_error(exc.code.value, exc.message, event_id=event.event_id, server=True)

    async def _dispatch(self, event: ClientEvent) -> None:
        if isinstance(event, SessionUpdate):
            self._config = self._checks.updated(event.session)
            self.input.reconfigure()
            await self.send(se.session_updated(self._config.to_wire()))
        elif isinstance(event, InputAudioBufferAppend):
            await self.input.append(event.audio)
        elif isinstance(event, InputAudioBufferCommit):
            await self.input.commit()
        elif isinstance(event, InputAudioBufferClear):
            await self.input.clear()
        elif isinstance(event, OutputAudioBufferClear):
            if self.response is not None and not self.response.done:
                response_id = self.response.id
                await self.response.cancel("client_cancelled")
                await self.send(se.output_audio_cleared(response_id=response_id))
        elif isinstance(event, ConversationItemCreate):
            await self._create_item(event)
        elif isinstance(event, ConversationItemDelete):
            self.conversation.delete(event.item_id)
            await self.send(se.item_deleted(item_id=event.item_id))
        elif isinstance(event, ConversationItemRetrieve):
            item = item_to_wire(self.conversation.get(event.item_id))
            await self.send(se.item_retrieved(item=item))
        elif isinstance(event, ConversationItemTruncate):
            self.conversation.truncate(event.item_id, event.content_index, event.audio_end_ms)
            await self.send(
                se.item_truncated(
                    item_id=event.item_id,
                    content_index=event.content_index,
                    audio_end_ms=event.audio_end_ms,
                )
            )
        elif isinstance(event, ResponseCreate):
            await self._create_response(event)
        elif isinstance(event, ResponseCancel):
            await self._cancel_response(event.response_id)

    # -- conversation ---------------------------------------------------------------------

    async def _create_item(self, event: ConversationItemCreate) -> None:
        item, audio = self._checks.new_item(event.item)
        previous = event.previous_item_id
        stored, dropped = self.conversation.add(item, previous_item_id=previous)
        assert stored.id is not None
        for gone in dropped:
            await self.send(se.item_deleted(item_id=gone))
        previous_id = self.conversation.previous_id(stored.id)
        wire = item_to_wire(stored)
        await self.send(se.item_added(item=wire, previous_item_id=previous_id))
        if audio is not None:
            self.input.transcribe_item(stored, audio)  # type: ignore[arg-type]
        else:
            await self.send(se.item_done(item=wire, previous_item_id=previous_id))

    # -- responses --------------------------------------------------------------------------

    async def _create_response(self, event: ResponseCreate) -> None:
        if self.response is not None and not self.response.done:
            raise ClientEventError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        self._start_response(self._checks.response_options(event.response))

    def _start_response(self, options: ResponseOptions) -> None:
        self._stop_idle_timer()
        self.response = Response(
            self,
            options,
            llm=self._llm,
            segmenter=self._segmenter,
            transcripts=self.input.pending,
        )
        self.response.start()

    async def _cancel_response(self, response_id: str | None) -> None:
        active = self.response if self.response is not None and not self.response.done else None
        if active is None:
            raise ClientEventError(
                "response_cancel_not_active", "Cancellation failed: no active response found."
            )
        if response_id is not None and response_id != active.id:
            raise ClientEventError(
                "invalid_value",
                f"Response '{response_id}' is not in progress (the one in progress is "
                f"'{active.id}').",
                param="response_id",
            )
        await active.cancel("client_cancelled")

    async def response_finished(self, response: Response) -> None:
        """With ``idle_timeout_ms``, a user who stays silent that long after the reply
        has played gets a new response (``input_audio_buffer.timeout_triggered``)."""
        detection = self._config.turn_detection
        if detection is None or detection.idle_timeout_ms is None or response.status != "completed":
            return
        wait_s = (response.audio_ms + detection.idle_timeout_ms) / 1000
        self._stop_idle_timer()
        self._idle_timer = asyncio.create_task(self._idle(wait_s), name="realtime-idle")

    async def _idle(self, wait_s: float) -> None:
        start_ms = round(self.input.audio_ms)
        await asyncio.sleep(wait_s)
        self._idle_timer = None
        if self.response is not None and not self.response.done:
            return
        await self.send(
            se.input_audio_timeout_triggered(
                item_id=new_id("item"),
                audio_start_ms=start_ms,
                audio_end_ms=round(self.input.audio_ms),
            )
        )
        self._start_response(self._checks.response_options(None))

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def interrupt(self) -> None:
        self._stop_idle_timer()
        detection = self._config.turn_detection
        if detection is None or not detection.interrupt_response:
            return
        if self.response is not None and not self.response.done:
            self.response.stop("turn_detected")
            self._interrupted = self.response

    async def user_turn_started(self) -> None:
        interrupted, self._interrupted = self._interrupted, None
        if interrupted is not None:
            await interrupted.wait()

    async def user_turn_transcribed(self, item_id: str, transcript: str) -> None:
        detection = self._config.turn_detection
        if self._config.type != "realtime" or detection is None or not detection.create_response:
            return
        if self.response is not None and not self.response.done:
            logger.info("realtime %s: a response is in progress; no new one", self.request_id)
            return
        self._start_response(self._checks.response_options(None))

    async def on_end(self) -> None:
        self._stop_idle_timer()
        if self.response is not None:
            await self.response.cancel("client_cancelled")
        await self.input.close()
