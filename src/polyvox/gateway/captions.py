"""Captions from word timings: words grouped into cues, written as SRT and WebVTT.

A cue ends at a sentence's end, after :data:`MAX_CUE_WORDS` words, or before a word
that would stretch it past :data:`MAX_CUE_S`; its text is the input as written from
its first word to its last (punctuation kept), or the words alone where markup
(SSML) lies between them.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyvox.contract.types import TranscriptSegment
from polyvox.gateway.transcript_formats import srt, vtt
from polyvox.gateway.word_timeline import SpokenWord

MAX_CUE_WORDS = 8
MAX_CUE_S = 4.0
_SENTENCE_END = (".", "!", "?", "。", "！", "？")  # noqa: RUF001 - the CJK full stops


def cues(words: Sequence[SpokenWord], original: str) -> list[TranscriptSegment]:
    groups: list[list[SpokenWord]] = []
    for word in words:
        group = groups[-1] if groups else None
        if (
            group is None
            or len(group) >= MAX_CUE_WORDS
            or word.end_s - group[0].start_s > MAX_CUE_S
            or _ends_sentence(original, group[-1])
        ):
            groups.append([word])
        else:
            group.append(word)
    return [
        TranscriptSegment(id=index, start_s=group[0].start_s, end_s=group[-1].end_s,
                          text=_text(group, original))
        for index, group in enumerate(groups)
    ]  # fmt: skip


def _ends_sentence(original: str, word: SpokenWord) -> bool:
    after = original[word.source_end : word.source_end + 2].strip()
    return after.startswith(_SENTENCE_END)


def _text(group: list[SpokenWord], original: str) -> str:
    end = group[-1].source_end
    while end < len(original) and original[end] in ".,;:!?\"')]…。、！？":  # noqa: RUF001
        end += 1
    written = original[group[0].source_start : end]
    if "<" in written or ">" in written:
        return " ".join(word.word for word in group)
    return " ".join(written.split())


def captions(words: Sequence[SpokenWord], original: str) -> tuple[str, str]:
    """SRT and WebVTT for ``words``."""
    segments = cues(words, original)
    return srt(segments), vtt(segments)
