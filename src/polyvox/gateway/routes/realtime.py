"""``/v1/realtime``: OpenAI's GA Realtime API over WebSocket (see polyvox.gateway.realtime)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from polyvox.gateway.auth import accepted_subprotocol
from polyvox.gateway.errors import error_response
from polyvox.gateway.realtime.session import Intent, RealtimeSession

router = APIRouter()

_INTENTS: tuple[Intent, ...] = ("conversation", "transcription")


@router.websocket("/v1/realtime")
async def realtime_websocket(
    websocket: WebSocket, intent: str = "conversation", model: str | None = None
) -> None:
    """``?intent=conversation`` (default) or ``transcription``; ``model`` is echoed."""
    if intent not in _INTENTS:
        message = f"unknown intent {intent!r}; use 'conversation' or 'transcription'"
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(
                error_response(400, message, code="invalid_value", param="intent")
            )
        else:
            await websocket.close(code=1008, reason="unknown intent")
        return
    # OpenAI's browser clients offer "realtime" beside their key: answered, never the key.
    await websocket.accept(subprotocol=accepted_subprotocol(websocket.scope))
    state = websocket.app.state
    session = RealtimeSession(
        websocket,
        router=state.router,
        settings=state.settings.realtime,
        segmenter=state.segmenters.for_language("en"),
        llm=state.realtime_llm,
        intent="transcription" if intent == "transcription" else "conversation",
        model=model,
    )
    await session.run()
