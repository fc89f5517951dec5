"""Whisper's encoder window cut to the audio it holds, plus a margin of silence.

faster-whisper pads every window to Whisper's fixed 30 s (3,000 mel frames), so a
2.5 s utterance costs a 30 s encode: about 230 of its 330 ms on the 2-core reference
machine. CTranslate2 encodes shorter inputs, and Whisper transcribes them as well
when the audio is followed by enough silence: with 5 s of it, most transcripts
match the full window's at a third of the time (bench/whisper_window.py). With less
(2 or 3 s) the decoder believes the audio goes on and repeats itself. The margin is
filled with the features of digital silence (the log-mel floor), what Whisper saw
after short clips in training; faster-whisper's own padding is zeros, which as a
margin invited the same repeats.

A cut window still loops now and then (one-word turns: "Yes? Yes? Yes? ..."), so
its transcript is checked: one that looks like a loop is decoded again in the full
window (:func:`looks_repeated`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from faster_whisper import WhisperModel

#: Mel frames per second of audio (10 ms hop).
FRAMES_PER_S = 100
#: Whisper's fixed window, in frames.
FULL_WINDOW_FRAMES = 30 * FRAMES_PER_S
#: More words per second than this is not speech (fast speakers reach about 5).
_MAX_WORDS_PER_S = 6.0
#: A run of this many words said twice in one short window is a decoder loop.
_REPEATED_WORDS = 4
_WORD = re.compile(r"[\w']+")
T = TypeVar("T")


def looks_repeated(text: str, duration_s: float) -> bool:
    """Whether a transcript of ``duration_s`` of audio looks like a decoder loop: more
    words than anyone says in the time, words said twice in a row ("No? No?"), or a
    run of words said twice anywhere. Real speech does that rarely, and then costs
    only a second decode."""
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) > _MAX_WORDS_PER_S * duration_s + 2:
        return True
    for size in range(1, len(words) // 2 + 1):
        if any(
            words[i : i + size] == words[i + size : i + 2 * size]
            for i in range(len(words) - 2 * size + 1)
        ):
            return True
    runs = [tuple(words[i : i + _REPEATED_WORDS]) for i in range(len(words) - _REPEATED_WORDS + 1)]
    return len(set(runs)) < len(runs)


def trimmed_window(features: np.ndarray, margin_frames: int) -> np.ndarray:
    """``features`` (mel bins x frames, zero-padded to the full window) cut to the
    frames that hold audio plus ``margin_frames`` of silence, in whole seconds."""
    holding = np.flatnonzero(np.any(features != 0, axis=0))
    used = int(holding[-1]) + 1 if holding.size else 0
    keep = math.ceil((used + margin_frames) / FRAMES_PER_S) * FRAMES_PER_S
    if used == 0 or keep >= features.shape[-1]:
        return features
    window = np.array(features[:, :keep])
    window[:, used:] = window[:, :used].min()  # the log-mel floor: digital silence
    return window


class WindowedWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper has no types
    """faster-whisper's model; windows encoded inside :meth:`in_short_window` are cut
    to their audio plus ``margin_s`` of silence."""

    def __init__(self, *args: Any, margin_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.margin_frames = round(margin_s * FRAMES_PER_S)
        # Calls run on several threads at once: the cut is one thread's call's.
        self._cutting = threading.local()

    def fits_short_window(self, duration_s: float) -> bool:
        """Whether audio this long, plus the margin, is shorter than the full window."""
        return duration_s * FRAMES_PER_S + self.margin_frames < FULL_WINDOW_FRAMES

    def encode(self, features: np.ndarray) -> Any:
        if getattr(self._cutting, "on", False) and features.ndim == 2:
            features = trimmed_window(features, self.margin_frames)
        return super().encode(features)

    def in_short_window(self, decode: Callable[[], T]) -> T:
        """``decode()``, which must run every encode it needs (consume its segments),
        with windows cut short."""
        self._cutting.on = True
        try:
            return decode()
        finally:
            self._cutting.on = False


def joined_text(segments: Iterable[Any]) -> str:
    return " ".join(segment.text for segment in segments)
