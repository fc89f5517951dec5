from __future__ import annotations

import pytest

from polyvox.text.say_as import expand_say_as


@pytest.mark.parametrize(
    ("interpret_as", "content", "language", "expected"),
    [
        ("cardinal", "1,234", "en", "one thousand, two hundred and thirty-four"),
        ("cardinal", " 42 ", "en-US", "forty-two"),
        ("number", "3.5", "en", "three point five"),
        ("cardinal", "-7", "en", "minus seven"),
        ("cardinal", "12", "ja", "十二"),
        ("cardinal", "12", "de-DE", "zwölf"),
        ("cardinal", "21", "fr", "vingt et un"),
        ("ordinal", "21st", "en", "twenty-first"),
        ("ordinal", "2nd", "en", "second"),
        ("ordinal", "3", "fr-FR", "troisième"),
        ("ordinal", "5.", "de", "fünfte"),
        ("digits", "1203", "en", "one two zero three"),
        ("characters", "abc", "en", "A B C"),
        ("characters", "W3C", "en", "W 3 C"),
        ("spell-out", "IBM", "de", "I B M"),
        (
            "telephone",
            "+1 (555) 123-4567",
            "en",
            "plus one, five five five, one two three, four five six seven",
        ),
        ("telephone", "1-800-FLOWERS", "en", "one, eight zero zero, F L O W E R S"),
        ("telephone", "030 1234", "de", "null drei null, eins zwei drei vier"),
    ],
)
def test_expansions(interpret_as: str, content: str, language: str, expected: str) -> None:
    assert expand_say_as(interpret_as, content, language=language) == expected


@pytest.mark.parametrize(
    ("content", "date_format", "expected"),
    [
        ("2024-01-05", None, "January fifth, twenty twenty-four"),
        ("01/05/2024", "mdy", "January fifth, twenty twenty-four"),
        ("05.01.2024", "dmy", "the fifth of January, twenty twenty-four"),
        ("2024/1/5", "ymd", "January fifth, twenty twenty-four"),
        ("12/25", "md", "December twenty-fifth"),
        ("25-12", "dm", "the twenty-fifth of December"),
        ("1999-12", "ym", "December nineteen ninety-nine"),
        ("3 2005", "my", "March two thousand and five"),
        ("2024", "y", "twenty twenty-four"),
        ("7", "m", "July"),
        ("5", "d", "the fifth"),
        ("29/02/2024", "dmy", "the twenty-ninth of February, twenty twenty-four"),
    ],
)
def test_dates_in_english(content: str, date_format: str | None, expected: str) -> None:
    assert expand_say_as("date", content, language="en", date_format=date_format) == expected


@pytest.mark.parametrize(
    ("interpret_as", "content", "language", "date_format"),
    [
        ("cardinal", "12abc", "en", None),
        ("cardinal", "1" * 40, "en", None),  # past num2words' scale words
        ("cardinal", "", "en", None),
        ("ordinal", "first", "en", None),
        ("digits", "12a", "en", None),
        ("cardinal", "12", "xx", None),  # a language num2words lacks
        ("time", "12:30", "en", None),  # an interpret-as not supported
        ("date", "30/02/2024", "en", "dmy"),  # no such day
        ("date", "13/01/2024", "en", "mdy"),
        ("date", "01/05/2024", "en", None),  # ambiguous without a format
        ("date", "01/05/2024", "en", "dmyx"),
        ("date", "01/05", "en", "dmy"),  # parts and format disagree
        ("date", "Jan 5", "en", "md"),
        ("date", "2024-01-05", "de", None),  # month names only in English
        ("telephone", "call me", "en", None),
    ],
)
def test_what_cannot_be_expanded_is_spoken_as_written(
    interpret_as: str, content: str, language: str, date_format: str | None
) -> None:
    assert expand_say_as(interpret_as, content, language=language, date_format=date_format) is None
