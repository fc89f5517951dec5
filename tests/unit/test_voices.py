"""The voice-blend grammar shared by the gateway and the workers."""

from __future__ import annotations

import pytest

from polyvox.contract.types import ModelInfo, VoiceInfo
from polyvox.errors import InvalidArgument
from polyvox.voices import MAX_PARTS, BlendPart, is_blend, parse_blend, resolve_blend

VOICES = ("jf_alpha", "jm_kumo", "jf_nezumi", "jf_tebukuro", "jf_gongitsune")
BLENDING = ModelInfo(
    id="kokoro-82m-int8",
    voices=tuple(VoiceInfo(v, ("ja-JP",)) for v in VOICES),
    native_sample_rate_hz=24000,
    languages=("ja-JP",),
    voice_blending=True,
)
PLAIN = ModelInfo(
    id="en_US-joe-medium",
    voices=(VoiceInfo("joe", ("en-US",)),),
    native_sample_rate_hz=22050,
    languages=("en-US",),
)


def test_weights_are_optional_and_normalized() -> None:
    blend = parse_blend("jf_alpha(2)+jm_kumo", valid_voices=VOICES)
    assert blend.parts == (BlendPart("jf_alpha", 2.0), BlendPart("jm_kumo", 1.0))
    assert blend.normalized() == [("jf_alpha", pytest.approx(2 / 3)), ("jm_kumo", 1 / 3)]
    assert str(blend) == "jf_alpha(2)+jm_kumo(1)"


def test_spaces_and_decimal_weights_are_accepted() -> None:
    blend = parse_blend(" jf_alpha ( 0.25 ) + jm_kumo(.75) ")
    assert [part.weight for part in blend.parts] == [0.25, 0.75]


@pytest.mark.parametrize(
    ("voice", "expected"),
    [("jf_alpha", False), ("en-us", False), ("a+b", True), ("a(2)", True), ("a)", True)],
)
def test_is_blend(voice: str, expected: bool) -> None:
    assert is_blend(voice) is expected


@pytest.mark.parametrize(
    ("spec", "mentions"),
    [
        ("jf_alpha+gandalf", "unknown voice 'gandalf'; valid voices: jf_alpha, jm_kumo"),
        ("jf_alpha(0)+jm_kumo", "must be a positive number, got '0'"),
        ("jf_alpha(-1)+jm_kumo", "must be a positive number, got '-1'"),
        ("jf_alpha(abc)+jm_kumo", "must be a positive number, got 'abc'"),
        ("jf_alpha(nan)+jm_kumo", "must be a positive number, got 'nan'"),
        ("jf_alpha(inf)", "must be a positive number, got 'inf'"),
        ("jf_alpha()+jm_kumo", "must be a positive number, got ''"),
        ("jf_alpha+", "malformed part ''"),
        ("jf_alpha++jm_kumo", "malformed part ''"),
        ("jf_alpha(1", "malformed part"),
        ("jf_alpha(1)(2)", "malformed part"),
        ("jf_alpha jm_kumo", "malformed part"),
        ("jf_alpha+jf_alpha", "names 'jf_alpha' twice"),
        ("+".join(VOICES), f"mixes 5 voices; at most {MAX_PARTS}"),
    ],
)
def test_bad_blends_are_refused_clearly(spec: str, mentions: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_blend(spec, valid_voices=VOICES)
    assert mentions in caught.value.message


def test_a_model_without_blending_refuses_blends_naming_its_voices() -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve_blend(PLAIN, "joe(1)+joe(2)")
    assert "does not blend voices" in caught.value.message
    assert "joe" in caught.value.message


def test_a_blending_model_validates_the_parts() -> None:
    assert str(resolve_blend(BLENDING, "jm_kumo(1)+jf_alpha(3)")) == "jm_kumo(1)+jf_alpha(3)"
    with pytest.raises(InvalidArgument, match="valid voices: jf_alpha"):
        resolve_blend(BLENDING, "jm_kumo+nobody")
