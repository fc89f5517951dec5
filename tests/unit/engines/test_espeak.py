"""Reading espeak-ng's voice table into voices with BCP 47 languages."""

from __future__ import annotations

from polyvox.engines.espeak import bcp47, parse_voices

# espeak-ng's own table, verbatim.
LISTING = """\
Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  af              --/M      Afrikaans          gmw/af
 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  en-gb-x-rp      --/M      English_(Received_Pronunciation) gmw/en-GB-x-rp
 2  en-us           --/F      English_(America)  gmw/en-US            (en 3)
 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)
 5  yue             --/M      Chinese_(Cantonese,_latin_as_Jyutping) sit/yue-Latn-jyutping (zh-yue 8)
"""  # noqa: E501


def test_bcp47_case() -> None:
    assert bcp47("en-us") == "en-US"
    assert bcp47("en-gb-x-rp") == "en-GB-x-rp"
    assert bcp47("cmn-latn-pinyin") == "cmn-Latn-pinyin"
    assert bcp47("es-419") == "es-419"
    assert bcp47("chr-US-Qaaa-x-west") == "chr-US-Qaaa-x-west"


def test_voices_are_unique_with_the_default_first() -> None:
    voices = parse_voices(LISTING)
    assert [v.info.id for v in voices] == [
        "en-us", "af", "cmn", "en-gb", "en-gb-x-rp", "yue", "yue-latn-jyutping",
    ]  # fmt: skip
    first = voices[0]
    assert (first.info.language, first.file) == ("en-US", "gmw/en-US")
    assert first.info.labels == {"name": "English (America)", "gender": "female"}
    assert voices[-1].file == "sit/yue-Latn-jyutping"
