"""Which phonemes speak which word of a text: for engines that know how long each
phoneme lasts (their duration predictor) but phonemize whole sentences at once.

A sentence phonemizer's output does not split at the text's words: espeak-ng joins
unstressed words ("of the" → ``ʌvðə``), reads "1999" as three words and "$42.50" as
six, and starts a new sentence after "Dr.". So each word of the text is phonemized on
its own, and those phonemes are aligned with the sentence's (difflib's longest
matching blocks, on the phoneme letters only: stress, length-free punctuation and
spaces differ between the two readings). A word owns the stretch of spoken phonemes
from its first matched one to its last; a word none of whose phonemes matched gets
the stretch between its neighbours'.

Kokoro can use the same: its tokens are espeak-ng phonemes too.
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from polyvox.engines.base import WordMark
from polyvox.text.pieces import TEXT_WORD

#: Phoneme characters that carry no sound of their own (stress marks, spaces,
#: punctuation, dashes): left out of the alignment.
_UNSPOKEN = frozenset("ˈˌ'-_ .,;:!?\"()[]{}…\u2014\u2013")

#: A word's stretch of text and of phonemes: (text_start, text_end, first, stop), the
#: phonemes being ``spoken[first:stop]``.
WordPhonemes = tuple[int, int, int, int]


def text_words(text: str) -> list[tuple[int, int]]:
    """The words of ``text`` as (start, end) character offsets."""
    return [match.span() for match in TEXT_WORD.finditer(text)]


def _letters(phonemes: Sequence[str]) -> list[tuple[str, int]]:
    """Each sounding phoneme character with the index of the phoneme it belongs to."""
    out = []
    for index, phoneme in enumerate(phonemes):
        for char in unicodedata.normalize("NFD", phoneme):
            if char not in _UNSPOKEN and not char.isspace():
                out.append((char, index))
    return out


def align_words(
    text: str, spoken: Sequence[str], phonemize_word: Callable[[str], Sequence[str]]
) -> list[WordPhonemes]:
    """Each word of ``text`` with the stretch of ``spoken`` (the phonemes the engine
    speaks for the whole text, in order) that says it, in text order; stretches never
    overlap and never go back."""
    words = text_words(text)
    said: list[tuple[str, int]] = []  # (char, word index)
    for word_index, (start, end) in enumerate(words):
        said += [(char, word_index) for char, _ in _letters(phonemize_word(text[start:end]))]
    heard = _letters(spoken)
    matcher = SequenceMatcher(None, [c for c, _ in said], [c for c, _ in heard], autojunk=False)
    found: list[list[int]] = [[] for _ in words]
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            found[said[a + k][1]].append(heard[b + k][1])
    return _fill(words, found, len(spoken))


def align_words_in_parts(
    text: str,
    parts: Sequence[Sequence[str]],
    phonemize_word: Callable[[str], Sequence[str]],
) -> list[list[WordPhonemes]]:
    """:func:`align_words` over phonemes spoken in parts (a model's sentences or
    inferences, in order): each word goes to the part its first phoneme is in, its
    stretch counted within that part and cut at the part's end."""
    by_part: list[list[WordPhonemes]] = [[] for _ in parts]
    if not parts:
        return by_part
    spoken = [phoneme for part in parts for phoneme in part]
    offsets = list(itertools.accumulate((len(part) for part in parts), initial=0))
    for text_start, text_end, first, stop in align_words(text, spoken, phonemize_word):
        index = min(max(bisect.bisect_right(offsets, first) - 1, 0), len(parts) - 1)
        low, high = offsets[index], offsets[index + 1]
        by_part[index].append(
            (text_start, text_end, first - low, min(max(stop, first), high) - low)
        )
    return by_part


def _fill(words: list[tuple[int, int]], found: list[list[int]], total: int) -> list[WordPhonemes]:
    """Stretches from the matched phonemes; unmatched words between their neighbours."""
    stretches: list[tuple[int, int] | None] = [
        (min(hits), max(hits) + 1) if hits else None for hits in found
    ]
    out: list[WordPhonemes] = []
    floor = 0
    for index, (start, end) in enumerate(words):
        stretch = stretches[index]
        if stretch is None:
            following = next((s[0] for s in stretches[index + 1 :] if s is not None), total)
            stretch = (floor, max(floor, following))
        first = max(stretch[0], floor)
        stop = max(stretch[1], first)
        out.append((start, end, first, stop))
        floor = stop
    return out


def word_marks(
    words: Sequence[WordPhonemes], phoneme_samples: Sequence[int], *, lead_in_samples: int = 0
) -> list[WordMark]:
    """Word marks from each word's phonemes and how many samples each phoneme lasts
    (``lead_in_samples`` of audio come before the first phoneme)."""
    starts = [lead_in_samples]
    for samples in phoneme_samples:
        starts.append(starts[-1] + int(samples))
    last = len(starts) - 1
    return [
        WordMark(start, end, starts[min(first, last)], starts[min(stop, last)])
        for start, end, first, stop in words
    ]
