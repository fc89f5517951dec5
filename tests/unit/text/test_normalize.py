from __future__ import annotations

from polyvox.text.normalize import clean_text


def test_control_characters_become_spaces_and_layout_stays() -> None:
    assert clean_text("Hello\x00world\x1b!\x7f") == "Hello world ! "
    assert clean_text("line one\nline\ttwo\r\n") == "line one\nline\ttwo\r\n"
    assert clean_text("caf\u00e9 \u65e5\u672c \U0001f600") == "caf\u00e9 \u65e5\u672c \U0001f600"
    assert clean_text("lone \ud800 surrogate") == "lone   surrogate"
