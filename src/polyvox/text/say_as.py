"""SSML ``<say-as>``: numbers, dates, telephone numbers and spelled-out characters as
the words an engine should speak.

Numbers become words through num2words in the language in scope (``xml:lang``, else
the voice's): ``cardinal`` (also ``number``), ``ordinal`` ("21st" → "twenty-first"),
``digits`` (one by one) and ``telephone`` (digit by digit, groups as written).
``characters`` (also ``spell-out``, ``letters``, ``verbatim``) spells the content
letter by letter. ``date`` takes a ``format`` of ``y``, ``m`` and ``d`` (``mdy``,
``dmy``, ``ymd``, ``md``, ``dm``, ``ym``, ``my``, ``y``, ``m``, ``d``; without one, an ISO
``2024-01-05``) and is expanded in English only, where the month names are known.

Anything that cannot be expanded (an unknown ``interpret-as``, content that is not
a number or a valid date, a language num2words lacks) is spoken as written: the
engine's own front end reads it then, as it would without the tag.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from num2words import CONVERTER_CLASSES, num2words

#: Longest number expanded (num2words runs out of scale words past ~10^30).
MAX_DIGITS = 30

_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_ORDINAL = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\s*(?:st|nd|rd|th|\.|º|ª|er|e|te|ten)?", re.I)
_DATE_PART = re.compile(r"[-/.\s]+")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_PHONE_GROUP = re.compile(r"[\s\-().\/]+")
_SPELL = frozenset({"characters", "spell-out", "letters", "verbatim"})


def expand_say_as(
    interpret_as: str, content: str, *, language: str, date_format: str | None = None
) -> str | None:
    """The words to speak for ``content`` read as ``interpret_as``; ``None`` when it
    cannot be expanded (then the content is spoken as written)."""
    kind = interpret_as.strip().lower()
    text = content.strip()
    if not text:
        return None
    if kind in _SPELL:
        return " ".join(char.upper() for char in text if not char.isspace())
    lang = _num2words_language(language)
    if lang is None:
        return None
    if kind in ("cardinal", "number"):
        return _cardinal(text, lang)
    if kind == "ordinal":
        match = _ORDINAL.fullmatch(text)
        return _words(match[1].replace(",", ""), lang, to="ordinal") if match else None
    if kind == "digits":
        return _digits(text, lang) if text.isdigit() else None
    if kind in ("telephone", "phone"):
        return _telephone(text, lang)
    if kind == "date":
        return _date(text, date_format, lang)
    return None


def _num2words_language(language: str) -> str | None:
    """num2words' name for a BCP 47 tag ("en-IN" → "en_IN", "en-US" → "en")."""
    parts = language.replace("_", "-").split("-")
    for candidate in (f"{parts[0].lower()}_{parts[1].upper()}" if len(parts) > 1 else "", parts[0]):
        if candidate in CONVERTER_CLASSES:
            return candidate
    return None


def _words(number: str, lang: str, *, to: str = "cardinal") -> str | None:
    if sum(char.isdigit() for char in number) > MAX_DIGITS:
        return None
    try:
        value = Decimal(number)
        return str(num2words(int(value) if to != "cardinal" else value, lang=lang, to=to))
    except (InvalidOperation, NotImplementedError, OverflowError, ValueError, TypeError):
        return None


def _cardinal(text: str, lang: str) -> str | None:
    if not _NUMBER.fullmatch(text):
        return None
    return _words(text.replace(",", ""), lang)


def _digits(digits: str, lang: str) -> str | None:
    spoken = [_words(digit, lang) for digit in digits if digit.isdigit()]
    return None if None in spoken else " ".join(str(word) for word in spoken)


def _telephone(text: str, lang: str) -> str | None:
    groups = [group for group in _PHONE_GROUP.split(text.lstrip("+")) if group]
    if not groups or not any(char.isdigit() for char in text):
        return None
    spoken = []
    for group in groups:
        if group.isdigit():
            words = _digits(group, lang)
        else:
            words = " ".join(char.upper() for char in group)
        if words is None:
            return None
        spoken.append(words)
    plus = "plus " if text.startswith("+") and lang.startswith("en") else ""
    return plus + ", ".join(spoken)


def _date(text: str, date_format: str | None, lang: str) -> str | None:
    if not lang.startswith("en"):
        return None
    order = (date_format or "").strip().lower()
    if not order:
        if not _ISO_DATE.fullmatch(text):
            return None
        order = "ymd"
    parts = [part for part in _DATE_PART.split(text) if part]
    if len(order) != len(parts) or set(order) - set("ymd") or len(set(order)) != len(order):
        return None
    if not all(part.isdigit() for part in parts):
        return None
    values = dict(zip(order, (int(part) for part in parts), strict=True))
    try:
        # A real date (no 30 February); 2000 stands in for a missing (leap) year.
        datetime.date(values.get("y", 2000), values.get("m", 1), values.get("d", 1))
    except ValueError:
        return None
    return _english_date(order, values, lang)


def _english_date(order: str, values: dict[str, int], lang: str) -> str | None:
    month = _MONTHS[values["m"] - 1] if "m" in values else None
    day = _words(str(values["d"]), lang, to="ordinal") if "d" in values else None
    year = _words(str(values["y"]), lang, to="year") if "y" in values else None
    if month and day:
        words = f"the {day} of {month}" if order.index("d") < order.index("m") else f"{month} {day}"
    else:
        words = month or day or ""
        if day and not month:
            words = f"the {day}"
    if year:
        words = f"{words}, {year}" if month and day else f"{words} {year}".strip()
    return words or None
