"""OpenAI's transcription response formats: json, text, srt, verbose_json, vtt, and SSE."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from polyvox.contract.types import TranscriptionInfo, TranscriptSegment, transcript_text


class TranscriptFormat(StrEnum):
    JSON = "json"
    TEXT = "text"
    SRT = "srt"
    VERBOSE_JSON = "verbose_json"
    VTT = "vtt"


@dataclass(frozen=True, slots=True)
class Transcript:
    segments: Sequence[TranscriptSegment]
    info: TranscriptionInfo

    @property
    def text(self) -> str:
        return transcript_text(list(self.segments))


def _usage(info: TranscriptionInfo) -> dict[str, Any]:
    # Whisper-style models are billed by duration in OpenAI's API.
    return {"type": "duration", "seconds": round(info.duration_s, 3)}


def _timestamp(seconds: float, *, decimal: str) -> str:
    millis = max(round(seconds * 1000), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _cues(segments: Sequence[TranscriptSegment], *, decimal: str) -> list[str]:
    return [
        f"{_timestamp(s.start_s, decimal=decimal)} --> {_timestamp(s.end_s, decimal=decimal)}\n"
        f"{s.text.strip()}\n"
        for s in segments
    ]


def srt(segments: Sequence[TranscriptSegment]) -> str:
    return "\n".join(f"{i}\n{cue}" for i, cue in enumerate(_cues(segments, decimal=","), 1))


def vtt(segments: Sequence[TranscriptSegment]) -> str:
    return "WEBVTT\n\n" + "\n".join(_cues(segments, decimal="."))


def verbose_json(transcript: Transcript, *, segments: bool, words: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": transcript.info.language,
        "duration": round(transcript.info.duration_s, 3),
        "text": transcript.text,
    }
    if segments:
        body["segments"] = [
            {
                "id": s.id,
                "seek": s.seek,
                "start": round(s.start_s, 3),
                "end": round(s.end_s, 3),
                "text": s.text,
                "tokens": list(s.tokens),
                "temperature": s.temperature,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in transcript.segments
        ]
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start_s, 3), "end": round(w.end_s, 3)}
            for s in transcript.segments
            for w in s.words
        ]
    body["usage"] = _usage(transcript.info)
    return body


def render(
    transcript: Transcript, fmt: TranscriptFormat, *, granularities: frozenset[str]
) -> Response:
    """The whole transcript as an HTTP response in ``fmt``."""
    if fmt is TranscriptFormat.JSON:
        return JSONResponse({"text": transcript.text, "usage": _usage(transcript.info)})
    if fmt is TranscriptFormat.VERBOSE_JSON:
        body = verbose_json(
            transcript, segments="segment" in granularities, words="word" in granularities
        )
        return JSONResponse(body)
    if fmt is TranscriptFormat.SRT:
        return PlainTextResponse(srt(transcript.segments), media_type="application/x-subrip")
    if fmt is TranscriptFormat.VTT:
        return PlainTextResponse(vtt(transcript.segments), media_type="text/vtt")
    return PlainTextResponse(transcript.text + "\n")


def sse_event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def text_delta(delta: str) -> bytes:
    """OpenAI's ``transcript.text.delta`` event."""
    return sse_event({"type": "transcript.text.delta", "delta": delta, "logprobs": None})


def text_done(text: str) -> bytes:
    """OpenAI's ``transcript.text.done`` event; no tokens are counted here."""
    usage = {"type": "tokens", "input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    return sse_event(
        {"type": "transcript.text.done", "text": text, "logprobs": None, "usage": usage}
    )
