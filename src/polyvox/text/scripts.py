"""Which scripts a text is written in, which scripts a language uses, and whether a
voice that reads some languages can read a text.

Scripts are Unicode's Script property (through the ``regex`` module), named by
their ISO 15924 codes (``Latn``, ``Hira``, ``Hani``...). Only letters and the marks
that belong to a script count: Common and Inherited characters (digits,
punctuation, symbols, emoji, spaces, combining marks, the prolonged sound mark
``ー``) belong to no script.

The readability rule (:func:`check_readable`), which the gateway's 400
``unsupported_language`` follows:

- Text with no letters (digits, punctuation, symbols, emoji only) is always readable.
- Letters of a script one of the voice's languages is written in are readable.
- A *lone Greek letter* (no Greek letter directly before or after it, e.g. "Δt",
  "λ = 500 nm", "2π") is a symbol, not a word: Greek letters are the
  symbols of science and mathematics, and the front ends of other languages read
  them by name (espeak-ng's English says "alpha"). Every other lone letter counts:
  a lone ``猫`` is a word ("cat") that an English front end would read as "Chinese
  letter", and a lone Hebrew letter comes out as "Hebrew shin".
- *A few foreign words in Latin script* are tolerated in text the voice otherwise
  reads: when the voice reads none of the Latin alphabet's languages but the text
  has letters it reads, Latin words are accepted if there are at most
  :data:`MAX_FOREIGN_LATIN_WORDS` (3) of them, or if their letters are at most
  :data:`MAX_FOREIGN_LATIN_SHARE` (20 %) of the text's letters (a long article with a
  handful of brand names). Latin letters glued to letters the voice reads
  ("OKです", "Tシャツ") are part of that word and never count as foreign.
- Any other letter of a script none of the voice's languages uses is a reason to
  refuse; the result names each such script with a sample of the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import langcodes
import regex
from langcodes.tag_parser import LanguageTagError

from polyvox.errors import InvalidArgument

#: ISO 15924 code → Unicode's name, for the scripts living languages are written in
#: (every script of espeak-ng's ~130 languages among them). Letters of a script not
#: listed are still detected, as :data:`OTHER_SCRIPT`.
SCRIPT_NAMES: Mapping[str, str] = {
    "Latn": "Latin",
    "Grek": "Greek",
    "Cyrl": "Cyrillic",
    "Armn": "Armenian",
    "Geor": "Georgian",
    "Hebr": "Hebrew",
    "Arab": "Arabic",
    "Syrc": "Syriac",
    "Thaa": "Thaana",
    "Nkoo": "N'Ko",
    "Tfng": "Tifinagh",
    "Ethi": "Ethiopic",
    "Deva": "Devanagari",
    "Beng": "Bengali",
    "Guru": "Gurmukhi",
    "Gujr": "Gujarati",
    "Orya": "Oriya",
    "Taml": "Tamil",
    "Telu": "Telugu",
    "Knda": "Kannada",
    "Mlym": "Malayalam",
    "Sinh": "Sinhala",
    "Olck": "Ol Chiki",
    "Mtei": "Meetei Mayek",
    "Tibt": "Tibetan",
    "Thai": "Thai",
    "Laoo": "Lao",
    "Khmr": "Khmer",
    "Mymr": "Myanmar",
    "Java": "Javanese",
    "Bali": "Balinese",
    "Sund": "Sundanese",
    "Tglg": "Tagalog",
    "Mong": "Mongolian",
    "Hira": "Hiragana",
    "Kana": "Katakana",
    "Hani": "Han",
    "Bopo": "Bopomofo",
    "Hang": "Hangul",
    "Yiii": "Yi",
    "Cher": "Cherokee",
    "Cans": "Canadian Aboriginal",
    "Vaii": "Vai",
    "Adlm": "Adlam",
    "Copt": "Coptic",
    "Shaw": "Shavian",
}

#: The code given to letters of a script :data:`SCRIPT_NAMES` does not list.
OTHER_SCRIPT = "Zzzz"

#: ISO 15924 codes that stand for several Unicode scripts: ``ja`` is written in
#: ``Jpan`` (kanji and both kana), ``ko`` in ``Kore`` (Hangul and hanja).
COMPOSITE_SCRIPTS: Mapping[str, frozenset[str]] = {
    "Jpan": frozenset({"Hani", "Hira", "Kana"}),
    "Hrkt": frozenset({"Hira", "Kana"}),
    "Kore": frozenset({"Hang", "Hani"}),
    "Jamo": frozenset({"Hang"}),
    "Hans": frozenset({"Hani"}),
    "Hant": frozenset({"Hani", "Bopo"}),
    "Hanb": frozenset({"Hani", "Bopo"}),
}

#: Where CLDR's one likely script is not the whole answer (used only when the tag
#: names no script): Serbian is officially written in both Cyrillic and Latin, and
#: CLDR gives Ancient Greek the Cypriot syllabary, while its texts (and espeak-ng's
#: ``grc`` voice) are in the Greek alphabet.
LANGUAGE_SCRIPT_OVERRIDES: Mapping[str, frozenset[str]] = {
    "sr": frozenset({"Cyrl", "Latn"}),
    "grc": frozenset({"Grek"}),
}

#: At most this many foreign words in Latin script are tolerated (see the module doc).
MAX_FOREIGN_LATIN_WORDS = 3
#: ...or any number, while their letters are at most this share of the text's letters.
MAX_FOREIGN_LATIN_SHARE = 0.2
#: Longest sample of offending text quoted in an :class:`UnreadableScript`.
SAMPLE_CHARS = 24

#: Combining marks of no script of their own: they belong to the letter before them.
_INHERITED = r"\p{sc=Zinh}"
#: Characters that join two runs into one word: "don't", "Jean-Luc".
_WORD_JOINERS = frozenset("'\u2019-\u2010")


def _letters_of(code: str) -> str:
    return rf"[[\p{{L}}\p{{M}}]&&\p{{sc={code}}}]"


def _run_pattern() -> regex.Pattern[str]:
    groups = [rf"(?P<{c}>{_letters_of(c)}(?:{_letters_of(c)}|{_INHERITED})*)" for c in SCRIPT_NAMES]
    listed = "".join(rf"\p{{sc={code}}}" for code in (*SCRIPT_NAMES, "Zyyy", "Zinh"))
    other = rf"[[\p{{L}}\p{{M}}]--[{listed}]]"
    groups.append(rf"(?P<{OTHER_SCRIPT}>{other}(?:{other}|{_INHERITED})*)")
    # The lookahead passes over spaces and punctuation without trying every script.
    return regex.compile(rf"(?=[\p{{L}}\p{{M}}])(?:{'|'.join(groups)})", regex.V1)


#: One alternative per script: a letter of it, then its letters and inherited marks.
_RUN = _run_pattern()
_MARK = regex.compile(r"\p{M}")


@dataclass(frozen=True, slots=True)
class ScriptRun:
    """A maximal stretch of letters of one script, with their combining marks."""

    #: ISO 15924 code (:data:`OTHER_SCRIPT` for an unlisted script).
    script: str
    #: Character offsets in the text: ``text[start:end]`` is the run.
    start: int
    end: int
    #: Letters in the run, combining marks not counted.
    letters: int


@dataclass(frozen=True, slots=True)
class Word:
    """Letters with nothing but word joiners between them; may mix scripts ("OKです")."""

    runs: tuple[ScriptRun, ...]

    @property
    def start(self) -> int:
        return self.runs[0].start

    @property
    def end(self) -> int:
        return self.runs[-1].end

    @property
    def scripts(self) -> frozenset[str]:
        return frozenset(run.script for run in self.runs)


def script_name(code: str) -> str:
    """Unicode's name of the script ``code`` ("Hira" → "Hiragana")."""
    return SCRIPT_NAMES.get(code, "an unlisted" if code == OTHER_SCRIPT else code)


