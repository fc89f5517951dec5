"""The try-it page in a real browser: Debian's chromium, headless, driven by Playwright
(its protocol client only: no browser is downloaded). Speech plays and its words light
up; the fake microphone's speech comes back as a transcript. The screenshot is kept at
``<the test's tmp_path>/page.png``."""

from __future__ import annotations

import io
import shutil
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.async_api import Browser, async_playwright

from .conftest import API_KEY, EcosystemGateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TEXT = "Hello from the browser. Every word lights up as it is spoken."
SPOKEN_TO_MIC = "Please turn on the kitchen lights."
_TIMEOUT_MS = 120_000


async def _mic_wav(http: httpx.AsyncClient, path: Path) -> Path:
    """Speech for the fake microphone (48 kHz 16-bit mono, as Chromium reads it), with
    silence after it so voice activity detection hears the utterance end."""
    body = {"model": "tts-1", "voice": "alloy", "input": SPOKEN_TO_MIC,
            "response_format": "pcm", "sample_rate": 48000}  # fmt: skip
    response = await http.post("/v1/audio/speech", json=body)
    assert response.status_code == 200, response.text
    silence = np.zeros(48000 * 3, "<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(silence[:48000] + response.content + silence)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
async def browser(http: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    mic = await _mic_wav(http, tmp_path / "mic.wav")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}",
            ],
        )  # fmt: skip
        try:
            yield browser
        finally:
            await browser.close()


async def test_the_page_speaks_highlights_and_transcribes(
    eco: EcosystemGateway, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(permissions=["microphone"])
    page = await context.new_page()
    page.set_default_timeout(_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(eco.url + "/")
    # API keys are on: the voices load once the key is given.
    await page.fill("#key", API_KEY)
    await page.click("#reload")
    await page.wait_for_function(
        "[...document.querySelectorAll('#model option')].some(o => o.value.startsWith('piper/'))"
    )
    await page.select_option("#model", "piper/en_US-joe-medium")
    await page.fill("#text", TEXT)
    await page.click("#speak")
    # The audio streams in and the download is offered once it is all there.
    await page.wait_for_selector("#download:not([hidden])")
    assert (await page.text_content("#first-audio") or "").endswith(" ms")
    received_s = float((await page.text_content("#audio-received") or "0 s").split()[0])
    assert received_s > 2
    words = await page.eval_on_selector_all(
        "#spoken .word", "spans => spans.map(s => s.textContent)"
    )
    assert words == ["Hello", "from", "the", "browser", "Every", "word", "lights", "up", "as",
                     "it", "is", "spoken"]  # fmt: skip
    # Each word lights up as playback reaches it.
    await page.wait_for_function("document.querySelectorAll('#spoken .word.spoken').length >= 3")
    await page.wait_for_function(
        "document.querySelectorAll('#spoken .word.spoken').length"
        " === document.querySelectorAll('#spoken .word').length"
    )
    # The microphone (a file here) through the transcription WebSocket, key as subprotocol.
    await page.click("#record")
    await page.wait_for_function(
        "document.querySelector('#transcript').textContent.toLowerCase().includes('kitchen')"
    )
    await page.click("#record-stop")
    await page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert errors == []
    assert (await page.text_content("#status") or "") != ""
    await context.close()
