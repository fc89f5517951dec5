"""Mixed-language text cut into runs by language, and a ``language`` field matched to
the languages a model or voice reads.

How :func:`split_by_language` decides, for a voice reading several languages (Kokoro:
English and Japanese):

- Text is read word by word (:func:`~polyvox.text.scripts.words`: letters with no
  gap between them). A word goes to the language of the run before it when that
  language reads the word's scripts, else to the first of the voice's languages
  (in the order given) that does; so a kanji-only word after kana stays Japanese,
  and "Hello 世界" switches to Japanese at "世界" only for a voice without Chinese
  listed first.
- *Latin inside Japanese*: Latin letters glued to Japanese ones ("OKです", "Tシャツ",
  "iPhone版") are part of a Japanese word and go to the Japanese front end, which
  reads them the Japanese way (オーケー, ティーシャツ). A Latin word standing apart
  ("今日は Python を使います") starts an English run when the voice reads English,
  because an English front end says "Python" and a Japanese one spells it out; for a
  voice whose only language is Japanese it stays in the Japanese run.
- Words no language of the voice reads (tolerated foreign words, see
  :func:`~polyvox.text.scripts.check_readable`) stay in the run around them.
- *Common characters* (spaces, punctuation, digits, symbols) between two words of
  one run belong to it. Between runs of two languages, the gap is cut before its
  trailing opening brackets and quotes, digits and currency signs that touch the
  next word, a number's separators included ("Price: 1,500円" → "Price:" |
  "1,500円"; 彼は「Hello」 → "彼は" | "「Hello」"),
  and everything before that (closing punctuation, "。", ".") stays with the
  run before. Text before the first word joins the first run, text after the last
  joins the last. Whitespace at the edges of a run is left out of it.
- Text with no letters at all is one run in the voice's first language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import langcodes

from polyvox.text.scripts import InvalidLanguage, Word, language_scripts, parse_language, words

#: Largest langcodes tag distance :func:`match_language` accepts: a regional variant
#: ("en-GB" for "en-US") is 5, another script of one language ("zh-Hant" for
#: "zh-Hans") 54, another language 60 or more. 25 is langcodes' own default.
MAX_LANGUAGE_DISTANCE = 25

#: Categories of Common characters that lean on the word after them.
_LEADING_CATEGORIES = frozenset({"Ps", "Pi", "Nd", "Nl", "No", "Sc"})
#: Separators inside a number ("450,000", "3.5"), which lean on it like its digits.
_DIGIT_SEPARATORS = frozenset(",.\u202f")


@dataclass(frozen=True, slots=True)
class LanguageRun:
    """A stretch of text for one language's front end."""

    #: One of the voice's languages, as given.
    language: str
    text: str
    #: Character offsets in the input: ``input[start:end] == text``.
    start: int
    end: int


def split_by_language(text: str, languages: Sequence[str]) -> list[LanguageRun]:
    """Cut ``text`` into runs, each for one of ``languages`` (a voice's, in its order of
    preference), by the rules in the module doc. Empty and whitespace-only text gives
    no runs."""
    if not languages:
        raise ValueError("split_by_language needs at least one language")
    text_words = words(text)
    if not text_words:
        return _stripped(languages[0], text, 0, len(text))
    assigned = _assign(text_words, languages)
    runs: list[LanguageRun] = []
    start = 0
    for index, (word, language) in enumerate(assigned):
        following = assigned[index + 1] if index + 1 < len(assigned) else None
        if following is None:
            runs += _stripped(language, text, start, len(text))
        elif following[1] != language:
            cut = _cut(text, word.end, following[0].start)
            runs += _stripped(language, text, start, cut)
            start = cut
    return runs


def _assign(text_words: list[Word], languages: Sequence[str]) -> list[tuple[Word, str]]:
    """Each word with its language; words no language reads take their neighbour's."""
    scripts = {language: language_scripts(language) for language in languages}
    chosen: list[str | None] = []
    current: str | None = None
    for word in text_words:
        # Latin glued to other letters ("OKです") follows those letters.
        needed = word.scripts - {"Latn"} or word.scripts
        readers = [lang for lang in languages if needed <= scripts[lang]]
        readers = readers or [lang for lang in languages if needed & scripts[lang]]
        if readers:
            current = current if current in readers else readers[0]
            chosen.append(current)
        else:
            chosen.append(None)
    # Unread words before the first read one take its language.
    first = next((lang for lang in chosen if lang is not None), languages[0])
    resolved: list[str] = []
    for lang in chosen:
        resolved.append(lang if lang is not None else (resolved[-1] if resolved else first))
    return list(zip(text_words, resolved, strict=True))


def _cut(text: str, gap_start: int, gap_end: int) -> int:
    """Where the Common gap between runs of two languages is cut (module doc)."""
    cut = gap_end
    while cut > gap_start:
        char = text[cut - 1]
        if unicodedata.category(char) in _LEADING_CATEGORIES:
            cut -= 1
        elif char in _DIGIT_SEPARATORS and cut - 1 > gap_start and text[cut - 2].isdigit():
            cut -= 1  # "450,000円": the number stays whole
        else:
            break
    return cut


def _stripped(language: str, text: str, start: int, end: int) -> list[LanguageRun]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [LanguageRun(language, text[start:end], start, end)] if start < end else []


def match_language(
    requested: str, available: Sequence[str], *, max_distance: int = MAX_LANGUAGE_DISTANCE
) -> str | None:
    """The one of ``available`` (a model's or voice's languages, as declared) that best
    serves ``requested`` (a BCP 47 tag from a request, e.g. "ja", "en-GB", "ja-JP"),
    by CLDR's language matching (langcodes' tag distance); ``None`` when none is
    within ``max_distance``. On a tie the earlier one wins.

    Raises :class:`~polyvox.text.scripts.InvalidLanguage` when ``requested`` is not a
    well-formed language tag; ``available`` entries that are not are skipped.
    """
    if not langcodes.tag_is_valid(requested.replace("_", "-")):
        raise InvalidLanguage(f"{requested!r} is not a BCP 47 language tag (such as 'en', 'ja-JP')")
    desired = parse_language(requested).to_tag()
    best: tuple[int, str] | None = None
    for tag in available:
        try:
            supported = parse_language(tag).to_tag()
        except InvalidLanguage:
            continue
        distance = langcodes.tag_distance(desired, supported)
        if distance <= max_distance and (best is None or distance < best[0]):
            best = (distance, tag)
    return best[1] if best else None
