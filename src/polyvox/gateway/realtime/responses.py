"""One response: the user's language model asked, its reply spoken, the whole GA sequence sent.

``response.created``, then (once the user's transcripts are in) the chat-completions
request; text deltas go into a ``TextBuffer`` (the TTS WebSocket's segmentation: the
first clause is released as soon as it is complete) and each segment to the
:class:`~polyvox.gateway.realtime.speaker.Speaker`; tool calls become
``function_call`` items with their argument deltas. Then the ``.done`` events and
``response.done`` with ``completed``, ``cancelled`` (barge-in or ``response.cancel``:
the reply's item keeps the words whose audio was sent) or ``failed``.

Text a voice cannot read (its model's languages, ``text.scripts.check_readable``) is
an ``error`` event naming the script; that segment is skipped and the reply goes on.
The language model is read no faster than the reply is spoken once
``realtime.max_unspoken_chars`` wait to be spoken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from polyvox.contract.types import Capability
from polyvox.errors import PolyvoxError
from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.chat_messages import chat_messages, chat_tool_choice, chat_tools
from polyvox.gateway.realtime.host import SessionHost
from polyvox.gateway.realtime.ids import item_id as new_item_id
from polyvox.gateway.realtime.ids import response_id as new_response_id
from polyvox.gateway.realtime.items import (
    AnyItem,
    AssistantContent,
    AssistantMessage,
    ItemStatus,
    item_to_wire,
)
from polyvox.gateway.realtime.llm import (
    Finish,
    LlmClient,
    LlmError,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStart,
)
from polyvox.gateway.realtime.session_config import AudioFormat
from polyvox.gateway.realtime.session_params import FunctionTool, ToolChoiceFunction
from polyvox.gateway.realtime.speaker import Speaker
from polyvox.gateway.realtime.spoken import cut_transcript, heard_segments
from polyvox.gateway.realtime.tool_calls import ToolCalls
from polyvox.text.buffer import TextBuffer
from polyvox.text.scripts import check_readable
from polyvox.text.segment import Segmenter

logger = logging.getLogger(__name__)

#: Longest a response waits for the user's transcripts before asking the model anyway.
_TRANSCRIPT_WAIT_S = 30.0


@dataclass(frozen=True)
class ResponseOptions:
    """One response's effective settings: its own, else the session's."""

    instructions: str
    voice: str
    output_format: AudioFormat
    speed: float
    modalities: tuple[Literal["text", "audio"], ...]
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: str | ToolChoiceFunction = "auto"
    max_output_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    #: ``conversation: "none"``: the reply is not added to the conversation.
    out_of_band: bool = False
    #: The context instead of the conversation's items (``response.input``).
    input_items: Sequence[AnyItem] | None = None


class ResponseFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Message:
    """The reply's message item as it grows."""

    item_id: str
    output_index: int
    kind: Literal["output_audio", "output_text"]
    ref: se.PartRef
    text: str = ""
    speaker: Speaker | None = None


