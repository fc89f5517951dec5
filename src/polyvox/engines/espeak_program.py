"""The system's ``espeak-ng`` program: the espeak engine's fallback where libespeak-ng
from espeakng-loader cannot be loaded (a platform without its wheel, say).

One process per segment. Text goes in on stdin, never on the command line, so text
starting with ``-`` is spoken rather than parsed as an option; SSML (``-m``) stays
off, so markup is read as text. The program reports no word events.
"""

from __future__ import annotations

import io
import re
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

from polyvox.engines.espeak_library import EspeakError, Synthesis, SynthesisTimeout

#: A row of ``espeak-ng --voices``: priority, language, age/gender, name, file.
_VOICE_ROW = re.compile(r"\s*\d+\s+(\S+)\s+\S*/(\S)\s+(\S+)\s+(\S+)")
#: Longest wait for ``--version`` or ``--voices``.
_QUERY_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class VoiceRow:
    """A voice as ``espeak-ng --voices`` lists it."""

    language: str
    #: ``M``, ``F`` or ``-``.
    gender: str
    name: str
    #: The voice file, what ``-v`` takes, e.g. ``gmw/en-US``.
    file: str


def parse_voice_rows(listing: str) -> list[VoiceRow]:
    """The rows of ``espeak-ng --voices`` output, in its order."""
    rows: list[VoiceRow] = []
    for line in listing.splitlines()[1:]:
        if row := _VOICE_ROW.match(line):
            language, gender, name, file = row.groups()
            rows.append(VoiceRow(language, gender, name.replace("_", " "), file))
    return rows


class EspeakProgram:
    """Runs ``executable`` (an ``espeak-ng`` program) once per segment."""

    #: What ``--stdout`` writes; checked on every segment.
    sample_rate_hz = 22_050

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def _query(self, *args: str) -> str:
        result = subprocess.run(
            [self.executable, *args],
            capture_output=True, text=True, check=True, timeout=_QUERY_TIMEOUT_S,
        )  # fmt: skip
        return result.stdout

    def version(self) -> str:
        try:
            # "eSpeak NG text-to-speech: 1.51  Data at: ..."
            return self._query("--version").split(":")[1].split()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "unknown"

    def voices(self) -> list[VoiceRow]:
        try:
            return parse_voice_rows(self._query("--voices"))
        except (OSError, subprocess.SubprocessError) as exc:
            raise EspeakError(f"{self.executable} --voices failed: {exc}") from None

    def synthesize(
        self, text: str, *, voice: str, rate_wpm: int, pitch: int = 50, timeout_s: float
    ) -> Synthesis:
        """Speak ``text`` with voice file ``voice``; a program still running after
        ``timeout_s`` is killed and :class:`SynthesisTimeout` raised."""
        command = [
            self.executable, "--stdin", "-b", "1", "-v", voice, "-s", str(rate_wpm),
            "-p", str(pitch), "--stdout",
        ]  # fmt: skip
        try:
            # All of its output at once: the time bound covers the synthesis only, never
            # a consumer that reads slowly (the worker paces a stream's later steps).
            result = subprocess.run(
                command, input=text.encode("utf-8", "replace"), capture_output=True,
                timeout=timeout_s, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:  # run() has killed it
            raise SynthesisTimeout(
                f"espeak-ng was stopped after {timeout_s:g} s of synthesis"
            ) from None
        except OSError as exc:
            raise EspeakError(f"cannot run {self.executable}: {exc}") from None
        return Synthesis(self._decode(result), self.sample_rate_hz, words=())

    def _decode(self, result: subprocess.CompletedProcess[bytes]) -> np.ndarray:
        try:
            with wave.open(io.BytesIO(result.stdout), "rb") as audio:
                fmt = (audio.getframerate(), audio.getsampwidth(), audio.getnchannels())
                if fmt != (self.sample_rate_hz, 2, 1):
                    raise EspeakError(
                        f"espeak-ng wrote (rate, width, channels) {fmt}; expected "
                        f"{self.sample_rate_hz} Hz mono 16-bit"
                    )
                # --stdout cannot seek back to fix the header's length: read to the end.
                frames = b"".join(iter(lambda: audio.readframes(1 << 16), b""))
        except (EOFError, wave.Error):
            message = result.stderr.decode("utf-8", "replace").strip() or "no message"
            raise EspeakError(f"espeak-ng produced no audio: {message}") from None
        return np.frombuffer(frames, dtype="<i2").astype(np.int16)
