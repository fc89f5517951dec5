from __future__ import annotations

from pathlib import Path

import pytest

from polyvox.errors import InvalidArgument
from polyvox.text.scripts import (
    MAX_FOREIGN_LATIN_WORDS,
    OTHER_SCRIPT,
    SCRIPT_NAMES,
    InvalidLanguage,
    ScriptRun,
    Unreadable,
    check_readable,
    detect_scripts,
    language_scripts,
    parse_language,
    script_name,
    script_runs,
    voices_reading,
    words,
)

#: One sample per script, each a greeting or the script's own name.
SAMPLES = {
    "Latn": "Hello",
    "Hira": "ひらがな",
    "Kana": "カタカナ",
    "Hani": "漢字",
    "Hang": "한국어",
    "Cyrl": "Привет",
    "Arab": "مرحبا",
    "Deva": "नमस्ते",
    "Grek": "Καλημέρα",
    "Hebr": "שלום",
    "Thai": "สวัสดี",
    "Beng": "বাংলা",
    "Taml": "தமிழ்",
    "Telu": "తెలుగు",
    "Knda": "ಕನ್ನಡ",
    "Mlym": "മലയാളം",
    "Gujr": "ગુજરાતી",
    "Guru": "ਪੰਜਾਬੀ",
    "Orya": "ଓଡ଼ିଆ",
    "Sinh": "සිංහල",
    "Geor": "ქართული",
    "Armn": "Հայերեն",
    "Ethi": "አማርኛ",
    "Khmr": "ខ្មែរ",
    "Laoo": "ລາວ",
    "Mymr": "မြန်မာ",
    "Tibt": "བོད་",
    "Thaa": "ދިވެހި",
    "Cher": "ᏣᎳᎩ",
}


@pytest.mark.parametrize(("code", "sample"), SAMPLES.items())
def test_each_script_is_detected_with_its_letters(code: str, sample: str) -> None:
    (run,) = script_runs(sample.rstrip("་"))  # the Tibetan tsheg is Common punctuation
    assert run.script == code
    assert (run.start, run.end) == (0, len(sample.rstrip("་")))
    assert code in SCRIPT_NAMES


def test_marks_belong_to_their_letters_and_are_not_counted() -> None:
    # Devanagari vowel signs and virama are Devanagari marks; "é" may be e + U+0301.
    assert detect_scripts("नमस्ते") == {"Deva": 4}
    assert script_runs("cafe\u0301 ok") == [ScriptRun("Latn", 0, 5, 4), ScriptRun("Latn", 6, 8, 2)]
    assert detect_scripts("cafe\u0301") == {"Latn": 4}
    assert detect_scripts("\u0301\u0308") == {}  # marks with no letter belong to no script


@pytest.mark.parametrize(
    "text",
    [
        "1234567890 3.14 -5",
        "!?.,;:()[]{}«»„“”'\"—–…",
        "$€£¥ % & @ # + = < > ° № ℃",
        "🙂👍🏽 ❤️ ✓ ★ ☺",
        "。、「」『』・ー 〜 ！？",  # CJK punctuation and the prolonged sound mark
        "١٢٣ ०१२ ૧૨",  # Arabic-Indic, Devanagari and Gujarati digits
        "   \n\t ",
        "",
    ],
)
def test_common_characters_belong_to_no_script(text: str) -> None:
    assert script_runs(text) == []
    assert check_readable(text, ["en"]) is None
    assert check_readable(text, ["ja"]) is None


def test_japanese_text_is_han_hiragana_katakana_and_runs_keep_offsets() -> None:
    text = "今日はコーヒーを飲む"
    assert detect_scripts(text) == {"Hani": 3, "Hira": 3, "Kana": 2}
    assert [(r.script, text[r.start : r.end]) for r in script_runs(text)] == [
        ("Hani", "今日"),
        ("Hira", "は"),
        ("Kana", "コ"),
        ("Kana", "ヒ"),
        ("Hira", "を"),
        ("Hani", "飲"),
        ("Hira", "む"),
    ]


def test_width_variants_keep_their_script() -> None:
    assert detect_scripts("ｶﾀｶﾅ") == {"Kana": 4}
    assert detect_scripts("ＡＢＣ１２３") == {"Latn": 3}


def test_a_script_not_listed_is_still_a_script() -> None:
    assert detect_scripts("ᚠᚢᚦ") == {OTHER_SCRIPT: 3}
    assert script_name(OTHER_SCRIPT) == "an unlisted"


def test_mixed_text_lists_scripts_in_order() -> None:
    text = "Hello Привет 안녕 مرحبا שלום 你好 ok"
    assert list(detect_scripts(text)) == ["Latn", "Cyrl", "Hang", "Arab", "Hebr", "Hani"]


