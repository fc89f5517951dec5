"""``POST /v1/audio/speech``: OpenAI-compatible text to speech."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from polyvox.audio import check_sample_rate
from polyvox.gateway.errors import ApiError
from polyvox.gateway.routing import Router
from polyvox.gateway.schemas import SpeechRequest
from polyvox.gateway.speech import DEFAULT_SAMPLE_RATE_HZ, synthesize_encoded
from polyvox.gateway.worker_client import SynthesisSettings

router = APIRouter()


@router.post("/v1/audio/speech", response_class=Response)
async def create_speech(body: SpeechRequest, request: Request) -> Response:
    settings = request.app.state.settings
    routes: Router = request.app.state.router
    # Everything is checked before any synthesis starts.
    text = body.input.strip()
    if not text:
        raise ApiError(400, "input must contain text to speak", code="empty_input", param="input")
    if len(body.input) > settings.max_input_chars:
        raise ApiError(
            413,
            f"input has {len(body.input)} characters; the limit is {settings.max_input_chars}",
            code="input_too_long",
            param="input",
        )
    sample_rate_hz = body.sample_rate or DEFAULT_SAMPLE_RATE_HZ
    check_sample_rate(body.response_format, sample_rate_hz)
    route = routes.resolve(body.model)
    voice = routes.resolve_voice(route.model, body.voice)
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex

    speech = await synthesize_encoded(
        route.worker.client,
        SynthesisSettings(
            model_id=route.model.id, voice=voice, speed=body.speed, request_id=request_id
        ),
        [text],
        response_format=body.response_format,
        sample_rate_hz=sample_rate_hz,
    )
    if speech.duration_s == 0:
        raise ApiError(422, "the input produced no audio", code="no_audio", param="input")
    return Response(
        speech.body,
        media_type=speech.content_type,
        headers={
            "x-request-id": request_id,
            "x-polyvox-model": route.native_id,
            "x-polyvox-voice": voice,
            "x-polyvox-sample-rate": str(speech.sample_rate_hz),
        },
    )
