"""espeak-ng: formant synthesis in every language espeak-ng has, near-instant.

The engine speaks through libespeak-ng and the espeak-ng-data that espeakng-loader
ships in its wheel (:mod:`polyvox.engines.espeak_library`), so it needs nothing from
the system. Where that library cannot be loaded, it falls back to the system's
``espeak-ng`` program (:mod:`polyvox.engines.espeak_program`; Debian package
``espeak-ng``), found as engine option ``executable`` (default ``espeak-ng``).

Both speak plain text: no SSML, so markup is read as text; text starting with ``-``
is spoken. A segment's synthesis is bounded by engine option ``timeout_s``.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from polyvox.contract.types import ModelInfo, VoiceInfo
from polyvox.engines.base import (
    Engine,
    EngineChunk,
    SpeechModel,
    SynthesisRequest,
    TimedChunk,
)
from polyvox.engines.espeak_library import (
    EspeakError,
    EspeakVoice,
    LibraryUnavailable,
    Synthesis,
    SynthesisTimeout,
    open_library,
)
from polyvox.engines.espeak_program import EspeakProgram, VoiceRow, parse_voice_rows
from polyvox.engines.espeak_words import word_marks
from polyvox.errors import InvalidArgument, NotFound, Unavailable

logger = logging.getLogger(__name__)

MODEL_ID = "espeak-ng"
DEFAULT_VOICE = "en-us"
#: espeak-ng's own default rate, i.e. speed 1.0, in words per minute.
_NORMAL_WPM = 175
#: espeak-ng does not speak slower than 80 wpm; far above 1000 it is noise.
_WPM_RANGE = (80, 1000)
_DEFAULT_PITCH = 50
#: Audio goes out in chunks of this many samples (a scheduler step each).
_CHUNK_FRAMES = 4096
#: Longest one segment's synthesis may take (engine option ``timeout_s``). espeak
#: is far faster than real time; a segment this slow is stuck, not long.
_DEFAULT_TIMEOUT_S = 30.0
_INSTALL_HINT = (
    "install espeakng-loader (the espeak extra), or the espeak-ng program "
    "(e.g. apt-get install espeak-ng)"
)
#: espeak_VOICE's gender, as ``espeak-ng --voices`` prints it.
_GENDER_LETTERS = {1: "M", 2: "F"}
_GENDERS = {"M": "male", "F": "female"}


class _Synthesizer(Protocol):
    """What the model needs of libespeak-ng or the espeak-ng program."""

    sample_rate_hz: int

    def synthesize(
        self, text: str, *, voice: str, rate_wpm: int, pitch: int, timeout_s: float
    ) -> Synthesis: ...


@dataclass(frozen=True, slots=True)
class _Voice:
    info: VoiceInfo
    #: The voice file, what the synthesizer is given: unambiguous where a language
    #: has several voices.
    file: str


@dataclass(frozen=True, slots=True)
class _Backend:
    synthesizer: _Synthesizer
    voices: list[_Voice]
    #: For Describe: the version, and which synthesizer it is.
    version: str


def bcp47(tag: str) -> str:
    """espeak-ng's lower-case language tags in BCP 47 case (en-gb-x-rp → en-GB-x-rp)."""
    subtags = tag.split("-")
    out = [subtags[0].lower()]
    private = False
    for subtag in subtags[1:]:
        private = private or subtag.lower() == "x"
        if not private and len(subtag) == 2 and subtag.isalpha():
            out.append(subtag.upper())
        elif not private and len(subtag) == 4 and subtag.isalpha():
            out.append(subtag.title())
        else:
            out.append(subtag.lower())
    return "-".join(out)


def voice_table(rows: Iterable[VoiceRow]) -> list[_Voice]:
    """Voices with unique ids, the default first, from rows in espeak's order."""
    voices: dict[str, _Voice] = {}
    for row in rows:
        # Two voices may share a language (yue, yue-Latn-jyutping): name the second
        # after its file.
        voice_id = row.language.lower()
        if voice_id in voices:
            voice_id = row.file.rsplit("/", 1)[-1].lower()
        labels = {"name": row.name}
        if row.gender in _GENDERS:
            labels["gender"] = _GENDERS[row.gender]
        voices[voice_id] = _Voice(VoiceInfo(voice_id, (bcp47(row.language),), labels), row.file)
    return sorted(voices.values(), key=lambda v: (v.info.id != DEFAULT_VOICE, v.info.id))


def parse_voices(listing: str) -> list[_Voice]:
    """Voices from ``espeak-ng --voices`` output; ids are unique, the default first."""
    return voice_table(parse_voice_rows(listing))


def library_voice_rows(voices: Iterable[EspeakVoice]) -> list[VoiceRow]:
    """The rows ``espeak-ng --voices`` prints for these voices of espeak_ListVoices
    (it shows a voice under its first language)."""
    return [
        VoiceRow(voice.languages[0][1], _GENDER_LETTERS.get(voice.gender, "-"), voice.name,
                 voice.identifier)
        for voice in voices
        if voice.languages
    ]  # fmt: skip


def _words_per_minute(speed: float) -> int:
    wpm = round(_NORMAL_WPM * speed)
    low, high = _WPM_RANGE
    if not low <= wpm <= high:
        raise InvalidArgument(
            f"espeak-ng speaks at {low}-{high} words per minute: speed must be "
            f"{low / _NORMAL_WPM:.2f} to {high / _NORMAL_WPM:.2f}, got {speed}"
        )
    return wpm


