"""SSML on POST /v1/audio/speech: exact breaks at any output rate, prosody, say-as,
phonemes, and clear 400s for malformed and hostile markup."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from support.speech import decode_pcm, transcribe

SPEECH = "/v1/audio/speech"


async def pcm(http: httpx.AsyncClient, text: str, rate_hz: int, **fields: Any) -> np.ndarray:
    body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm",
            "sample_rate": rate_hz, **fields}  # fmt: skip
    response = await http.post(SPEECH, json=body)
    assert response.status_code == 200, response.text
    return np.frombuffer(response.content, "<i2")


@pytest.mark.parametrize(
    ("rate_hz", "time", "expected"),
    [
        (24000, "1.234s", 29616),
        # 3748.5 exactly: rounded half to even, as Python's round() does (a float
        # product, 3748.5000000000005, would have made it 3749).
        (44100, "85ms", 3748),
        (22050, "0.5s", 11025),
    ],
)
async def test_a_break_is_exactly_its_samples_at_the_output_rate(
    http: httpx.AsyncClient, rate_hz: int, time: str, expected: int
) -> None:
    # Piper runs without noise here: the same text gives the same samples, so the two
    # answers differ only by the break.
    template = '<speak>Hello there.<break time="{}"/>General Kenobi.</speak>'
    without = await pcm(http, template.format("0ms"), rate_hz)
    with_break = await pcm(http, template.format(time), rate_hz)
    assert with_break.size - without.size == expected
    # Everything before the break is the same; the break is zeros; then the same again.
    head = np.flatnonzero(without != with_break[: without.size])[0]
    np.testing.assert_array_equal(with_break[head : head + expected], 0)
    np.testing.assert_array_equal(with_break[head + expected :], without[head:])


async def test_prosody_say_as_sub_and_phoneme_are_spoken(http: httpx.AsyncClient) -> None:
    ssml = (
        '<speak><p>I have <say-as interpret-as="cardinal">42</say-as> apples.</p>'
        '<s>The <sub alias="World Wide Web">WWW</sub> is big.</s>'
        '<prosody rate="slow">I like <phoneme alphabet="ipa" ph="təmˈɑːtoʊ">tomato</phoneme>'
        " soup.</prosody><unknown>Unknown tags are read.</unknown></speak>"
    )
    audio = decode_pcm((await pcm(http, ssml, 24000)).tobytes(), 24000)
    heard = transcribe(audio).lower()
    # Whisper tiny writes "42" or "forty-two" and mishears the odd slow word: the
    # expansions are what is checked.
    assert "42" in heard or "forty" in heard, heard
    assert "world wide web" in heard, heard
    assert "www" not in heard, heard
    assert "soup" in heard, heard
    assert "tags" in heard, heard


async def test_a_slow_prosody_rate_speaks_slower(http: httpx.AsyncClient) -> None:
    text = "This sentence is spoken at two different rates."
    normal = await pcm(http, f"<speak>{text}</speak>", 24000)
    slow = await pcm(http, f'<speak><prosody rate="x-slow">{text}</prosody></speak>', 24000)
    assert slow.size > 1.5 * normal.size


@pytest.mark.parametrize(
    ("ssml", "says"),
    [
        ("<speak>Hello <b>world</speak>", "malformed SSML"),
        ("<speak>Hello", "malformed SSML"),
        ('<speak><break time="forever"/></speak>', "break time"),
        ('<speak><prosody rate="zippy">hi</prosody></speak>', "prosody rate"),
        (
            '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">'
            "]><speak>&c;&c;&c;&c;&c;</speak>",
            "document type declaration",
        ),
        (
            '<!DOCTYPE speak [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><speak>&xxe;</speak>',
            "document type declaration",
        ),
        ("<speak>&undefined;</speak>", "malformed SSML"),
    ],
)
async def test_malformed_and_hostile_ssml_is_a_clear_400(
    http: httpx.AsyncClient, ssml: str, says: str
) -> None:
    body = {"model": "tts-1", "voice": "alloy", "input": ssml}
    for path in (SPEECH, f"{SPEECH}/captions"):
        response = await http.post(path, json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_ssml"
        assert says in error["message"]


async def test_a_voice_the_model_lacks_is_a_400_naming_the_valid_ones(
    http: httpx.AsyncClient,
) -> None:
    ssml = '<speak><voice name="nobody">Hi</voice></speak>'
    response = await http.post(SPEECH, json={"model": "tts-1", "voice": "alloy", "input": ssml})
    assert response.status_code == 400
    assert "valid voices: joe" in response.json()["error"]["message"]
