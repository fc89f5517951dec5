"""OpenAI's transcript formats rendered from segments."""

from __future__ import annotations

import json

from polyvox.contract.types import TranscriptionInfo, TranscriptSegment, Word
from polyvox.gateway.transcript_formats import Transcript, TranscriptFormat, render, srt, vtt

SEGMENTS = [
    TranscriptSegment(
        id=0, start_s=0.0, end_s=1.5, text=" Hello there.",
        words=(Word(0.0, 0.6, " Hello", 0.9), Word(0.6, 1.5, " there.", 0.8)),
    ),
    TranscriptSegment(id=1, start_s=3661.25, end_s=3662.0, text=" Bye.", words=()),
]  # fmt: skip
INFO = TranscriptionInfo("en", 1.0, duration_s=3662.5, duration_after_vad_s=3662.5)


def test_srt_cues_are_numbered_with_comma_millis() -> None:
    assert srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n01:01:01,250 --> 01:01:02,000\nBye.\n"
    )


def test_vtt_has_its_header_and_dot_millis() -> None:
    assert vtt(SEGMENTS) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
        "01:01:01.250 --> 01:01:02.000\nBye.\n"
    )


def test_json_and_text() -> None:
    transcript = Transcript(SEGMENTS, INFO)
    body = json.loads(render(transcript, TranscriptFormat.JSON, granularities=frozenset()).body)
    assert body == {"text": "Hello there. Bye.", "usage": {"type": "duration", "seconds": 3662.5}}
    text = render(transcript, TranscriptFormat.TEXT, granularities=frozenset()).body
    assert text == b"Hello there. Bye.\n"


def test_verbose_json_granularities() -> None:
    transcript = Transcript(SEGMENTS, INFO)
    both = frozenset({"segment", "word"})
    body = json.loads(render(transcript, TranscriptFormat.VERBOSE_JSON, granularities=both).body)
    assert [s["id"] for s in body["segments"]] == [0, 1]
    assert body["words"] == [
        {"word": "Hello", "start": 0.0, "end": 0.6},
        {"word": "there.", "start": 0.6, "end": 1.5},
    ]
    words_only = frozenset({"word"})
    body = json.loads(
        render(transcript, TranscriptFormat.VERBOSE_JSON, granularities=words_only).body
    )
    assert "segments" not in body
    assert body["language"] == "en"
