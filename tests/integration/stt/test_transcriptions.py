"""POST /v1/audio/transcriptions through the OpenAI SDK, on speech made by the Piper engine."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
import soundfile
import soxr
from openai import AsyncOpenAI

from support.speech import decode, word_error_rate

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning at the office.",
    "We will meet at the train station after lunch.",
]
MAX_WER = 0.25
Speak = Callable[..., Awaitable[bytes]]
#: Whisper's timestamps are 20 ms tokens; words may overhang their segment by one.
SLACK_S = 0.05


def wav_bytes(samples: np.ndarray, rate_hz: int) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate_hz, format="WAV", subtype="PCM_16")
    return out.getvalue()


async def three_sentences_with_pauses(speak: Speak) -> tuple[bytes, str]:
    parts = [decode(await speak(sentence)) for sentence in SENTENCES]
    rate = parts[0].sample_rate_hz
    pause = np.zeros(rate, np.float32)
    audio = np.concatenate([x for part in parts for x in (part.samples, pause)])
    return wav_bytes(audio, rate), " ".join(SENTENCES)


@pytest.mark.parametrize("sentence", SENTENCES)
async def test_piper_speech_is_transcribed(
    stt_client: AsyncOpenAI, speak: Speak, sentence: str
) -> None:
    wav = await speak(sentence)
    transcript = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", wav, "audio/wav")
    )
    assert word_error_rate(sentence, transcript.text) <= MAX_WER


@pytest.mark.parametrize("container", ["mp3", "opus", "aac", "flac"])
async def test_compressed_uploads_are_decoded(
    stt_client: AsyncOpenAI, speak: Speak, container: str
) -> None:
    sentence = SENTENCES[1]
    data = await speak(sentence, container)
    transcript = await stt_client.audio.transcriptions.create(
        model="whisper/tiny.en", file=(f"speech.{container}", data)
    )
    assert word_error_rate(sentence, transcript.text) <= MAX_WER


async def test_stereo_48k_upload_is_mixed_and_resampled(
    stt_client: AsyncOpenAI, speak: Speak
) -> None:
    sentence = SENTENCES[2]
    mono = decode(await speak(sentence))
    at_48k = soxr.resample(mono.samples, mono.sample_rate_hz, 48_000)
    stereo = np.stack([at_48k, 0.5 * at_48k], axis=1)
    transcript = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("stereo.wav", wav_bytes(stereo, 48_000))
    )
    assert word_error_rate(sentence, transcript.text) <= MAX_WER


async def test_text_format(stt_client: AsyncOpenAI, speak: Speak) -> None:
    text = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", await speak(SENTENCES[0])), response_format="text"
    )
    assert isinstance(text, str)
    assert word_error_rate(SENTENCES[0], text) <= MAX_WER


CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)\n(.+)\n", re.MULTILINE
)


def cue_times(document: str) -> list[tuple[float, float, str]]:
    cues = []
    for match in CUE.finditer(document):
        h1, m1, s1, ms1, h2, m2, s2, ms2, text = match.groups()
        start = int(h1) * 3600 + int(m1) * 60 + int(s1) + int(ms1) / 1000
        end = int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2) / 1000
        cues.append((start, end, text))
    return cues


@pytest.mark.parametrize("response_format", ["srt", "vtt"])
async def test_subtitle_formats_have_monotonic_timings(
    stt_client: AsyncOpenAI, speak: Speak, response_format: str
) -> None:
    wav, reference = await three_sentences_with_pauses(speak)
    document = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", wav), response_format=response_format
    )
    assert isinstance(document, str)
    if response_format == "vtt":
        assert document.startswith("WEBVTT\n\n")
    else:
        numbers = [int(line) for line in document.splitlines() if line.isdigit()]
        assert numbers == list(range(1, len(numbers) + 1))
    cues = cue_times(document)
    assert len(cues) >= 2
    for start, end, _ in cues:
        assert 0 <= start < end <= decode(wav).duration_s + SLACK_S
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)
    assert all(prev[1] <= nxt[0] + SLACK_S for prev, nxt in itertools.pairwise(cues))
    assert word_error_rate(reference, " ".join(c[2] for c in cues)) <= MAX_WER


async def test_verbose_json_words_lie_inside_their_segments(
    stt_client: AsyncOpenAI, speak: Speak
) -> None:
    wav, reference = await three_sentences_with_pauses(speak)
    verbose = await stt_client.audio.transcriptions.create(
        model="whisper-1",
        file=("speech.wav", wav),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert verbose.language == "en"
    assert verbose.duration == pytest.approx(decode(wav).duration_s, abs=0.01)
    assert verbose.segments
    assert verbose.words
    assert [s.id for s in verbose.segments] == list(range(len(verbose.segments)))
    starts = [s.start for s in verbose.segments]
    assert starts == sorted(starts)
    for word in verbose.words:
        assert word.start <= word.end
        assert any(
            s.start - SLACK_S <= word.start and word.end <= s.end + SLACK_S
            for s in verbose.segments
        ), word
    assert word_error_rate(reference, " ".join(w.word for w in verbose.words)) <= MAX_WER
    assert word_error_rate(reference, verbose.text) <= MAX_WER


async def test_stream_true_gives_openai_text_events(stt_client: AsyncOpenAI, speak: Speak) -> None:
    wav, reference = await three_sentences_with_pauses(speak)
    stream = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", wav), stream=True
    )
    deltas, done = [], []
    async for event in stream:
        if event.type == "transcript.text.delta":
            deltas.append(event.delta)
        elif event.type == "transcript.text.done":
            done.append(event.text)
    assert deltas
    assert done == ["".join(deltas)]
    assert word_error_rate(reference, done[0]) <= MAX_WER


async def test_vad_filter_keeps_the_words_and_their_times(
    stt_client: AsyncOpenAI, speak: Speak
) -> None:
    first, second = [decode(await speak(s)) for s in SENTENCES[:2]]
    rate = first.sample_rate_hz
    gap_s = 8.0
    audio = np.concatenate([first.samples, np.zeros(int(gap_s * rate), np.float32), second.samples])
    verbose = await stt_client.audio.transcriptions.create(
        model="whisper-1",
        file=("speech.wav", wav_bytes(audio, rate)),
        response_format="verbose_json",
        timestamp_granularities=["word"],
        extra_body={"vad_filter": "true"},
    )
    assert word_error_rate(" ".join(SENTENCES[:2]), verbose.text) <= MAX_WER
    assert verbose.words
    # Times refer to the original audio, silence included: the second sentence's
    # words start after the gap.
    second_start_s = first.duration_s + gap_s
    late = [w for w in verbose.words if w.start >= second_start_s - 0.5]
    assert word_error_rate(SENTENCES[1], " ".join(w.word for w in late)) <= MAX_WER


async def test_language_is_checked_against_the_model(stt_client: AsyncOpenAI, speak: Speak) -> None:
    wav = await speak(SENTENCES[0])
    ok = await stt_client.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", wav), language="en-US"
    )
    assert word_error_rate(SENTENCES[0], ok.text) <= MAX_WER
