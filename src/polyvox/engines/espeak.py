"""espeak-ng: formant synthesis in every language espeak-ng has, near-instant.

No maintained Python binding synthesizes through a wheel-bundled libespeak-ng
(espeakng-loader only ships the library; phonemizer, espeak-py and piper's bridge
only phonemize; pyttsx3 loads the system library by fixed paths), so the engine runs
the system's ``espeak-ng`` program (Debian package ``espeak-ng``) once per segment
and decodes its WAV output from the pipe as it arrives. A process per segment costs
milliseconds, keeps espeak-ng's process-global state out of the worker, and lets
segments of different streams run in parallel.

Text goes in on stdin, never on the command line, so text starting with ``-`` is
spoken rather than parsed as an option; SSML (``-m``) stays off, so markup is read
as text, never interpreted.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from polyvox.contract.types import ModelInfo, VoiceInfo
from polyvox.engines.base import Engine, SpeechModel, SynthesisRequest
from polyvox.errors import InvalidArgument, NotFound, Unavailable

logger = logging.getLogger(__name__)

MODEL_ID = "espeak-ng"
SAMPLE_RATE_HZ = 22_050
DEFAULT_VOICE = "en-us"
#: espeak-ng's own default rate, i.e. speed 1.0, in words per minute.
_NORMAL_WPM = 175
#: espeak-ng does not speak slower than 80 wpm; far above 1000 it is noise.
_WPM_RANGE = (80, 1000)
_CHUNK_FRAMES = 4096
_INSTALL_HINT = "install the espeak-ng package (e.g. apt-get install espeak-ng)"
#: A row of ``espeak-ng --voices``: priority, language, age/gender, name, file.
_VOICE_ROW = re.compile(r"\s*\d+\s+(\S+)\s+\S*/(\S)\s+(\S+)\s+(\S+)")
_GENDERS = {"M": "male", "F": "female"}


@dataclass(frozen=True, slots=True)
class _Voice:
    info: VoiceInfo
    #: What ``-v`` gets: the voice file, unambiguous where a language has several.
    file: str


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


def parse_voices(listing: str) -> list[_Voice]:
    """Voices from ``espeak-ng --voices`` output; ids are unique, the default first."""
    voices: dict[str, _Voice] = {}
    for line in listing.splitlines()[1:]:
        row = _VOICE_ROW.match(line)
        if row is None:
            continue
        language, gender, name, file = row.groups()
        # Two voices may share a language (yue, yue-Latn-jyutping): name the second
        # after its file.
        voice_id = language.lower()
        if voice_id in voices:
            voice_id = file.rsplit("/", 1)[-1].lower()
        labels = {"name": name.replace("_", " ")}
        if gender in _GENDERS:
            labels["gender"] = _GENDERS[gender]
        voices[voice_id] = _Voice(VoiceInfo(voice_id, (bcp47(language),), labels), file)
    return sorted(voices.values(), key=lambda v: (v.info.id != DEFAULT_VOICE, v.info.id))


def _parse_options(options: Mapping[str, str]) -> list[str]:
    """espeak-ng flags for the request's options (``pitch``: 0-99)."""
    flags: list[str] = []
    for key, raw in options.items():
        if key != "pitch":
            raise InvalidArgument(f"unknown espeak option {key!r}; valid options: pitch")
        if not (raw.strip().isdigit() and 0 <= int(raw) <= 99):
            raise InvalidArgument(f"espeak option pitch must be an integer 0-99, got {raw!r}")
        flags += ["-p", str(int(raw))]
    return flags


