from __future__ import annotations

import pytest

from polyvox.errors import InvalidArgument
from polyvox.text.languages import LanguageRun, match_language, split_by_language

KOKORO = ["en", "ja"]


def split(text: str, languages: list[str] = KOKORO) -> list[tuple[str, str]]:
    runs = split_by_language(text, languages)
    for run in runs:
        assert text[run.start : run.end] == run.text
    return [(run.language, run.text) for run in runs]


def test_english_and_japanese_sentences() -> None:
    assert split("Hello there. 今日は良い天気ですね。 See you.") == [
        ("en", "Hello there."),
        ("ja", "今日は良い天気ですね。"),
        ("en", "See you."),
    ]


def test_runs_carry_offsets_into_the_input() -> None:
    text = "  Hello there. 今日は良い天気ですね。 See you.\n"
    assert split_by_language(text, KOKORO) == [
        LanguageRun("en", "Hello there.", 2, 14),
        LanguageRun("ja", "今日は良い天気ですね。", 15, 26),
        LanguageRun("en", "See you.", 27, 35),
    ]


def test_the_order_of_the_voices_languages_does_not_change_the_runs() -> None:
    text = "Hello there. 今日は良い天気ですね。 See you."
    assert split(text, ["ja", "en"]) == split(text, KOKORO)


def test_common_characters_inside_a_run_stay_in_it() -> None:
    assert split("It costs $3,000 (about 450,000円 in Japan)!") == [
        ("en", "It costs $3,000 (about"),
        ("ja", "450,000円"),
        ("en", "in Japan)!"),
    ]
    japanese = "今日は、3時に「会議」があります！"
    assert split(japanese) == [("ja", japanese)]


def test_gaps_between_languages_are_cut_before_what_leans_on_the_next_word() -> None:
    assert split("Price: 500円です") == [("en", "Price:"), ("ja", "500円です")]
    assert split("彼は「Hello」と言った") == [
        ("ja", "彼は"),
        ("en", "「Hello」"),
        ("ja", "と言った"),
    ]
    assert split("Hello 世界") == [("en", "Hello"), ("ja", "世界")]
    assert split("東京へ (Tokyo) 行く") == [("ja", "東京へ"), ("en", "(Tokyo)"), ("ja", "行く")]


def test_latin_glued_to_japanese_goes_to_the_japanese_front_end() -> None:
    assert split("OKです。Tシャツを買った。iPhone版もある。") == [
        ("ja", "OKです。Tシャツを買った。iPhone版もある。")
    ]


def test_latin_words_apart_from_japanese_go_to_english_when_the_voice_reads_it() -> None:
    assert split("今日は Python を使います") == [
        ("ja", "今日は"),
        ("en", "Python"),
        ("ja", "を使います"),
    ]
    assert split("今日は Python を使います", ["ja"]) == [("ja", "今日は Python を使います")]


def test_a_kanji_word_keeps_the_language_before_it() -> None:
    # Han alone is Chinese or Japanese; after kana it stays Japanese.
    japanese = "今日は良い天気。東京、大阪"
    assert split(japanese, ["zh", "ja"]) == [("ja", japanese)]
    assert split("今天天气很好。", ["zh", "ja"]) == [("zh", "今天天气很好。")]


def test_common_only_text_is_one_run_in_the_first_language() -> None:
    assert split("123, 456! 🙂") == [("en", "123, 456! 🙂")]
    assert split("12:30", ["ja", "en"]) == [("ja", "12:30")]
    assert split("") == []
    assert split(" \n ") == []


def test_words_no_language_reads_stay_in_the_run_around_them() -> None:
    assert split("The Δt of αβγ and Привет here. 今日は。") == [
        ("en", "The Δt of αβγ and Привет here."),
        ("ja", "今日は。"),
    ]
    assert split("Привет, hello") == [("en", "Привет, hello")]


def test_one_language_gives_one_run() -> None:
    assert split("Hello there. See you.", ["en-US"]) == [("en-US", "Hello there. See you.")]


def test_a_voice_needs_a_language() -> None:
    with pytest.raises(ValueError, match="at least one language"):
        split_by_language("Hello", [])


# -- matching a requested language -------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        ("ja", ["en-US", "ja-JP"], "ja-JP"),
        ("ja-JP", ["en", "ja"], "ja"),
        ("en-GB", ["en-US", "ja-JP"], "en-US"),
        ("en-GB", ["en-US", "en-GB"], "en-GB"),
        ("en", ["en-us-nyc", "en-gb"], "en-us-nyc"),  # equally close: the first
        ("en_US", ["ja", "en"], "en"),
        ("pt-PT", ["pt-BR", "es"], "pt-BR"),
        ("es-MX", ["es", "es-419"], "es-419"),
        ("no", ["da", "nb"], "nb"),
        ("cmn", ["zh"], "zh"),
        ("zh-CN", ["cmn", "yue"], "cmn"),
        ("fr", ["en-US", "ja-JP"], None),
        ("zh-TW", ["zh-CN"], None),  # another script is too far
        ("yue", ["zh"], None),
        ("ja", [], None),
        ("ja", ["!!", "ja"], "ja"),  # a malformed entry is skipped
    ],
)
def test_match_language(requested: str, available: list[str], expected: str | None) -> None:
    assert match_language(requested, available) == expected


def test_match_language_distance_is_configurable() -> None:
    assert match_language("zh-TW", ["zh-CN"], max_distance=60) == "zh-CN"
    assert match_language("en-GB", ["en-US"], max_distance=0) is None


@pytest.mark.parametrize("requested", ["", "english", "12", "en-", "x-foo"])
def test_a_malformed_requested_language_is_invalid(requested: str) -> None:
    with pytest.raises(InvalidArgument, match="BCP 47"):
        match_language(requested, ["en"])