def script_runs(text: str) -> list[ScriptRun]:
    """Every run of letters of one script in ``text``, in order; Common and Inherited
    characters (between the runs) belong to none."""
    runs = []
    for match in _RUN.finditer(text):
        code = match.lastgroup
        assert code is not None
        letters = len(match[0]) - len(_MARK.findall(match[0]))
        runs.append(ScriptRun(code, match.start(), match.end(), letters))
    return runs


def detect_scripts(text: str) -> dict[str, int]:
    """Letters of each script in ``text``, in order of first appearance."""
    counts: dict[str, int] = {}
    for run in script_runs(text):
        counts[run.script] = counts.get(run.script, 0) + run.letters
    return counts


def words(text: str) -> list[Word]:
    """The text's words, by :func:`letter_runs`: runs with no gap between them (or one
    joiner such as an apostrophe or hyphen) are one word."""
    grouped: list[list[ScriptRun]] = []
    for run in letter_runs(text):
        if grouped:
            gap = text[grouped[-1][-1].end : run.start]
            if gap == "" or (len(gap) == 1 and gap in _WORD_JOINERS):
                grouped[-1].append(run)
                continue
        grouped.append([run])
    return [Word(tuple(runs)) for runs in grouped]


def letter_runs(text: str) -> list[ScriptRun]:
    """:func:`script_runs` less lone Greek letters, which count as symbols (module doc)."""
    return [run for run in script_runs(text) if not (run.script == "Grek" and run.letters == 1)]


class InvalidLanguage(InvalidArgument):
    """A language that is not a BCP 47 tag."""

    reason = "invalid_language"


