"""Silero VAD: the ONNX model shipped in the ``silero-vad`` wheel, run with onnxruntime.

The wheel's Python code imports torch at module level and the wheel declares
torch as a hard dependency, but its ONNX model needs only onnxruntime. So the
package is installed with torch excluded (``WhisperEngine.excluded_requirements``
for engine environments, ``tool.uv.exclude-dependencies`` for the project), its
Python code is never imported, and the model file is located through the
installed distribution's file list. The windowing (512 samples plus 64 of
context at 16 kHz, a recurrent state carried between windows) follows
silero_vad/utils_vad.py's OnnxWrapper; the start/stop logic follows its
VADIterator, with a hysteresis threshold as in get_speech_timestamps.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.contract.types import SpeechEvent, SpeechEventKind
from polyvox.engines.base import VadParameters, VoiceActivityDetector
from polyvox.errors import Unavailable

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16_000
#: Samples per inference window at 16 kHz (32 ms), and of context carried before it.
WINDOW_SAMPLES = 512
_CONTEXT_SAMPLES = 64
_MODEL_FILE = "silero_vad/data/silero_vad.onnx"
#: Below ``threshold - _HYSTERESIS`` a window counts as silence; in between it
#: continues whatever state the detector is in.
_HYSTERESIS = 0.15


def model_path() -> Path:
    """The ONNX file inside the installed silero-vad distribution (without importing it)."""
    try:
        path = Path(str(distribution("silero-vad").locate_file(_MODEL_FILE)))
    except PackageNotFoundError:
        raise Unavailable("silero-vad is not installed in this environment") from None
    if not path.is_file():
        raise Unavailable(f"the silero-vad package has no {_MODEL_FILE}")
    return path


class SileroVad:
    """One ONNX session, shared by every stream; each stream keeps its own state."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # A 32 ms window takes ~0.2 ms on one thread; more threads only add overhead.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path or model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._rate = np.array(SAMPLE_RATE_HZ, dtype=np.int64)

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(recurrent state, context) of a fresh stream."""
        return np.zeros((2, 1, 128), np.float32), np.zeros((1, _CONTEXT_SAMPLES), np.float32)

    def probability(
        self, window: np.ndarray, state: np.ndarray, context: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Speech probability of one 512-sample window; returns (p, new state, new context)."""
        frame = np.concatenate([context, window.reshape(1, -1)], axis=1)
        outputs: list[Any] = self._session.run(
            None, {"input": frame, "state": state, "sr": self._rate}
        )
        return float(outputs[0][0, 0]), outputs[1], frame[:, -_CONTEXT_SAMPLES:]

    def stream(self, params: VadParameters) -> SileroVadStream:
        return SileroVadStream(self, params)


class SileroVadStream(VoiceActivityDetector):
    """Speech start/stop events for one stream of 16 kHz audio, pushed in any chunk sizes."""

    def __init__(self, vad: SileroVad, params: VadParameters) -> None:
        self._vad = vad
        self._threshold = params.threshold
        self._neg_threshold = max(params.threshold - _HYSTERESIS, 0.01)
        self._min_silence = SAMPLE_RATE_HZ * params.min_silence_ms // 1000
        self._pad = SAMPLE_RATE_HZ * params.speech_pad_ms // 1000
        start_pad_ms = params.speech_pad_ms if params.start_pad_ms is None else params.start_pad_ms
        self._start_pad = SAMPLE_RATE_HZ * start_pad_ms // 1000
        self._state, self._context = vad.initial_state()
        self._pending = np.zeros(0, np.float32)
        #: Samples of the stream already run through the model.
        self._processed = 0
        self._triggered = False
        #: Where the silence that may end the current speech began; None: no such silence.
        self._silence_from: int | None = None
        self._last_stop = 0

    @property
    def in_speech(self) -> bool:
        return self._triggered

    @property
    def silence_started_s(self) -> float | None:
        if not self._triggered or self._silence_from is None:
            return None
        return self._silence_from / SAMPLE_RATE_HZ

    def restart(self) -> None:
        # The recurrent state and context are kept: they describe the audio, not the
        # stretch, and a fresh state would need a few windows to settle again.
        self._triggered = False
        self._silence_from = None
        self._last_stop = self._processed + self._pending.size

    def push(self, samples: np.ndarray) -> list[SpeechEvent]:
        self._pending = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        events: list[SpeechEvent] = []
        whole = self._pending.size // WINDOW_SAMPLES * WINDOW_SAMPLES
        for start in range(0, whole, WINDOW_SAMPLES):
            event = self._window(self._pending[start : start + WINDOW_SAMPLES])
            if event is not None:
                events.append(event)
        self._pending = self._pending[whole:]
        return events

    def flush(self) -> list[SpeechEvent]:
        end = self._processed + self._pending.size
        events = []
        if self._pending.size:
            padded = np.zeros(WINDOW_SAMPLES, np.float32)
            padded[: self._pending.size] = self._pending
            if (event := self._window(padded)) is not None:
                events.append(event)
            self._pending = np.zeros(0, np.float32)
        if self._triggered:
            self._triggered = False
            stop = end if self._silence_from is None else min(self._silence_from + self._pad, end)
            events.append(self._event(SpeechEventKind.STOPPED, stop))
        return events

    def _window(self, window: np.ndarray) -> SpeechEvent | None:
        probability, self._state, self._context = self._vad.probability(
            window, self._state, self._context
        )
        window_start = self._processed
        self._processed += WINDOW_SAMPLES
        if probability >= self._threshold:
            self._silence_from = None
            if not self._triggered:
                self._triggered = True
                start = max(window_start - self._start_pad, self._last_stop)
                return self._event(SpeechEventKind.STARTED, start)
        elif probability < self._neg_threshold and self._triggered:
            if self._silence_from is None:
                self._silence_from = window_start
            if self._processed - self._silence_from >= self._min_silence:
                self._triggered = False
                stop = min(self._silence_from + self._pad, self._processed)
                self._silence_from = None
                self._last_stop = stop
                return self._event(SpeechEventKind.STOPPED, stop)
        return None

    @staticmethod
    def _event(kind: SpeechEventKind, sample: int) -> SpeechEvent:
        return SpeechEvent(kind=kind, time_s=sample / SAMPLE_RATE_HZ)


def speech_spans(
    vad: SileroVad, samples: np.ndarray, params: VadParameters
) -> list[tuple[int, int]]:
    """Stretches of speech in 16 kHz ``samples`` as (start, end) sample indices, padded,
    merged where the padding overlaps, and without blips shorter than ``min_speech_ms``."""
    stream = vad.stream(params)
    events = stream.push(samples) + stream.flush()
    pad_s = params.speech_pad_ms / 1000
    spans: list[tuple[int, int]] = []
    for started, stopped in zip(events[::2], events[1::2], strict=True):
        if stopped.time_s - started.time_s - 2 * pad_s < params.min_speech_ms / 1000:
            continue
        start = int(started.time_s * SAMPLE_RATE_HZ)
        end = min(int(stopped.time_s * SAMPLE_RATE_HZ), samples.size)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans
