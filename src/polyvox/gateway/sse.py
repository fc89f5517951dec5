"""OpenAI's server-sent events for speech: ``speech.audio.delta`` then ``speech.audio.done``;
``speech.word`` events (an extension, asked for with ``timestamps``) between them."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.gateway.errors import ApiError, error_body
from polyvox.gateway.word_timeline import SpokenWord


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


async def sse_events(audio: AsyncIterator[bytes | SpokenWord]) -> AsyncIterator[bytes]:
    """Wrap encoded audio chunks as base64 delta events, closed by a done event; each
    word becomes a ``speech.word`` event (``word``, ``start``, ``end`` in seconds of the
    audio, and where it is in the input).

    A stream that fails (the request timed out, the worker died) ends with an
    ``error`` event carrying OpenAI's error object instead of the done event.
    """
    total_bytes = 0
    try:
        async for chunk in audio:
            if isinstance(chunk, SpokenWord):
                yield _event({"type": "speech.word", **chunk.to_json()})
                continue
            total_bytes += len(chunk)
            yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()})
    except (ApiError, PolyvoxError) as exc:
        error = ApiError.from_exception(exc)
        body = error_body(error.status, error.message, code=error.code, param=error.param)
        yield _event({"type": "error", **body})
        return
    # Engines here count no tokens; the fields exist so OpenAI clients parse the event.
    usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    yield _event({"type": "speech.audio.done", "usage": usage, "audio_bytes": total_bytes})
