"""SSML input as a flat sequence of typed pieces the gateway segments and sends.

Input that starts with ``<speak`` (:func:`is_ssml`) is parsed by defusedxml's
hardened parser: a DTD (hence any entity declaration, the billion laughs, an
external entity or ``file://`` reference) is refused before anything is expanded.
Malformed or hostile markup, an invalid ``<break>`` time or strength or an invalid
``<prosody>`` rate is an :class:`SsmlError` (the gateway answers 400).

Elements (the SSML namespace is optional):

- ``<speak>`` (the root), ``<p>``/``<paragraph>``, ``<s>``/``<sentence>``: a
  :class:`Boundary` where they start and end; a paragraph adds
  :data:`PARAGRAPH_PAUSE_S` of silence, a sentence nothing beyond the engine's own
  pause at a sentence end. Boundaries in a row count once (the stronger), and none
  stands at the start or the end.
- ``<break time="500ms"/>`` (``s`` or ``ms``, at most :data:`MAX_BREAK_S`) or
  ``strength`` (:data:`BREAK_STRENGTH_S`; neither means ``medium``): a :class:`Break`.
- ``<prosody rate>``: ``x-slow``..``x-fast`` (:data:`RATE_LABELS`), ``N%`` of the
  voice's normal rate, ``+N%``/``-N%`` relative to the enclosing rate, or a plain
  multiplier, clamped to [:data:`MIN_RATE`, :data:`MAX_RATE`]. ``pitch``, ``volume``,
  ``range``, ``contour`` and ``duration`` are accepted and ignored.
- ``<say-as interpret-as>``: expanded by :mod:`polyvox.text.say_as`.
- ``<sub alias>``: the alias is spoken.
- ``<voice name>``: the pieces inside carry that voice (a switch within the engine
  serving the request); other attributes are ignored.
- ``xml:lang`` on any element (``<lang>`` too): the pieces inside carry that language.
- ``<phoneme ph alphabet>``: a :class:`PhonemeRun`, its text the fallback for engines
  that take no phonemes.
- ``<emphasis>``, ``<audio>`` (its fallback content), ``<mark>`` and every unknown
  element: their content is spoken as plain text. Inside ``<say-as>``, ``<sub>`` and
  ``<phoneme>``, which hold text only, nested markup counts only for its text.

Every text run records where its text came from in the ORIGINAL input
(:attr:`TextRun.spans`, :meth:`TextRun.source_range`), so word timings can point
back at the words the client wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from polyvox.errors import InvalidArgument
from polyvox.text.say_as import expand_say_as
from polyvox.text.ssml_pieces import (
    Boundary,
    Break,
    PhonemeRun,
    Piece,
    Span,
    TextRun,
    shift,
    silence_samples,
    tidy,
)

__all__ = [
    "Boundary",
    "Break",
    "PhonemeRun",
    "Piece",
    "Span",
    "SsmlError",
    "TextRun",
    "is_ssml",
    "parse_ssml",
    "silence_samples",
]

#: Seconds of silence for each ``<break strength>`` (SSML leaves the lengths to the
#: processor; these are added to whatever pause the engine makes itself).
BREAK_STRENGTH_S: dict[str, float] = {
    "none": 0.0,
    "x-weak": 0.1,
    "weak": 0.2,
    "medium": 0.4,
    "strong": 0.7,
    "x-strong": 1.0,
}
#: Longest ``<break>``; a longer one is an error, not minutes of silence.
MAX_BREAK_S = 10.0
#: Silence added at a paragraph boundary; a sentence boundary adds none.
PARAGRAPH_PAUSE_S = BREAK_STRENGTH_S["medium"]
#: ``<prosody rate>`` labels, as multipliers of the voice's normal rate.
RATE_LABELS: dict[str, float] = {
    "x-slow": 0.5,
    "slow": 0.75,
    "medium": 1.0,
    "default": 1.0,
    "fast": 1.25,
    "x-fast": 1.5,
}
#: The range rates are clamped to (the speech API's ``speed`` range).
MIN_RATE, MAX_RATE = 0.25, 4.0

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: ``<speak``, after an XML declaration perhaps; a ``<!DOCTYPE speak`` counts too, so
#: that it is refused as SSML (400) rather than spoken as text.
_SSML_START = re.compile(
    r"\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<speak[\s>/]|<!DOCTYPE\s+speak[\s>\[])"
)
_TIME = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)\s*", re.I)
_REFERENCE = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|[^\W\d][\w.-]*);")
_RATE = re.compile(r"\s*([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*")
#: Elements that hold text only: their content is captured, then spoken as one piece.
_TEXT_ONLY = frozenset({"say-as", "sub", "phoneme"})
_BOUNDARIES = {"p": "paragraph", "paragraph": "paragraph", "s": "sentence", "sentence": "sentence"}


class SsmlError(InvalidArgument):
    """Malformed, hostile or invalid SSML; the message says what and where."""

    reason = "invalid_ssml"


def is_ssml(text: str) -> bool:
    """Whether ``text`` is SSML: it starts with ``<speak`` (after an XML declaration),
    or with a ``<!DOCTYPE speak``, which :func:`parse_ssml` refuses."""
    return _SSML_START.match(text) is not None


def parse_ssml(text: str, *, language: str = "en") -> list[Piece]:
    """The pieces of the SSML document ``text``, in order (module doc).

    ``language`` (the voice's) is what ``<say-as>`` expands numbers in where no
    ``xml:lang`` says otherwise. Raises :class:`SsmlError`.
    """
    begin = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    builder = _Builder(text, begin, language)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    # Deliver text in pieces split at each entity reference and line end, so every
    # piece can be mapped back to the input (ElementTree joins them by default).
    parser.parser.buffer_text = False
    builder.position = lambda: parser.parser.CurrentByteIndex
    try:
        parser.feed(text[begin:])
        parser.close()
    except DTDForbidden:
        raise SsmlError("SSML may not contain a document type declaration (<!DOCTYPE>)") from None
    except EntitiesForbidden:  # unreachable while DTDs are refused; kept as a second wall
        raise SsmlError("SSML may not declare entities") from None
    except DefusedXmlException:
        raise SsmlError("SSML may not refer to external entities") from None
    except ParseError as exc:
        raise SsmlError(f"malformed SSML: {exc}") from None
    except UnicodeEncodeError:
        raise SsmlError("SSML contains characters that are not valid Unicode") from None
    return tidy(builder.pieces)


@dataclass(frozen=True, slots=True)
class _Scope:
    voice: str | None
    rate: float
    language: str | None
    #: Language for ``<say-as>``: ``language`` or the voice's.
    say_as_language: str


@dataclass
class _Capture:
    """Text gathered inside a text-only element."""

    tag: str
    attrib: dict[str, str]
    scope: _Scope
    tag_start: int
    tag_end: int = -1
    #: Elements open inside it (their markup counts only for its text).
    depth: int = 0
    text: str = ""
    spans: list[Span] = field(default_factory=list)

    def source(self) -> tuple[int, int]:
        if self.spans:
            return self.spans[0].source_start, self.spans[-1].source_end
        return self.tag_start, self.tag_end


class _Builder:
    """ElementTree parser target: turns start/data/end events into pieces."""

    def __init__(self, text: str, begin: int, language: str) -> None:
        self.text = text
        self.pieces: list[Piece] = []
        self.position: Callable[[], int] = lambda: 0
        self._chars = _ByteToChar(text, begin)
        self._scopes = [_Scope(None, 1.0, None, language)]
        self._capture: _Capture | None = None
        #: Open <break> elements: where each starts and its attributes.
        self._breaks: list[tuple[int, dict[str, str]]] = []
        self._root_seen = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = _local(tag)
        at = self._chars(self.position())
        if not self._root_seen:
            self._root_seen = True
            if name != "speak":
                raise SsmlError(f"the root element of SSML must be <speak>, not <{name}>")
        if self._capture is not None:
            self._capture.depth += 1
            return
        scope = self._scope_for(name, attrib)
        self._scopes.append(scope)
        if name in _TEXT_ONLY:
            self._capture = _Capture(name, attrib, scope, at)
        elif name in _BOUNDARIES:
            self.pieces.append(_boundary(_BOUNDARIES[name]))
        elif name == "break":
            self._breaks.append((at, attrib))

    def end(self, tag: str) -> None:
        name = _local(tag)
        at = self._chars(self.position())
        capture = self._capture
        if capture is not None and capture.depth > 0:
            capture.depth -= 1
            return
        self._scopes.pop()
        if capture is not None:
            capture.tag_end = at
            self._capture = None
            self.pieces.append(_captured(capture))
        elif name in _BOUNDARIES:
            self.pieces.append(_boundary(_BOUNDARIES[name]))
        elif name == "break":
            start, attrib = self._breaks.pop()
            self.pieces.append(Break(_break_seconds(attrib), start, at))

    def data(self, chunk: str) -> None:
        start = self._chars(self.position())
        span = Span(0, len(chunk), start, _source_end(self.text, start, chunk))
        if self._capture is not None:
            capture = self._capture
            capture.spans.append(shift(span, len(capture.text)))
            capture.text += chunk
            return
        scope = self._scopes[-1]
        self.pieces.append(TextRun(chunk, scope.voice, scope.rate, scope.language, (span,)))

    def close(self) -> None:
        return None

    def _scope_for(self, name: str, attrib: dict[str, str]) -> _Scope:
        scope = self._scopes[-1]
        if (language := attrib.get(_XML_LANG)) is not None:
            scope = replace(scope, language=language, say_as_language=language)
        if name == "voice" and (voice := attrib.get("name", "").strip()):
            scope = replace(scope, voice=voice)
        if name == "prosody" and "rate" in attrib:
            scope = replace(scope, rate=_rate(attrib["rate"], scope.rate))
        return scope


def _local(tag: str) -> str:
    """``{namespace}speak`` → ``speak``."""
    return tag.rpartition("}")[2]


def _boundary(kind: str) -> Boundary:
    if kind == "paragraph":
        return Boundary("paragraph", PARAGRAPH_PAUSE_S)
    return Boundary("sentence", 0.0)


def _break_seconds(attrib: dict[str, str]) -> float:
    if (time := attrib.get("time")) is not None:
        match = _TIME.fullmatch(time)
        if match is None:
            raise SsmlError(f"<break time={time!r}>: write a time such as '500ms' or '1.5s'")
        seconds = float(match[1]) / (1000 if match[2].lower() == "ms" else 1)
        if seconds > MAX_BREAK_S:
            raise SsmlError(f"<break time={time!r}> is longer than {MAX_BREAK_S:g} s")
        return seconds
    strength = attrib.get("strength", "medium").strip()
    if strength not in BREAK_STRENGTH_S:
        raise SsmlError(f"<break strength={strength!r}>: use one of {', '.join(BREAK_STRENGTH_S)}")
    return BREAK_STRENGTH_S[strength]


def _rate(value: str, enclosing: float) -> float:
    label = value.strip().lower()
    if label in RATE_LABELS:
        rate = RATE_LABELS[label]
    elif (match := _RATE.fullmatch(value)) is not None:
        sign, number, percent = match[1], float(match[2]), match[3]
        if sign:
            change = number / 100 if percent else number
            rate = enclosing * (1 + change if sign == "+" else 1 - change)
        else:
            rate = number / 100 if percent else number
    else:
        raise SsmlError(
            f"<prosody rate={value!r}>: use x-slow, slow, medium, fast, x-fast, "
            "a percentage such as '80%' or '+20%', or a multiplier such as '1.5'"
        )
    if rate <= 0:
        raise SsmlError(f"<prosody rate={value!r}> leaves no speech")
    return min(max(rate, MIN_RATE), MAX_RATE)


def _captured(capture: _Capture) -> Piece:
    """The piece a text-only element stands for."""
    scope, attrib = capture.scope, capture.attrib
    source_start, source_end = capture.source()
    spoken: str | None = None
    if capture.tag == "sub":
        spoken = attrib.get("alias")
    elif capture.tag == "say-as":
        spoken = expand_say_as(
            attrib.get("interpret-as", ""),
            capture.text,
            language=scope.say_as_language,
            date_format=attrib.get("format"),
        )
    elif capture.tag == "phoneme" and attrib.get("ph", "").strip():
        return PhonemeRun(
            attrib["ph"].strip(),
            attrib.get("alphabet", "ipa").strip(),
            capture.text.strip(),
            scope.voice,
            scope.rate,
            scope.language,
            source_start,
            source_end,
        )
    if spoken is None:  # spoken as written
        spans = tuple(capture.spans or (Span(0, 0, source_start, source_end),))
        return TextRun(capture.text, scope.voice, scope.rate, scope.language, spans)
    span = Span(0, len(spoken), source_start, source_end)
    return TextRun(spoken, scope.voice, scope.rate, scope.language, (span,))


class _ByteToChar:
    """Expat reports UTF-8 byte offsets into what it was fed; pieces need character
    offsets into the whole input."""

    def __init__(self, text: str, begin: int) -> None:
        self._begin = begin
        self._ascii = text[begin:].isascii()
        self._index: dict[int, int] = {}
        if not self._ascii:
            position = 0
            for index, char in enumerate(text[begin:]):
                self._index[position] = index
                position += len(char.encode("utf-8", "surrogatepass"))
            self._index[position] = len(text) - begin

    def __call__(self, byte_offset: int) -> int:
        return self._begin + (byte_offset if self._ascii else self._index[byte_offset])


def _source_end(text: str, start: int, chunk: str) -> int:
    """Where the input text that expat delivered as ``chunk`` at ``start`` ends."""
    reference = _REFERENCE.match(text, start)
    if reference is not None and len(chunk) == 1:  # "&amp;", "&#33;" (not "&" in CDATA)
        return reference.end()
    if text.startswith(chunk, start):
        return start + len(chunk)
    if text.startswith("\r\n", start):  # a line end, normalized to "\n"
        return start + 2
    return start + len(chunk)
