"""What a voice can read, decided before any audio moves."""

from __future__ import annotations

import pytest

from polyvox.contract.types import ModelInfo, Segment, VoiceInfo
from polyvox.errors import InvalidArgument
from polyvox.gateway.languages import check_speakable, speaking_languages, speech_segments
from polyvox.text.scripts import InvalidLanguage
from polyvox.text.segment import Segmenters

KOKORO = ModelInfo(
    "kokoro-82m-int8",
    (VoiceInfo("jf_alpha", ("ja-JP", "en-US", "en-GB")), VoiceInfo("jm_kumo", ("ja-JP", "en-US"))),
    24000,
    ("en-US", "en-GB", "ja-JP"),
    voice_blending=True,
)
JOE = ModelInfo("en_US-joe-medium", (VoiceInfo("joe", ("en-US",)),), 22050, ("en-US",))
SERVED = {
    ("piper/en_US-joe-medium (tts-1)", "joe"): ("en-US",),
    ("kokoro/kokoro-82m-int8 (tts-1-hd)", "jf_alpha"): ("ja-JP", "en-US"),
    ("espeak/espeak-ng", "ko"): ("ko",),
    ("espeak/espeak-ng", "ja"): ("ja",),
}


def test_a_voice_reads_its_languages_and_a_blend_its_first_voices() -> None:
    assert speaking_languages(KOKORO, "jm_kumo", None) == ("ja-JP", "en-US")
    assert speaking_languages(KOKORO, "jm_kumo(2)+jf_alpha(1)", None) == ("ja-JP", "en-US")
    assert speaking_languages(KOKORO, "jf_alpha", "ja") == ("ja-JP",)
    assert speaking_languages(KOKORO, "jf_alpha", "en-GB") == ("en-GB",)


def test_a_language_the_voice_does_not_read_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="does not read 'fr'; it reads en-US") as caught:
        speaking_languages(JOE, "joe", "fr")
    assert caught.value.reason == "unsupported_language"
    with pytest.raises(InvalidLanguage):
        speaking_languages(JOE, "joe", "not a tag")


def test_a_refusal_names_the_script_and_the_voices_that_read_it() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_speakable("안녕하세요", ("en-US",), voices=SERVED)
    message = caught.value.message
    assert "Hangul" in message
    assert message.endswith("voices that read it: espeak/espeak-ng: ko")
    with pytest.raises(InvalidArgument, match="no voice served here reads it"):
        check_speakable("שלום עולם", ("en-US",), voices=SERVED)
    check_speakable("Hello, 3 € and 🙂", ("en-US",), voices=SERVED)  # readable: no error


def test_japanese_refused_by_piper_names_kokoro_and_espeak() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_speakable("今日は良い天気ですね。", ("en-US",), voices=SERVED)
    named = caught.value.message.split("voices that read it: ")[1]
    assert named == "kokoro/kokoro-82m-int8 (tts-1-hd): jf_alpha; espeak/espeak-ng: ja"


def test_mixed_text_is_cut_by_language_each_run_with_its_own_rules() -> None:
    segments = speech_segments(
        "Hello there, my friend. 今日は良い天気ですね。明日も晴れるでしょう。 See you!",
        ("ja-JP", "en-US"),
        Segmenters(),
        tag_language=True,
    )
    assert segments == [
        Segment("Hello there, my friend.", "en-US"),
        Segment("今日は良い天気ですね。", "ja-JP"),
        Segment("明日も晴れるでしょう。", "ja-JP"),
        Segment("See you!", "en-US"),
    ]


def test_one_language_voices_get_plain_segments() -> None:
    segments = speech_segments(
        "One sentence. Another one.", ("en-US",), Segmenters(), tag_language=False
    )
    assert segments == [Segment("One sentence."), Segment("Another one.")]