def _pitch(options: Mapping[str, str]) -> int:
    """The request's ``pitch`` option (0-99), the only one espeak takes."""
    for key in options:
        if key != "pitch":
            raise InvalidArgument(f"unknown espeak option {key!r}; valid options: pitch")
    raw = options.get("pitch")
    if raw is None:
        return _DEFAULT_PITCH
    if not (raw.strip().isdigit() and 0 <= int(raw) <= 99):
        raise InvalidArgument(f"espeak option pitch must be an integer 0-99, got {raw!r}")
    return int(raw)


class EspeakModel(SpeechModel):
    def __init__(
        self,
        info: ModelInfo,
        voices: Mapping[str, _Voice],
        synthesizer: _Synthesizer,
        *,
        timeout_s: float,
    ) -> None:
        self.info = info
        self._voices = voices
        self._synthesizer = synthesizer
        self._timeout_s = timeout_s

    def synthesize(self, request: SynthesisRequest) -> Iterator[EngineChunk]:
        # A whole segment in one call, then its chunks: the library runs one synthesis
        # at a time, and one that waited for this stream's next step (the worker paces
        # steps by playback) would stall every other stream. espeak is far faster than
        # real time, so ``first_chunk_s`` is ignored: the whole segment is that fast.
        synthesis = self._synthesis(request)
        samples = synthesis.samples
        # Every word is known once the segment is synthesized: all go with its first chunk.
        words = word_marks(request.text, synthesis) if request.word_timings else ()
        for start in range(0, samples.size, _CHUNK_FRAMES):
            chunk = samples[start : start + _CHUNK_FRAMES].astype(np.float32) / 32768.0
            yield TimedChunk(chunk, words) if words and start == 0 else chunk

    def _synthesis(self, request: SynthesisRequest) -> Synthesis:
        wpm = _words_per_minute(request.speed)
        pitch = _pitch(request.options)
        if "\0" in request.text:
            raise InvalidArgument("espeak cannot speak text holding a NUL character")
        voice = self._voices[request.voice]
        try:
            return self._synthesizer.synthesize(
                request.text, voice=voice.file, rate_wpm=wpm, pitch=pitch,
                timeout_s=self._timeout_s,
            )  # fmt: skip
        except SynthesisTimeout as exc:
            raise InvalidArgument(
                f"{exc}: this segment takes too long to synthesize; send shorter text"
            ) from None
        except EspeakError as exc:
            raise Unavailable(str(exc)) from None


class EspeakEngine(Engine):
    name = "espeak"
    #: libespeak-ng and its data, in a wheel (pyproject.toml's espeak extra).
    extra = "espeak"

    @functools.cached_property
    def _timeout_s(self) -> float:
        raw = self.options.get("timeout_s", str(_DEFAULT_TIMEOUT_S))
        try:
            timeout_s = float(raw)
        except ValueError:
            timeout_s = -1.0
        if not timeout_s > 0:
            # The operator's setting, not the request's: the model cannot load.
            raise Unavailable(f"espeak option timeout_s must be seconds above 0, got {raw!r}")
        return timeout_s

    @functools.cached_property
    def _backend(self) -> _Backend | None:
        """libespeak-ng, else the espeak-ng program; None when neither is here."""
        try:
            library = open_library()
        except LibraryUnavailable as exc:
            reason = str(exc)
        else:
            voices = voice_table(library_voice_rows(library.voices))
            return _Backend(library, voices, f"{library.version} (libespeak-ng)")
        executable = shutil.which(self.options.get("executable", "espeak-ng"))
        if executable is None:
            logger.warning("espeak engine has no models: %s; %s", reason, _INSTALL_HINT)
            return None
        program = EspeakProgram(executable)
        try:
            voices = voice_table(program.voices())
        except EspeakError as exc:
            logger.warning("espeak engine has no models: %s; %s", exc, _INSTALL_HINT)
            return None
        logger.warning("libespeak-ng is unavailable (%s): using %s", reason, executable)
        return _Backend(program, voices, f"{program.version()} ({executable})")

    def version(self) -> str:
        return self._backend.version if self._backend else "not installed"

    def _model_info(self, backend: _Backend) -> ModelInfo:
        return ModelInfo(
            id=MODEL_ID,
            voices=tuple(v.info for v in backend.voices),
            native_sample_rate_hz=backend.synthesizer.sample_rate_hz,
            languages=tuple(dict.fromkeys(v.info.language for v in backend.voices)),
        )

    def list_models(self) -> list[ModelInfo]:
        backend = self._backend
        return [self._model_info(backend)] if backend and backend.voices else []

    def load(self, model_id: str) -> EspeakModel:
        backend = self._backend
        if model_id != MODEL_ID or backend is None or not backend.voices:
            available = MODEL_ID if backend and backend.voices else f"none ({_INSTALL_HINT})"
            raise NotFound(f"espeak has no model {model_id!r}; available models: {available}")
        return EspeakModel(
            self._model_info(backend),
            {v.info.id: v for v in backend.voices},
            backend.synthesizer,
            timeout_s=self._timeout_s,
        )