class EspeakModel(SpeechModel):
    def __init__(self, info: ModelInfo, voices: Mapping[str, _Voice], executable: str) -> None:
        self.info = info
        self._voices = voices
        self._executable = executable

    def synthesize(self, request: SynthesisRequest) -> Iterator[np.ndarray]:
        wpm = round(_NORMAL_WPM * request.speed)
        low, high = _WPM_RANGE
        if not low <= wpm <= high:
            raise InvalidArgument(
                f"espeak-ng speaks at {low}-{high} words per minute: speed must be "
                f"{low / _NORMAL_WPM:.2f} to {high / _NORMAL_WPM:.2f}, got {request.speed}"
            )
        voice = self._voices[request.voice]
        command = [
            self._executable, "--stdin", "-b", "1", "-v", voice.file, "-s", str(wpm),
            *_parse_options(request.options), "--stdout",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        with process:  # on exit: closes its pipes (they leaked before) and waits
            try:
                yield from self._read(process, request.text)
            finally:
                if process.poll() is None:  # the stream was abandoned
                    process.kill()

    def _read(self, process: subprocess.Popen[bytes], text: str) -> Iterator[np.ndarray]:
        assert process.stdin is not None  # PIPE
        assert process.stdout is not None  # PIPE
        # espeak-ng reads all of stdin before it speaks, and a segment (at most a few
        # thousand characters) fits the pipe's buffer: this write never blocks.
        with contextlib.suppress(BrokenPipeError):  # it failed early: its stderr says why
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
        try:
            with wave.open(process.stdout, "rb") as audio:
                fmt = (audio.getframerate(), audio.getsampwidth(), audio.getnchannels())
                if fmt != (SAMPLE_RATE_HZ, 2, 1):
                    raise Unavailable(
                        f"espeak-ng wrote (rate, width, channels) {fmt}; expected "
                        f"{SAMPLE_RATE_HZ} Hz mono 16-bit"
                    )
                while frames := audio.readframes(_CHUNK_FRAMES):
                    yield np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        except (EOFError, wave.Error):
            raise Unavailable(f"espeak-ng produced no audio: {self._stderr(process)}") from None

    @staticmethod
    def _stderr(process: subprocess.Popen[bytes]) -> str:
        assert process.stderr is not None
        return process.stderr.read().decode("utf-8", "replace").strip() or "no message"


class EspeakEngine(Engine):
    name = "espeak"
    #: Nothing from PyPI: the engine drives the system's espeak-ng program.
    requirements = ()

    @functools.cached_property
    def _executable(self) -> str | None:
        configured = self.options.get("executable", "espeak-ng")
        return shutil.which(configured)

    def _run(self, *args: str) -> str:
        if self._executable is None:
            raise Unavailable(f"espeak-ng is not installed: {_INSTALL_HINT}")
        result = subprocess.run(
            [self._executable, *args], capture_output=True, text=True, check=True, timeout=30
        )
        return result.stdout

    def version(self) -> str:
        try:
            # "eSpeak NG text-to-speech: 1.51  Data at: ..."
            return self._run("--version").split(":")[1].split()[0]
        except (Unavailable, subprocess.SubprocessError, IndexError):
            return "not installed"

    @functools.cached_property
    def _voices(self) -> list[_Voice]:
        try:
            return parse_voices(self._run("--voices"))
        except Unavailable:
            logger.warning("espeak engine has no models: %s", _INSTALL_HINT)
            return []

    def _model_info(self) -> ModelInfo:
        return ModelInfo(
            id=MODEL_ID,
            voices=tuple(v.info for v in self._voices),
            native_sample_rate_hz=SAMPLE_RATE_HZ,
            languages=tuple(dict.fromkeys(v.info.language for v in self._voices)),
        )

    def list_models(self) -> list[ModelInfo]:
        return [self._model_info()] if self._voices else []

    def load(self, model_id: str) -> EspeakModel:
        if model_id != MODEL_ID or not self._voices:
            available = MODEL_ID if self._voices else f"none ({_INSTALL_HINT})"
            raise NotFound(f"espeak has no model {model_id!r}; available models: {available}")
        assert self._executable is not None  # voices were listed by it
        voices = {v.info.id: v for v in self._voices}
        return EspeakModel(self._model_info(), voices, self._executable)