def test_words_join_runs_with_no_gap_or_one_joiner() -> None:
    text = "don't Jean-Luc OKです a - b"
    assert [text[w.start : w.end] for w in words(text)] == [
        "don't",
        "Jean-Luc",
        "OKです",
        "a",
        "b",
    ]
    assert words("OKです")[0].scripts == {"Latn", "Hira"}


# -- languages and their scripts ---------------------------------------------------

#: The common languages espeak-ng has (and Polyvox's voices are likely to declare).
LANGUAGE_SCRIPTS = {
    "en": {"Latn"},
    "en-US": {"Latn"},
    "en-gb-x-rp": {"Latn"},
    "de": {"Latn"},
    "fr": {"Latn"},
    "fr-fr": {"Latn"},
    "es": {"Latn"},
    "es-419": {"Latn"},
    "it": {"Latn"},
    "pt": {"Latn"},
    "pt-br": {"Latn"},
    "ru": {"Cyrl"},
    "uk": {"Cyrl"},
    "be": {"Cyrl"},
    "bg": {"Cyrl"},
    "kk": {"Cyrl"},
    "sr": {"Cyrl", "Latn"},
    "sr-Latn": {"Latn"},
    "ar": {"Arab"},
    "fa": {"Arab"},
    "fa-latn": {"Latn"},
    "ur": {"Arab"},
    "he": {"Hebr"},
    "hi": {"Deva"},
    "mr": {"Deva"},
    "ne": {"Deva"},
    "bn": {"Beng"},
    "ta": {"Taml"},
    "te": {"Telu"},
    "pa": {"Guru"},
    "si": {"Sinh"},
    "zh": {"Hani"},
    "zh-CN": {"Hani"},
    "zh-TW": {"Hani", "Bopo"},
    "cmn": {"Hani"},
    "cmn-latn-pinyin": {"Latn"},
    "yue": {"Hani", "Bopo"},
    "ja": {"Hani", "Hira", "Kana"},
    "ja-JP": {"Hani", "Hira", "Kana"},
    "ko": {"Hang", "Hani"},
    "el": {"Grek"},
    "grc": {"Grek"},
    "th": {"Thai"},
    "vi": {"Latn"},
    "tr": {"Latn"},
    "pl": {"Latn"},
    "ka": {"Geor"},
    "hy": {"Armn"},
    "am": {"Ethi"},
    "my": {"Mymr"},
    "en-us-nyc": {"Latn"},  # espeak-ng's id; not quite BCP 47
    "chr-US-Qaaa-x-west": {"Cher"},  # a private-use script subtag is ignored
    "en_US": {"Latn"},
}


@pytest.mark.parametrize(("tag", "scripts"), LANGUAGE_SCRIPTS.items())
def test_language_scripts(tag: str, scripts: set[str]) -> None:
    assert language_scripts(tag) == scripts


def _espeak_languages() -> list[str]:
    espeakng_loader = pytest.importorskip("espeakng_loader")
    lang_dir = Path(espeakng_loader.get_data_path()) / "lang"
    languages = []
    for voice in sorted(lang_dir.rglob("*")):
        if voice.is_file():
            for line in voice.read_text(encoding="utf-8").splitlines():
                if line.startswith("language "):
                    languages.append(line.split()[1])
                    break
    return languages


def test_every_espeak_language_has_known_scripts() -> None:
    languages = _espeak_languages()
    assert len(languages) > 100
    for tag in languages:
        scripts = language_scripts(tag)
        assert scripts, tag
        assert scripts <= SCRIPT_NAMES.keys(), tag


@pytest.mark.parametrize("tag", ["", "-", "12", "x-private", "-en"])
def test_malformed_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidLanguage) as caught:
        language_scripts(tag)
    assert isinstance(caught.value, InvalidArgument)
    assert "BCP 47" in caught.value.message


def test_parse_language_drops_what_does_not_parse() -> None:
    assert parse_language("en-us-nyc").to_tag() == "en-US"


# -- readability ------------------------------------------------------------------


def test_japanese_to_an_english_voice_names_the_scripts_and_a_sample() -> None:
    result = check_readable("Weather: 今日は良い天気ですね。", ["en"])
    assert isinstance(result, Unreadable)
    assert result.codes == ("Hani", "Hira")
    assert [found.name for found in result.scripts] == ["Han", "Hiragana"]
    assert result.scripts[0].sample == "今日は良い天気ですね"
    assert result.scripts[0].start == 9
    assert result.scripts[0].letters == 5
    assert result.describe() == (
        'the text has Han, Hiragana letters ("今日は良い天気ですね"), '
        "which a voice reading en cannot read"
    )


