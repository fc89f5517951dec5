"""Kokoro's audio one scheduler step at a time, a stream's first chunk before its
first sentence is decoded.

A unit (a sentence, or a batch of a long one) is normally encoded and decoded whole,
exactly as kokoro-onnx does, and trimmed as it trims. When the listener is waiting
(``first_chunk_s``), the first unit is cut in two (:mod:`kokoro_decode` decodes a
window of frames):

1. its first ``first_chunk_s`` of speech, from a window that starts ``LEAD_FRAMES``
   into its leading silence (the rest of that silence is never decoded) and ends
   ``RIGHT_CONTEXT_FRAMES`` past the chunk;
2. the rest of the unit, from ``LEFT_CONTEXT_FRAMES`` before the cut to its end,
   faded in over the first window's overhang (the two windows normalize with
   different statistics), its trailing silence trimmed as the whole unit's would be.

Kokoro decodes a second of audio in about a third of a second on two cores, so the
rest of a sentence can take longer to decode than the first chunk takes to play
(``bench/kokoro_latency.py`` measures the listener's wait between them).

The harmonic source's phase is carried across the cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from polyvox.engines.base import EngineChunk, TimedChunk, WordMark
from polyvox.engines.kokoro_decode import (
    FRAME_SAMPLES,
    SAMPLE_RATE_HZ,
    Features,
    Unit,
    Window,
    balanced,
    decode,
    encode,
    finish,
    trim_bounds,
)
from polyvox.engines.kokoro_graph import KokoroHalves
from polyvox.engines.kokoro_words import KokoroWords

#: Frames decoded after the first chunk's end and before the rest's start, for the
#: decoder's reach: fed the whole decode's statistics, a window's edges matched it
#: to the int8 graph's own noise with 6 frames after and 4 before.
RIGHT_CONTEXT_FRAMES = 6
LEFT_CONTEXT_FRAMES = 4
#: Frames of the leading pad token's silence decoded before a first chunk: the
#: onset (up to ONSET_FRAMES before the token ends) and context before it. 12
#: rather than 8 cost ~4 frames (~30 ms) of first audio and brought the first chunk
#: closer to the whole decode, and Whisper's transcripts with it
#: (bench/kokoro_cut_fidelity.py, docs/benchmarks.md).
LEAD_FRAMES = 12
#: The rest fades in over this many samples of the first window's overhang.
CROSSFADE_SAMPLES = 240


class _Cut:
    """One unit in two pieces: ``first()`` on creation, then ``rest()``."""

    def __init__(self, decoder: Callable[[Window], np.ndarray], features: Features) -> None:
        self._decode = decoder
        self._features = features
        self._first = np.zeros(0, np.float32)
        #: Samples of the unit's untrimmed decode where the first chunk starts and ends.
        self._start_sample = 0
        self._end_sample = 0
        self._overhang = np.zeros(0, np.float32)

    def first(self, seconds: float) -> np.ndarray | None:
        """The unit's first ``seconds`` of speech; None when cutting would not bring
        the first audio sooner (the caller then decodes the unit whole)."""
        features = self._features
        wanted = math.ceil(seconds * SAMPLE_RATE_HZ)
        start = max(0, features.lead_frames - LEAD_FRAMES)
        # The chunk starts at the onset, a few frames before the pad token ends.
        stop = features.lead_frames - 2 + math.ceil(wanted / FRAME_SAMPLES) + RIGHT_CONTEXT_FRAMES
        if features.size - (stop - start) < LEFT_CONTEXT_FRAMES + RIGHT_CONTEXT_FRAMES:
            return None  # about as slow as the whole unit
        audio = self._decode(balanced(features, start, stop))
        offset = start * FRAME_SAMPLES
        head, sound_end = trim_bounds(audio, offset)
        end = min(head + wanted, audio.size - RIGHT_CONTEXT_FRAMES * FRAME_SAMPLES)
        if sound_end == 0 or end <= head:
            return None  # no sound where the first chunk would be
        self._first = audio[head:end]
        self._overhang = audio[end : end + CROSSFADE_SAMPLES]
        self._start_sample, self._end_sample = offset + head, offset + end
        return self._first

    @property
    def start_sample(self) -> int:
        """Where the first chunk starts in the unit's untrimmed decode."""
        return self._start_sample

    def rest(self) -> np.ndarray:
        features = self._features
        start = max(0, self._end_sample // FRAME_SAMPLES - LEFT_CONTEXT_FRAMES)
        # The rest's window holds most of the unit: its own statistics are close.
        audio = self._decode(Window(start, features.size))
        rest = audio[self._end_sample - start * FRAME_SAMPLES :]
        fade = min(CROSSFADE_SAMPLES, self._overhang.size, rest.size)
        if fade:
            rising = (np.arange(fade, dtype=np.float32) + 0.5) / fade
            rest[:fade] = self._overhang[:fade] * (1.0 - rising) + rest[:fade] * rising
        # Trailing silence as kokoro-onnx measures it: on the whole unit as sent.
        _, end = trim_bounds(np.concatenate([self._first, rest]), self._start_sample)
        return rest[: max(0, end - self._first.size)]


class SlicedSynthesis(Iterator[EngineChunk]):
    """One request's audio, one scheduler step per ``next``: each unit is encoded and
    decoded whole, except that with ``first_chunk_s`` the first comes in two pieces,
    its first ``first_chunk_s`` of speech first. ``finished`` says, after a chunk,
    whether another will come. With ``words``, each unit's first chunk carries the
    marks of the words it speaks (:class:`TimedChunk`)."""

    def __init__(
        self,
        halves: KokoroHalves,
        units: Callable[[], Sequence[Unit]],
        *,
        first_chunk_s: float | None,
        input_dtypes: dict[str, np.dtype],
        tokens_input: str,
        words: KokoroWords | None = None,
    ) -> None:
        self._halves = halves
        #: Phonemized on the first step, in the scheduler's thread, not the caller's.
        self._prepare: Callable[[], Sequence[Unit]] | None = units
        self._units: Iterator[Unit] = iter(())
        self._remaining_units = 1
        self._first_chunk_s = first_chunk_s
        self._dtypes = input_dtypes
        self._tokens_input = tokens_input
        self._cut: tuple[Unit, _Cut] | None = None
        self._words = words
        self._unit_index = -1
        #: Samples returned so far: where the next chunk starts in the request's audio.
        self._sent = 0
        #: Where the current unit's audio starts; its words not yet reported.
        self._unit_start = 0
        self._held: tuple[WordMark, ...] = ()

    @property
    def finished(self) -> bool:
        return self._remaining_units == 0 and self._cut is None

    def __next__(self) -> EngineChunk:
        if self._prepare is not None:
            units, self._prepare = self._prepare(), None
            self._units, self._remaining_units = iter(units), len(units)
        if self._cut is not None:
            (unit, cut), self._cut = self._cut, None
            rest = cut.rest()
            held, self._held = self._held, ()
            return self._sending(finish(rest, unit.pause_s), held, speech_samples=rest.size)
        unit = next(self._units)  # StopIteration ends the request
        self._remaining_units -= 1
        self._unit_index += 1
        self._unit_start = self._sent
        features = encode(self._halves, unit, self._dtypes, self._tokens_input)
        first_chunk_s, self._first_chunk_s = self._first_chunk_s, None
        if first_chunk_s:
            cut = _Cut(lambda window: self._decode(unit, features, window), features)
            first = cut.first(first_chunk_s)
            if first is not None:
                self._cut = (unit, cut)
                marks = self._marks(features, cut.start_sample)
                # Words that end in the first chunk go with it, the others with the
                # rest, once the unit's trimmed end is known.
                now = tuple(m for m in marks if m.end_sample <= self._sent + first.size)
                self._held = marks[len(now) :]
                return self._sending(np.clip(first, -1.0, 1.0), now, speech_samples=first.size)
        audio = self._decode(unit, features, Window(0, features.size))
        start, end = trim_bounds(audio, 0)
        marks = self._marks(features, start)
        return self._sending(finish(audio[start:end], unit.pause_s), marks, end - start)

    def _marks(self, features: Features, trimmed: int) -> tuple[WordMark, ...]:
        """The current unit's word marks, when asked for, its audio starting at the next
        chunk after ``trimmed`` samples of its decode."""
        if self._words is None or features.durations is None:
            return ()
        return self._words.marks(self._unit_index, features.durations, self._sent - trimmed)

    def _sending(
        self, audio: np.ndarray, marks: tuple[WordMark, ...], speech_samples: int
    ) -> EngineChunk:
        """``audio`` as the next chunk, with ``marks`` kept inside its first
        ``speech_samples`` (after them: the unit's pause). The duration predictor gives
        a unit's last phoneme the silence after it too, which the trim cut off."""
        first, self._sent = self._sent, self._sent + audio.size
        if not marks:
            return audio
        floor, ceiling = self._unit_start, first + speech_samples
        inside = []
        for mark in marks:
            start = min(max(mark.start_sample, floor), ceiling)
            inside.append(
                replace(
                    mark, start_sample=start, end_sample=min(max(mark.end_sample, start), ceiling)
                )
            )
        return TimedChunk(audio, tuple(inside))

    def _decode(self, unit: Unit, features: Features, window: Window) -> np.ndarray:
        style_dtype = self._dtypes[self._halves.style_input]
        return decode(self._halves, unit, features, window, style_dtype)
