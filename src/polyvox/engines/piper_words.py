"""One Piper request's sentences as the encoder's feeds, and its words' marks.

Piper reads phoneme ids: ``^ _`` then each phoneme's ids followed by ``_``, then ``$``
(piper.phoneme_ids). The ids are built here with the phoneme each one belongs to
(its pad included, as piper's own alignment counts it), so the frames the duration
predictor gives each id add up to each phoneme's length; the words' stretches of
phonemes come from :mod:`polyvox.engines.word_alignment`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from polyvox.engines.base import WordMark
from polyvox.engines.word_alignment import WordPhonemes, align_words_in_parts, word_marks

_BOS, _EOS, _PAD = "^", "$", "_"
#: The lead-in ids (BOS and its pad) belong to no phoneme.
_LEAD_IN = -1


def ids_and_owners(
    phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], list[int]]:
    """Piper's phoneme ids for a sentence, and for each the index of the phoneme it
    belongs to (-1 for the lead-in, ``len(phonemes)`` for the end)."""
    ids = [*id_map[_BOS], *id_map[_PAD]]
    owners = [_LEAD_IN] * len(ids)
    for index, phoneme in enumerate(phonemes):
        if phoneme not in id_map:
            continue  # piper skips it too (with a warning)
        part = [*id_map[phoneme], *id_map[_PAD]]
        ids += part
        owners += [index] * len(part)
    ids += id_map[_EOS]
    owners += [len(phonemes)] * len(id_map[_EOS])
    return ids, owners


def phonemes_of(ipa: str) -> list[str]:
    """Phonemes written in IPA (SSML ``<phoneme>``) as Piper's phoneme list: code
    points, decomposed, as piper splits espeak-ng's."""
    return list(unicodedata.normalize("NFD", ipa.strip()))


@dataclass
class PiperWords:
    """The words of one request, per sentence, once each sentence's durations are known.

    ``sentences`` are the phonemes spoken, ``owners`` each sentence's id owners
    (:func:`ids_and_owners`). ``phonemize_word`` reads one word alone; None: the whole
    text is one word (phonemes given by SSML).
    """

    text: str
    sentences: list[list[str]]
    owners: list[list[int]]
    phonemize_word: Callable[[str], Sequence[str]] | None
    _by_sentence: list[list[WordPhonemes]] | None = field(default=None, init=False)

    def __call__(self, sentence: int, id_samples: np.ndarray) -> tuple[WordMark, ...]:
        if self._by_sentence is None:
            self._by_sentence = self._align()
        owners = self.owners[sentence]
        count = len(self.sentences[sentence])
        per_phoneme = np.zeros(count + 2, np.int64)  # lead-in first, the end last
        np.add.at(per_phoneme, np.asarray(owners) + 1, id_samples[: len(owners)])
        words = self._by_sentence[sentence]
        lead_in = int(per_phoneme[0])
        samples = per_phoneme[1 : count + 1].tolist()
        return tuple(word_marks(words, samples, lead_in_samples=lead_in))

    def _align(self) -> list[list[WordPhonemes]]:
        """Each sentence's words, with phoneme stretches counted in that sentence."""
        by_sentence: list[list[WordPhonemes]] = [[] for _ in self.sentences]
        if not self.sentences:
            return by_sentence
        if self.phonemize_word is None:
            stripped = self.text.strip()
            start = self.text.find(stripped) if stripped else 0
            end = start + len(stripped)
            by_sentence[0] = [(start, end, 0, len(self.sentences[0]))] if stripped else []
            return by_sentence
        return align_words_in_parts(self.text, self.sentences, self.phonemize_word)
