"""Where Kokoro speaks each word of a request, from its duration predictor.

The encoder half of the cut graph (:mod:`kokoro_graph`) gives the frames each token
lasts (pads included: ``[0, *tokens, 0]``), and a token is one phoneme character of
its unit (``Tokenizer.known``). The text's words are found among the units' phonemes
as for Piper (:mod:`word_alignment`: each word phonemized alone, aligned with what is
spoken), and a unit's marks are placed where its trimmed audio starts in the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from polyvox.engines.base import WordMark
from polyvox.engines.kokoro_decode import FRAME_SAMPLES
from polyvox.engines.word_alignment import WordPhonemes, align_words_in_parts, word_marks


@dataclass
class KokoroWords:
    """The words of one request's text, found in its units' phonemes.

    ``phonemize_word`` reads one word alone, with the front end the text went through;
    ``units`` (the phoneme characters of each unit's tokens, in order) are filled in
    when the text is phonemized, on the request's first step.
    """

    text: str
    phonemize_word: Callable[[str], str]
    units: list[str] = field(default_factory=list)
    _by_unit: list[list[WordPhonemes]] | None = field(default=None, init=False)

    def marks(self, unit: int, durations: np.ndarray, offset: int) -> tuple[WordMark, ...]:
        """Unit ``unit``'s word marks, from its tokens' ``durations`` (frames, pads
        included), where sample 0 of its untrimmed decode falls at ``offset`` in the
        request's audio (before the unit's first sample, by the silence trimmed)."""
        if self._by_unit is None:
            self._by_unit = self._align()
        frames = np.asarray(durations, np.int64).reshape(-1)
        lead_in = int(frames[0]) * FRAME_SAMPLES
        per_phoneme = (frames[1:-1] * FRAME_SAMPLES).tolist()
        return tuple(
            WordMark(m.text_start, m.text_end, m.start_sample + offset, m.end_sample + offset)
            for m in word_marks(self._by_unit[unit], per_phoneme, lead_in_samples=lead_in)
        )

    def _align(self) -> list[list[WordPhonemes]]:
        """Each unit's words, their phoneme stretches counted within that unit."""
        return align_words_in_parts(self.text, self.units, self.phonemize_word)