class Response:
    def __init__(
        self,
        host: SessionHost,
        options: ResponseOptions,
        *,
        llm: LlmClient | None,
        segmenter: Segmenter,
        transcripts: Callable[[], list[asyncio.Future[str]]],
    ) -> None:
        self.id = new_response_id()
        self._host = host
        self._options = options
        self._llm = llm
        self._buffer = TextBuffer(segmenter)
        self._transcripts = transcripts
        self._output: list[dict[str, Any]] = []
        self._message: _Message | None = None
        self._usage: dict[str, int] | None = None
        self._reason: se.StatusReason | None = None
        self._task: asyncio.Task[None] | None = None
        self._tool_calls = ToolCalls(
            host,
            response_id=self.id,
            output=self._output,
            add_to_conversation=self._add_to_conversation,
            out_of_band=options.out_of_band,
        )
        #: Languages the reply's voice reads.
        self._languages: tuple[str, ...] = ()
        #: Audio of the reply sent, in ms (final once it is done).
        self.audio_ms = 0.0
        #: The final status, once ``response.done`` is sent.
        self.status: se.ResponseStatus = "in_progress"

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"realtime-{self.id}")

    def stop(self, reason: se.StatusReason) -> None:
        """Stop now, without waiting: no audio delta is sent after this call (the
        worker stops speaking; ``response.done`` cancelled follows)."""
        if self._task is None or self._task.done():
            return
        self._reason = reason
        self._task.cancel()

    async def cancel(self, reason: se.StatusReason) -> None:
        """:meth:`stop`, then wait until ``response.done`` is sent."""
        self.stop(reason)
        await self.wait()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the run ----------------------------------------------------------------

    def _object(self, status: se.ResponseStatus, **details: Any) -> dict[str, Any]:
        options = self._options
        return se.response_object(
            response_id=self.id,
            status=status,
            output=self._output,
            conversation_id=None if options.out_of_band else self._host.conversation_id,
            output_modalities=options.modalities,
            voice=options.voice,
            output_format=options.output_format.model_dump(),
            max_output_tokens=options.max_output_tokens,
            metadata=options.metadata,
            usage=self._usage,
            **details,
        )

    async def _run(self) -> None:
        await self._host.send(se.response_created(response=self._object("in_progress")))
        done: dict[str, Any]
        try:
            await self._respond()
            done = self._object("completed")
        except asyncio.CancelledError:
            await self._close_message(cancelled=True)
            done = self._object("cancelled", reason=self._reason or "client_cancelled")
        except (ResponseFailed, LlmError) as exc:
            logger.info("realtime %s: response failed: %s", self._host.request_id, exc)
            await self._close_message(cancelled=True)
            code = exc.code
            done = self._object("failed", failure=(code, exc.message))
        except PolyvoxError as exc:
            await self._close_message(cancelled=True)
            done = self._object("failed", failure=(exc.code.value, exc.message))
        self.status = done["status"]
        await self._host.send(se.response_done(response=done))
        await self._host.response_finished(self)

    async def _respond(self) -> None:
        pending = self._transcripts()
        if pending:
            await asyncio.wait(pending, timeout=_TRANSCRIPT_WAIT_S)
        if self._llm is None:
            raise ResponseFailed(
                "llm_not_configured",
                "No language model is configured: set realtime.llm.base_url and "
                "realtime.llm.model (POLYVOX_REALTIME__LLM__BASE_URL, ...__MODEL).",
            )
        options = self._options
        items = options.input_items
        if items is None:
            items = self._host.conversation.items()
        messages = chat_messages(items, instructions=options.instructions)
        stream_options: dict[str, Any] = {"max_tokens": options.max_output_tokens}
        if options.tools and options.tool_choice != "none":
            stream_options.update(
                tools=chat_tools(options.tools),
                tool_choice=chat_tool_choice(options.tool_choice),
                parallel_tool_calls=options.parallel_tool_calls,
            )
        async with self._llm.stream(messages, **stream_options) as deltas:
            async for delta in deltas:
                if isinstance(delta, TextDelta):
                    await self._text(delta.text)
                elif isinstance(delta, ToolCallStart):
                    await self._tool_calls.started(delta)
                elif isinstance(delta, ToolCallArgumentsDelta):
                    await self._tool_calls.arguments(delta)
                elif isinstance(delta, ToolCallDone):
                    await self._tool_calls.done(delta)
                elif isinstance(delta, Finish) and delta.usage is not None:
                    self._usage = {
                        "input_tokens": delta.usage.input_tokens,
                        "output_tokens": delta.usage.output_tokens,
                    }
        if self._message is not None and self._message.speaker is not None:
            await self._say(self._buffer.flush())
            await self._message.speaker.finish()
        await self._close_message(cancelled=False)

    # -- the message ------------------------------------------------------------

    async def _open_message(self) -> _Message:
        if self._message is not None:
            return self._message
        audio = "audio" in self._options.modalities
        kind: Literal["output_audio", "output_text"] = "output_audio" if audio else "output_text"
        item_id = new_item_id()
        ref = se.PartRef(self.id, item_id, len(self._output), 0)
        message = _Message(item_id, ref.output_index, kind, ref)
        if audio:
            message.speaker = self._speaker(ref)
        self._message = message
        item = self._item(message, status="in_progress")
        self._output.append(item_to_wire(item))
        await self._host.send(
            se.output_item_added(
                response_id=self.id, output_index=ref.output_index, item=item_to_wire(item)
            )
        )
        await self._add_to_conversation(item)
        await self._host.send(
            se.content_part_added(ref, part=se.content_part("audio" if audio else "text"))
        )
        return message

    def _speaker(self, ref: se.PartRef) -> Speaker:
        router = self._host.router
        try:
            route = router.resolve(self._host.settings.tts_model, capability=Capability.TTS)
        except PolyvoxError as exc:
            raise ResponseFailed(exc.code.value, exc.message) from None
        voice = router.resolve_voice(route.model, self._options.voice)
        self._languages = next(
            (v.languages for v in route.model.voices if v.id == voice), route.model.languages
        )
        return Speaker(
            self._host,
            ref,
            route=route,
            voice=voice,
            speed=self._options.speed,
            output_format=self._options.output_format,
        )

    def _item(
        self, message: _Message, *, status: ItemStatus, text: str | None = None
    ) -> AssistantMessage:
        body = message.text if text is None else text
        if message.kind == "output_audio":
            part = AssistantContent(type="output_audio", transcript=body)
        else:
            part = AssistantContent(type="output_text", text=body)
        return AssistantMessage(
            id=message.item_id,
            type="message",
            role="assistant",
            status=status,
            content=[part],  # type: ignore[arg-type]
        )

    async def _text(self, text: str) -> None:
        message = await self._open_message()
        if message.speaker is None:
            message.text += text
            await self._host.send(se.output_text_delta(message.ref, delta=text))
            return
        speaker = message.speaker
        limit = self._host.settings.max_unspoken_chars
        while speaker.unspoken_chars + len(self._buffer.pending) + len(text) > limit:
            speaker.progress.clear()
            await speaker.progress.wait()
        if self._buffer.needs_segmenter(text):
            segments = await asyncio.to_thread(self._buffer.push, text)
        else:
            segments = self._buffer.push(text)
        await self._say(segments)

    async def _say(self, segments: list[str]) -> None:
        message = self._message
        if message is None or message.speaker is None:
            return
        for segment in segments:
            unreadable = check_readable(segment, self._languages)
            if unreadable is not None:
                await self._host.send_error(
                    "unsupported_language",
                    f"Not spoken: {unreadable.describe()}; that part of the reply was skipped.",
                    param=",".join(unreadable.codes),
                    server=True,
                )
                continue
            text = segment if not message.text else " " + segment
            message.text += text
            message.speaker.say(text)

    async def _close_message(self, *, cancelled: bool) -> None:
        message = self._message
        if message is None:
            return
        self._message = None
        transcript = message.text
        segments = []
        if message.speaker is not None:
            speaker = message.speaker
            if cancelled:
                await speaker.cancel()
            # What the user can have heard: the audio sent, not the text generated.
            self.audio_ms = speaker.sent_ms
            sent_ms = round(speaker.sent_ms)
            segments = heard_segments(speaker.heard(), sent_ms)
            transcript = cut_transcript(speaker.heard(), sent_ms)
        status: ItemStatus = "incomplete" if cancelled else "completed"
        item = self._item(message, status=status, text=transcript)
        ref = message.ref
        if message.kind == "output_audio":
            await self._host.send(se.output_audio_done(ref))
            await self._host.send(se.output_audio_transcript_done(ref, transcript=transcript))
            part = se.content_part("audio", transcript)
        else:
            await self._host.send(se.output_text_done(ref, text=transcript))
            part = se.content_part("text", transcript)
        await self._host.send(se.content_part_done(ref, part=part))
        wire = item_to_wire(item)
        self._output[ref.output_index] = wire
        if not self._options.out_of_band and item.id in self._host.conversation:
            conversation = self._host.conversation
            conversation.replace(item)
            for segment in segments:
                conversation.add_segment(item.id or "", 0, segment)
            await self._host.send(
                se.item_done(item=wire, previous_item_id=conversation.previous_id(item.id or ""))
            )
        await self._host.send(
            se.output_item_done(response_id=self.id, output_index=ref.output_index, item=wire)
        )

    async def _add_to_conversation(self, item: AnyItem) -> None:
        if self._options.out_of_band:
            return
        conversation = self._host.conversation
        previous = conversation.items()[-1].id if len(conversation) else None
        _, dropped = conversation.add(item)
        for gone in dropped:
            await self._host.send(se.item_deleted(item_id=gone))
        await self._host.send(se.item_added(item=item_to_wire(item), previous_item_id=previous))
