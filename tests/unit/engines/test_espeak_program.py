"""The espeak-ng program, the espeak engine's fallback where libespeak-ng cannot load.

Its time bound and error reporting are checked everywhere with stand-in programs;
speech through the real program only where `espeak-ng` is installed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from polyvox.engines import espeak as espeak_module
from polyvox.engines.base import SynthesisRequest
from polyvox.engines.espeak import (
    MODEL_ID,
    EspeakEngine,
    library_voice_rows,
    voice_table,
)
from polyvox.engines.espeak_library import (
    EspeakError,
    LibraryUnavailable,
    SynthesisTimeout,
    open_library,
)
from polyvox.engines.espeak_program import EspeakProgram

PROGRAM = shutil.which("espeak-ng")
needs_program = pytest.mark.skipif(PROGRAM is None, reason="the espeak-ng program is not installed")


def stand_in(tmp_path: Path, script: str) -> EspeakProgram:
    """A program that behaves like a stuck or failing espeak-ng (a shell script)."""
    path = tmp_path / "espeak-ng"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return EspeakProgram(str(path))


def test_a_program_past_the_time_bound_is_killed(tmp_path: Path) -> None:
    program = stand_in(tmp_path, "exec sleep 600")
    with pytest.raises(SynthesisTimeout, match=r"stopped after 0\.5 s"):
        program.synthesize("Hello.", voice="gmw/en-US", rate_wpm=175, timeout_s=0.5)


def test_a_failing_program_says_why(tmp_path: Path) -> None:
    program = stand_in(tmp_path, "echo 'Failed to read voice' >&2; exit 1")
    with pytest.raises(EspeakError, match="produced no audio: Failed to read voice"):
        program.synthesize("Hello.", voice="gmw/en-US", rate_wpm=175, timeout_s=30)
    with pytest.raises(EspeakError, match="--voices failed"):
        program.voices()


@needs_program
def test_the_program_lists_the_librarys_voices() -> None:
    assert PROGRAM is not None
    from_program = {voice.info.id: voice for voice in voice_table(EspeakProgram(PROGRAM).voices())}
    from_library = {
        voice.info.id: voice for voice in voice_table(library_voice_rows(open_library().voices))
    }
    # The wheel's espeak-ng may be newer than the system's, with voices the older lacks.
    assert len(from_program) > 100
    assert from_program.items() <= from_library.items()


@needs_program
def test_the_engine_falls_back_to_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> None:
        raise LibraryUnavailable("no libespeak-ng here")

    monkeypatch.setattr(espeak_module, "open_library", unavailable)
    engine = EspeakEngine()
    assert engine.version().endswith(f"({PROGRAM})")
    model = engine.load(MODEL_ID)
    text = "--help is not an option here."
    audio = np.concatenate(list(model.synthesize(SynthesisRequest(text=text, voice="de"))))
    assert 1.0 < audio.size / model.info.native_sample_rate_hz < 8.0
    assert re.fullmatch(r"\d+\.\d+.*", engine.version().split()[0])
