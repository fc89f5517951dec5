from __future__ import annotations

from polyvox.text.buffer import TextBuffer
from polyvox.text.segment import Segmenter

TEXT = (
    "Hello there, my friend, how are you doing today? I am fine. "
    "Dr. Smith will see you at 10:30 today. Bye"
)


def tokens(text: str) -> list[str]:
    """Split like an LLM stream: words with their leading space."""
    words = text.split(" ")
    return [words[0]] + [f" {word}" for word in words[1:]]


def feed(buffer: TextBuffer, pieces: list[str]) -> list[list[str]]:
    released = [segments for piece in pieces if (segments := buffer.push(piece))]
    return [*released, buffer.flush()]


def test_tokens_are_buffered_into_sentences_with_a_short_first_clause() -> None:
    released = feed(TextBuffer(Segmenter()), tokens(TEXT))
    assert released == [
        ["Hello there,"],
        ["my friend, how are you doing today?"],
        ["I am fine."],
        ["Dr. Smith will see you at 10:30 today."],
        ["Bye"],
    ]


def test_character_by_character_gives_the_same_words() -> None:
    released = feed(TextBuffer(Segmenter()), list(TEXT))
    assert " ".join(s for group in released for s in group).split() == TEXT.split()
    assert "Dr." not in [group[-1] for group in released]  # an abbreviation ends no segment


def test_flush_releases_an_unfinished_sentence_and_clear_forgets() -> None:
    buffer = TextBuffer(Segmenter())
    assert buffer.push("no punctuation yet") == []
    assert buffer.flush() == ["no punctuation yet"]
    buffer.push("Half a")
    buffer.clear()
    assert buffer.pending == ""
    assert buffer.flush() == []


class CountingSegmenter(Segmenter):
    calls = 0

    def sentences(self, text: str) -> list[str]:
        CountingSegmenter.calls += 1
        return super().sentences(text)


def test_the_sentence_segmenter_runs_only_when_a_sentence_may_have_ended() -> None:
    CountingSegmenter.calls = 0
    buffer = TextBuffer(CountingSegmenter())
    words = ("word " * 300).split(" ")
    released = [segment for word in words for segment in buffer.push(word + " ")]
    # 300 tokens without a sentence end: the first clause went early, pysbd never ran.
    assert CountingSegmenter.calls == 0
    assert released
    assert not buffer.needs_segmenter("more words")
    assert buffer.needs_segmenter(". Next")
    buffer.push("end. ")
    assert CountingSegmenter.calls == 0  # "end. " could still go on ("Dr. Smith")
    assert buffer.push("Next")  # now a sentence has ended: released
    assert CountingSegmenter.calls > 0


def test_a_boundary_split_across_two_tokens_is_found() -> None:
    buffer = TextBuffer(Segmenter())
    buffer.push("It rained all day and night")
    assert buffer.push(".") == []
    assert buffer.push(" Then") == ["It rained all day and night."]
    assert buffer.pending == "Then"
