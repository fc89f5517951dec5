"""What every engine's word timings must be: each word of the input as written, in
order, inside the audio, and where Whisper's own word timestamps put them."""

from __future__ import annotations

import base64
import difflib
import itertools
import re
import statistics
from typing import Any

from polyvox.text.pieces import TEXT_WORD
from support.speech import decode, whisper_words

#: Median gap allowed between a word's start and Whisper's (the issue's bound).
MEDIAN_GAP_S = 0.150


def _normal(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def check_captions(result: dict[str, Any], text: str) -> list[float]:
    """Assert what a ``/v1/audio/speech/captions`` answer for ``text`` must hold;
    return each matched word's gap to Whisper's start (seconds)."""
    words = result["words"]
    # Every word of the input, as the client wrote it, pointing at where it is.
    assert [w["word"] for w in words] == [m.group() for m in TEXT_WORD.finditer(text)]
    assert all(text[w["source_start"] : w["source_end"]] == w["word"] for w in words)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    assert all(a["end"] <= b["start"] + 1e-3 for a, b in itertools.pairwise(words))
    audio = decode(base64.b64decode(result["audio"]))
    assert words[0]["start"] >= 0
    assert words[-1]["end"] <= audio.duration_s + 1e-3
    # Whisper's own word timestamps for the same audio: matched word for word.
    heard = whisper_words(audio)
    ours = [_normal(w["word"]) for w in words]
    theirs = [_normal(word) for word, _, _ in heard]
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    gaps = [
        abs(words[a + k]["start"] - heard[b + k][1])
        for a, b, size in matcher.get_matching_blocks()
        for k in range(size)
    ]
    assert len(gaps) >= 0.7 * len(words), (ours, theirs)
    assert statistics.median(gaps) <= MEDIAN_GAP_S, sorted(gaps)
    return gaps