@pytest.mark.parametrize(("code", "sample"), [(c, s) for c, s in SAMPLES.items() if c != "Latn"])
def test_every_other_script_is_refused_for_an_english_voice(code: str, sample: str) -> None:
    result = check_readable(f"Say {sample} now.", ["en-US"])
    assert result is not None
    assert result.codes == (code,)
    assert result.scripts[0].name == script_name(code)


@pytest.mark.parametrize(("code", "sample"), SAMPLES.items())
def test_a_voice_reads_its_own_script(code: str, sample: str) -> None:
    language = {
        "Latn": "en",
        "Hira": "ja",
        "Kana": "ja",
        "Hani": "zh",
        "Hang": "ko",
        "Cyrl": "ru",
        "Arab": "ar",
        "Deva": "hi",
        "Grek": "el",
        "Hebr": "he",
        "Thai": "th",
        "Beng": "bn",
        "Taml": "ta",
        "Telu": "te",
        "Knda": "kn",
        "Mlym": "ml",
        "Gujr": "gu",
        "Guru": "pa",
        "Orya": "or",
        "Sinh": "si",
        "Geor": "ka",
        "Armn": "hy",
        "Ethi": "am",
        "Khmr": "km",
        "Laoo": "lo",
        "Mymr": "my",
        "Tibt": "bo",
        "Thaa": "dv",
        "Cher": "chr",
    }[code]
    assert check_readable(f"{sample} 123!", [language]) is None


def test_a_voice_with_several_languages_reads_all_their_scripts() -> None:
    text = "Hello there. 今日は良い天気ですね。 See you."
    assert check_readable(text, ["en", "ja"]) is None
    assert check_readable(text, ["ja", "en-US"]) is None
    assert check_readable("Привет and hello", ["sr"]) is None  # Cyrillic and Latin


def test_a_few_latin_words_in_other_text_are_tolerated() -> None:
    assert MAX_FOREIGN_LATIN_WORDS == 3
    assert check_readable("Я купил iPhone и MacBook Pro вчера", ["ru"]) is None
    assert check_readable("東京で Apple Music を聴いた", ["ja"]) is None


def test_more_latin_words_are_refused_unless_they_are_a_small_share() -> None:
    # Four Latin words, 24 of 35 letters: English with a Russian word, not the reverse.
    refused = check_readable("Я купил iPhone MacBook Pro Max", ["ru"])
    assert refused is not None
    assert refused.codes == ("Latn",)
    assert refused.scripts[0].sample == "iPhone"
    # Four brand names in a long sentence: at most a fifth of its letters.
    long_text = (
        "Вчера в магазине на углу я купил новый iPhone, потом Apple Watch, "
        "а жена выбрала MacBook и ещё большой монитор для работы дома и на даче в выходные"
    )
    scripts = detect_scripts(long_text)
    assert scripts["Latn"] <= 0.2 * (scripts["Latn"] + scripts["Cyrl"])
    assert check_readable(long_text, ["ru"]) is None
    assert check_readable(long_text.replace("на даче", "AirPods"), ["ru"]) is not None


def test_latin_alone_is_not_foreign_words() -> None:
    # No letter the voice reads: this is English text, not Russian with English in it.
    result = check_readable("Hello world", ["ru"])
    assert result is not None
    assert result.codes == ("Latn",)


def test_latin_glued_to_japanese_is_part_of_a_japanese_word() -> None:
    text = "OKです。Tシャツ、iPhone版、USBメモリ、AIモデル、LINEで"
    assert check_readable(text, ["ja"]) is None


def test_a_lone_greek_letter_is_a_symbol_in_any_text() -> None:
    assert check_readable("The Δt is 5 ms and λ = 500 nm, so 2π r.", ["en"]) is None
    assert check_readable("Это α-частица", ["ru"]) is None
    assert check_readable("α", ["en"]) is None


def test_greek_words_and_other_lone_letters_are_refused() -> None:
    greek = check_readable("The word αβγ is Greek", ["en"])
    assert greek is not None
    assert greek.codes == ("Grek",)
    kanji = check_readable("I like 猫 a lot", ["en"])
    assert kanji is not None
    assert kanji.codes == ("Hani",)
    cyrillic = check_readable("the я letter", ["en"])
    assert cyrillic is not None
    assert cyrillic.codes == ("Cyrl",)


def test_long_samples_are_cut() -> None:
    result = check_readable("あ" * 40, ["en"])
    assert result is not None
    assert result.scripts[0].sample == "あ" * 23 + "…"


def test_voices_reading_names_the_voices_that_can() -> None:
    voices = {"joe": ["en-US"], "jf_alpha": ["ja-JP", "en-US"], "anna": ["ru"]}
    assert voices_reading("今日は", voices) == ["jf_alpha"]
    assert voices_reading("Hello", voices) == ["joe", "jf_alpha"]
    assert voices_reading("12:30", voices) == ["joe", "jf_alpha", "anna"]
    assert voices_reading("שלום", voices) == []
