# IPA symbols are the expected values here.
# ruff: noqa: RUF001
"""Japanese kana to Kokoro phonemes (misaki's romanization), without pyopenjtalk."""

from __future__ import annotations

import pytest

from polyvox.engines.kokoro_ja import has_japanese, kana_to_phonemes


@pytest.mark.parametrize(
    ("kana", "phonemes"),
    [
        ("きょう", "kʲoɯ"),
        ("きょー", "kʲoː"),  # long vowel mark
        ("しゅっぱつ", "ɕɨʔpaʦɨ"),  # palatalized ゅ is ɨ; small tsu is a glottal stop
        ("しんぶん", "ɕimbɯɴ"),  # ん before b is m; word-final ん is ɴ
        ("てんき", "teŋkʲi"),  # ん before k is ŋ
        ("こんにちは", "koɲɲiʨiha"),  # ん before ɲ is ɲ
        ("よんで", "jonde"),  # ん before d is n
        ("ゔぁいおりん", "vaioɾʲiɴ"),
        ("てぃー", "tʲiː"),
        ("ねぇ", "ne"),  # any kana + small vowel: its consonant, that vowel
        ("ぁ", ""),  # a stray small kana is dropped
    ],
)
def test_kana_to_phonemes(kana: str, phonemes: str) -> None:
    assert kana_to_phonemes(kana) == phonemes


@pytest.mark.parametrize(
    ("text", "japanese"),
    [("今日は", True), ("カタカナ", True), ("ひらがな", True), ("ｶﾀｶﾅ", True),
     ("Hello, world!", False), ("Ünïcödé façade", False), ("안녕", False)],
)  # fmt: skip
def test_japanese_script_is_detected(text: str, japanese: bool) -> None:
    assert has_japanese(text) is japanese