@lru_cache(maxsize=1024)
def parse_language(tag: str) -> langcodes.Language:
    """``tag`` as a :class:`langcodes.Language`.

    Lenient with voice ids that are not quite BCP 47 (espeak-ng's ``en-us-nyc``,
    ``chr-US-Qaaa-x-west``): subtags are dropped from the end until the rest parses.
    Only the syntax is checked: a well-formed tag CLDR does not know (espeak-ng's
    ``xex``) is accepted. Raises :class:`InvalidLanguage` when not even the first
    subtag is a language subtag (2 to 8 letters).
    """
    subtags = tag.replace("_", "-").split("-")
    for end in range(len(subtags), 0, -1):
        try:
            language = langcodes.Language.get("-".join(subtags[:end]))
        except LanguageTagError:
            continue
        if language.language and language.language.isalpha():
            return language
        break
    raise InvalidLanguage(f"{tag!r} is not a BCP 47 language tag (such as 'en', 'ja-JP')")


@lru_cache(maxsize=1024)
def language_scripts(tag: str) -> frozenset[str]:
    """The Unicode scripts a language is written in (ISO 15924 codes).

    The tag's own script subtag when it has one (``sr-Latn``, ``cmn-Latn-pinyin``),
    else CLDR's likely script (``ja`` → ``Jpan``, ``zh-TW`` → ``Hant``) or the
    override in :data:`LANGUAGE_SCRIPT_OVERRIDES`; composite codes expand through
    :data:`COMPOSITE_SCRIPTS`. A language CLDR knows nothing about is taken to be
    written in Latin (CLDR's default). Private-use script subtags (``Qaaa``) are ignored.
    """
    language = parse_language(tag)
    script = language.script
    if script is not None and script.startswith("Qa"):
        script = None
    if script is None:
        override = LANGUAGE_SCRIPT_OVERRIDES.get(language.language or "")
        if override is not None:
            return override
        script = language.maximize().script or "Latn"
    return COMPOSITE_SCRIPTS.get(script, frozenset({script}))


def readable_scripts(languages: Iterable[str]) -> frozenset[str]:
    """Every script at least one of ``languages`` is written in."""
    return frozenset().union(*(language_scripts(tag) for tag in languages))


@dataclass(frozen=True, slots=True)
class UnreadableScript:
    """One script in the text that none of the voice's languages uses."""

    script: str
    #: Unicode's name of the script ("Hiragana").
    name: str
    letters: int
    #: The first word with letters of this script (at most :data:`SAMPLE_CHARS`).
    sample: str
    #: Character offset of that word in the text.
    start: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why a voice cannot read a text: the scripts it cannot read, in text order."""

    scripts: tuple[UnreadableScript, ...]
    #: The voice's languages, as given.
    languages: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(found.script for found in self.scripts)

    def describe(self) -> str:
        """E.g. 'the text has Han, Hiragana letters ("今日は良い天気ですね"), which a
        voice reading en cannot read'."""
        names = ", ".join(found.name for found in self.scripts)
        samples = ", ".join(dict.fromkeys(f'"{found.sample}"' for found in self.scripts))
        return (
            f"the text has {names} letters ({samples}), which a voice reading "
            f"{', '.join(self.languages)} cannot read"
        )


def check_readable(text: str, languages: Sequence[str]) -> Unreadable | None:
    """``None`` when a voice reading ``languages`` can read ``text`` (by the rule in
    the module doc), else what it cannot read. Raises :class:`InvalidLanguage` for a
    malformed language tag."""
    readable = readable_scripts(languages)
    text_words = words(text)
    letters: dict[str, int] = {}
    first: dict[str, Word] = {}
    for word in text_words:
        for run in word.runs:
            letters[run.script] = letters.get(run.script, 0) + run.letters
            first.setdefault(run.script, word)
    unreadable = [code for code in first if code not in readable]
    if not unreadable:
        return None
    if unreadable == ["Latn"]:
        # Words with no letter the voice reads are foreign; "OKです" is not.
        foreign = [word for word in text_words if not word.scripts & readable]
        foreign_letters = sum(run.letters for word in foreign for run in word.runs)
        readable_letters = sum(count for code, count in letters.items() if code in readable)
        if readable_letters > 0 and (
            len(foreign) <= MAX_FOREIGN_LATIN_WORDS
            or foreign_letters <= MAX_FOREIGN_LATIN_SHARE * sum(letters.values())
        ):
            return None
    found = (
        UnreadableScript(
            code, script_name(code), letters[code], _sample(text, first[code]), first[code].start
        )
        for code in unreadable
    )
    return Unreadable(tuple(found), tuple(languages))


def _sample(text: str, word: Word) -> str:
    sample = text[word.start : word.end]
    return sample if len(sample) <= SAMPLE_CHARS else sample[: SAMPLE_CHARS - 1] + "…"


def voices_reading(text: str, voices: Mapping[str, Sequence[str]]) -> list[str]:
    """Of ``voices`` (name → languages it reads), those that can read ``text``, in order:
    what a refusal names as the voices to use instead."""
    return [name for name, languages in voices.items() if check_readable(text, languages) is None]
