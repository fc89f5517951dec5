"""What a realtime session checks before it takes a client's settings, items and responses.

The event models (``client_events``) check shapes; these check what only the
server knows: whether a voice, a transcription model or a format can be served,
and the session's bounds (tools, metadata, an item's audio). A failure is a
:class:`~polyvox.gateway.realtime.client_events.ClientEventError` naming the field.
"""

from __future__ import annotations

from polyvox.contract.types import Capability, ModelInfo
from polyvox.errors import PolyvoxError
from polyvox.gateway.languages import resolve_language
from polyvox.gateway.realtime.audio_formats import bytes_per_second
from polyvox.gateway.realtime.client_events import ClientEventError, ResponseParams
from polyvox.gateway.realtime.host import SessionHost
from polyvox.gateway.realtime.items import AnyItem, ItemReference, UserMessage
from polyvox.gateway.realtime.responses import ResponseOptions
from polyvox.gateway.realtime.session_config import SessionConfig
from polyvox.gateway.realtime.session_params import (
    FunctionTool,
    RealtimeSessionParams,
    TranscriptionSessionParams,
    VoiceId,
)

#: OpenAI's bound on a response's metadata.
MAX_METADATA_PAIRS = 16


class SessionChecks:
    def __init__(self, host: SessionHost) -> None:
        self._host = host

    def updated(self, params: RealtimeSessionParams | TranscriptionSessionParams) -> SessionConfig:
        """The session's configuration with ``params`` applied, if it can be served."""
        try:
            config = self._host.config.apply(params)
        except ValueError as exc:
            raise ClientEventError("invalid_value", str(exc), param="session.type") from None
        transcription = config.transcription
        if transcription is not None:
            name = transcription.model or self._host.settings.stt_model
            model = self._stt_model(name, "session.audio.input.transcription.model")
            try:
                resolve_language(model, transcription.language)
            except PolyvoxError as exc:
                raise ClientEventError(
                    exc.code.value, exc.message, param="session.audio.input.transcription.language"
                ) from None
        if config.type == "realtime":
            self.voice(config.voice, "session.audio.output.voice")
            self._tools(config.tools, "session.tools")
        return config

    def voice(self, voice: str | VoiceId, param: str) -> str:
        """The native voice of the speech model that ``voice`` names."""
        name = voice if isinstance(voice, str) else voice.id
        try:
            route = self._host.router.resolve(
                self._host.settings.tts_model, capability=Capability.TTS
            )
            return self._host.router.resolve_voice(route.model, name)
        except PolyvoxError as exc:
            raise ClientEventError(exc.code.value, exc.message, param=param) from None

    def _stt_model(self, name: str, param: str) -> ModelInfo:
        try:
            return self._host.router.resolve(name, capability=Capability.STT).model
        except PolyvoxError as exc:
            raise ClientEventError(exc.code.value, exc.message, param=param) from None

    def _tools(self, tools: tuple[FunctionTool, ...] | list[FunctionTool], param: str) -> None:
        limit = self._host.settings.max_tools
        if len(tools) > limit:
            raise ClientEventError(
                "invalid_value",
                f"{len(tools)} tools; a session takes at most {limit}.",
                param=param,
            )

    def new_item(self, item: AnyItem) -> tuple[AnyItem, bytes | None]:
        """A client's item as it is stored, and its audio to transcribe (if any)."""
        if not isinstance(item, UserMessage):
            return item, None
        audio_parts = [p for p in item.content if p.type == "input_audio" and p.audio is not None]
        if not audio_parts:
            return item, None
        if len(audio_parts) > 1:
            raise ClientEventError(
                "invalid_value", "An item may carry one input_audio part.", param="item.content"
            )
        audio = audio_parts[0].audio or b""
        seconds = len(audio) / bytes_per_second(self._host.config.input_format)
        limit_s = self._host.settings.max_input_buffer_s
        if seconds > limit_s:
            raise ClientEventError(
                "invalid_value",
                f"The item's audio lasts {seconds:.1f} s; an item holds at most {limit_s:g} s.",
                param="item.content",
            )
        if audio_parts[0].transcript is not None:
            audio = b""  # the client's transcript stands
        content = [part.model_copy(update={"audio": None}) for part in item.content]
        return item.model_copy(update={"content": content}), audio or None

    def response_options(self, params: ResponseParams | None) -> ResponseOptions:
        config = self._host.config
        params = params or ResponseParams()
        output = params.audio.output if params.audio is not None else None
        voice = output.voice if output is not None and output.voice is not None else config.voice
        param = (
            "response.audio.output.voice"
            if output and output.voice
            else "session.audio.output.voice"
        )
        self.voice(voice, param)
        tools = tuple(params.tools) if params.tools is not None else config.tools
        self._tools(tools, "response.tools")
        if params.metadata is not None and len(params.metadata) > MAX_METADATA_PAIRS:
            raise ClientEventError(
                "invalid_value",
                f"metadata holds at most {MAX_METADATA_PAIRS} pairs.",
                param="response.metadata",
            )
        if params.conversation not in (None, "auto", "none"):
            raise ClientEventError(
                "invalid_value",
                "Polyvox has one conversation per session: use 'auto' or 'none'.",
                param="response.conversation",
            )
        fmt = output.format if output is not None and output.format is not None else None
        return ResponseOptions(
            instructions=config.instructions
            if params.instructions is None
            else params.instructions,
            voice=voice if isinstance(voice, str) else voice.id,
            output_format=fmt or config.output_format,
            speed=config.speed,
            modalities=tuple(params.output_modalities or config.output_modalities),
            tools=tools,
            tool_choice=params.tool_choice
            if params.tool_choice is not None
            else config.tool_choice,
            max_output_tokens=params.max_output_tokens
            if "max_output_tokens" in params.model_fields_set
            else config.max_output_tokens,
            parallel_tool_calls=params.parallel_tool_calls
            if params.parallel_tool_calls is not None
            else config.parallel_tool_calls,
            metadata=params.metadata,
            out_of_band=params.conversation == "none",
            input_items=self._input_items(params),
        )

    def _input_items(self, params: ResponseParams) -> list[AnyItem] | None:
        if params.input is None:
            return None
        conversation = self._host.conversation
        items: list[AnyItem] = []
        for index, entry in enumerate(params.input):
            if isinstance(entry, ItemReference):
                if entry.id not in conversation:
                    raise ClientEventError(
                        "item_not_found",
                        f"Item with item_id '{entry.id}' not found.",
                        param=f"response.input[{index}].id",
                    )
                items.append(conversation.get(entry.id))
            else:
                items.append(entry)
        return items
