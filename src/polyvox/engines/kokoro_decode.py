"""One Kokoro unit (a batch of phonemes) through the two halves of
:mod:`kokoro_graph`: encoded once, then decoded whole or a window of frames at a time.

A window of frames decoded alone is not those frames of the whole decode: every AdaIN
layer of the decoder normalizes with the mean and variance over all the frames it is
given (instance normalization, 54 statistics in this export). Fed the whole decode's
statistics (an experiment: only a decode of every frame knows them), a window matched
the whole to within the int8 graph's own noise, which is large: a 1e-6 perturbation
of the decoder's input moves its output about as much (dynamic quantization rounds
differently). A window of a sentence's first speech has less silence than the
sentence, and decoded plainly first chunks came out 3-5 dB quieter than the whole
decode. Such a window is therefore *balanced*: its statistics are weighted (the
decoder half's ``frame_weights``) so that its silent frames stand for all the
unit's silence and its other frames for all its speech, in the amounts the duration
predictor gave. That brought first chunks within about 1-2 dB of the whole decode's
level. What remains (the statistics of the rest of the speech) is measured by
``bench/kokoro_latency.py`` and ``tests/unit/engines/test_kokoro_stream.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from polyvox.engines.kokoro_graph import (
    PHASE_INPUT,
    WEIGHTED_INPUT,
    WEIGHTS_INPUT,
    KokoroHalves,
)

SAMPLE_RATE_HZ = 24_000
#: Samples per frame of the decoder's ASR features (two F0 values of 300 each).
FRAME_SAMPLES = 600
#: Speech starts up to this many frames before the leading pad token ends
#: (kokoro-onnx's trim found it 2.6-4.6 frames before, on Harvard sentences).
ONSET_FRAMES = 4
#: kokoro-onnx's ``trim`` frames audio in hops of this many samples from its start;
#: a window is aligned to the same grid so it trims where the whole unit would.
_TRIM_HOP = 512


@dataclass(frozen=True, slots=True)
class Unit:
    """One inference: a batch of phonemes as token ids, its style row, its speed,
    and the silence after it."""

    tokens: Sequence[int]
    style: np.ndarray
    speed: float
    pause_s: float


@dataclass(frozen=True, slots=True)
class Features:
    """A unit's encoder outputs: what the decoder turns into samples."""

    frames: np.ndarray  # [1, channels, T]
    curves: tuple[np.ndarray, np.ndarray]  # [1, 2T] each, in the decoder's input order
    f0: np.ndarray  # one of the curves
    #: Predicted frames per token, pad tokens included; None where the graph hides them.
    durations: np.ndarray | None

    @property
    def size(self) -> int:
        """Frames (T)."""
        return int(self.frames.shape[2])

    @property
    def lead_frames(self) -> int:
        """Frames of the leading pad token: silence, but for the onset's start."""
        return 0 if self.durations is None else int(self.durations[0])

    @property
    def tail_frames(self) -> int:
        """Frames of the last token and the final pad: a final mark's silence, or a last
        phoneme the model draws out when there is none; silence, near enough."""
        if self.durations is None or self.durations.size < 3:
            return 0
        return int(self.durations[-2] + self.durations[-1])


@dataclass(frozen=True, slots=True)
class Window:
    """Frames [start, stop) of a unit, decoded together, their statistics weighted by
    ``weights`` (one per frame) or plain."""

    start: int
    stop: int
    weights: np.ndarray | None = None


def encode(
    halves: KokoroHalves, unit: Unit, dtypes: dict[str, np.dtype], tokens_input: str
) -> Features:
    feeds = {
        tokens_input: np.array([[0, *unit.tokens, 0]], dtypes[tokens_input]),
        halves.style_input: np.asarray(unit.style, dtypes[halves.style_input]),
        "speed": np.array([unit.speed], dtypes["speed"]),
    }
    outputs = halves.encoder.run(None, feeds)
    frames, first, second = outputs[:3]
    f0 = first if halves.curve_inputs[0] == halves.f0_input else second
    durations = np.asarray(outputs[3]).reshape(-1) if len(outputs) > 3 else None
    return Features(frames, (first, second), f0, durations)


def balanced(features: Features, start: int, stop: int) -> Window:
    """A window whose weighted statistics stand for the whole unit's (module docstring):
    its silent frames (before the onset, or in the last token and final pad) for all
    the unit's, its other frames for all its speech; plain where the graph gives no
    durations or the window has no silent frame."""
    quiet_lead = max(0, features.lead_frames - ONSET_FRAMES)
    tail_start = features.size - features.tail_frames
    if features.durations is None or not 0 < quiet_lead + features.tail_frames < features.size:
        return Window(start, stop)
    indices = np.arange(start, stop)
    quiet = (indices < quiet_lead) | (indices >= tail_start)
    silent, spoken = int(quiet.sum()), int((~quiet).sum())
    if silent == 0 or spoken == 0:
        return Window(start, stop)
    unit_silence = quiet_lead + features.tail_frames
    weights = np.where(quiet, unit_silence / silent, (features.size - unit_silence) / spoken)
    return Window(start, stop, weights.astype(np.float32))


def decode(
    halves: KokoroHalves, unit: Unit, features: Features, window: Window, style_dtype: np.dtype
) -> np.ndarray:
    """Samples of the window's frames [start, stop), decoded together."""
    start, stop = window.start, window.stop
    feeds = {
        halves.frames_input: np.ascontiguousarray(features.frames[:, :, start:stop]),
        halves.style_input: np.asarray(unit.style, style_dtype),
        PHASE_INPUT: halves.phase_offset(features.f0, 2 * start),
    }
    for name, curve in zip(halves.curve_inputs, features.curves, strict=True):
        feeds[name] = np.ascontiguousarray(curve[:, 2 * start : 2 * stop])
    if halves.weighs_frames:
        weights = np.ones(stop - start, np.float32) if window.weights is None else window.weights
        feeds[WEIGHTS_INPUT] = weights.reshape(1, 1, -1)
        feeds[WEIGHTED_INPUT] = np.array(window.weights is not None)
    audio = np.asarray(halves.decoder.run(None, feeds)[0], np.float32).reshape(-1)
    if audio.size != (stop - start) * FRAME_SAMPLES:
        raise RuntimeError(
            f"kokoro's decoder gave {audio.size} samples for {stop - start} frames; "
            f"expected {FRAME_SAMPLES} per frame"
        )
    return audio


def trim_bounds(audio: np.ndarray, offset: int) -> tuple[int, int]:
    """Where kokoro-onnx's ``trim`` (60 dB under the loudest frame) would cut ``audio``,
    a slice starting at sample ``offset`` of its unit's decode; (0, 0) when it finds
    no sound."""
    from kokoro_onnx.trim import trim

    pad = offset % _TRIM_HOP
    _, (start, end) = trim(np.concatenate([np.zeros(pad, audio.dtype), audio]))
    return max(0, int(start) - pad), max(0, int(end) - pad)


def finish(audio: np.ndarray, pause_s: float) -> np.ndarray:
    """A unit's last audio: its pause appended, clipped to [-1, 1]."""
    pause = np.zeros(round(pause_s * SAMPLE_RATE_HZ), np.float32)
    return np.clip(np.concatenate([audio, pause]), -1.0, 1.0).astype(np.float32)
