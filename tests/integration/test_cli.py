"""`polyvox say` and `polyvox voices` against the running gateway."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from support.servers import Gateway
from support.speech import decode, transcribe, word_error_rate


async def polyvox(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyvox", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_say_writes_speech_in_the_format_of_the_extension(
    gateway: Gateway, tmp_path: Path
) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    for name in ("out.wav", "out.mp3"):
        code, out, _ = await polyvox(
            "say", text, "-o", str(tmp_path / name), "--server", gateway.url
        )
        assert code == 0
        assert name in out
    wav = decode((tmp_path / "out.wav").read_bytes())
    assert word_error_rate(text, await asyncio.to_thread(transcribe, wav)) <= 0.25
    assert (tmp_path / "out.mp3").read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")


async def test_say_reports_errors(gateway: Gateway, tmp_path: Path) -> None:
    code, _, err = await polyvox("say", "Hi.", "-o", str(tmp_path / "x.wav"), "--voice", "zed",
                                 "--server", gateway.url)  # fmt: skip
    assert code == 1
    assert "valid voices" in err


async def test_voices_prints_a_table(gateway: Gateway) -> None:
    code, out, _ = await polyvox("voices", "--server", gateway.url)
    assert code == 0
    assert "piper/en_US-joe-medium" in out
    assert "joe" in out
