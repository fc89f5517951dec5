"""Which languages a model is asked for, and whether a voice can read a text: checked
before any audio moves (a 400 ``unsupported_language`` that names the voices that can,
never 200 with nonsense)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from polyvox.contract.types import ModelInfo, Segment
from polyvox.errors import InvalidArgument
from polyvox.text.languages import LanguageRun, match_language, split_by_language
from polyvox.text.scripts import check_readable
from polyvox.text.segment import Segmenters
from polyvox.voices import is_blend, parse_blend

#: Languages named in an error before "...": Whisper's multilingual models have 99.
_LANGUAGES_SHOWN = 20


def resolve_language(model: ModelInfo, language: str | None) -> str | None:
    """The ISO 639-1 code the model should use, None to detect, or a clear 400.

    OpenAI takes ISO 639-1 ("en"); a BCP 47 tag ("en-US") is accepted too.
    """
    if not language:
        return None
    code = language.strip().lower().partition("-")[0]
    if code in model.languages:
        return code
    shown = ", ".join(model.languages[:_LANGUAGES_SHOWN])
    more = ", ..." if len(model.languages) > _LANGUAGES_SHOWN else ""
    raise InvalidArgument(
        f"model {model.id!r} does not transcribe language {language!r}; "
        f"valid languages: {shown}{more}"
    )


# --- speech: what a voice can read ---------------------------------------------------

#: Voices named per model in a refusal before "...".
_VOICES_SHOWN = 6


def voice_languages(model: ModelInfo, voice: str) -> tuple[str, ...]:
    """The languages ``voice`` reads (a blend: its first voice's); the model's when the
    voice declares none."""
    first = parse_blend(voice).parts[0].voice if is_blend(voice) else voice
    found = next((v for v in model.voices if v.id == first), None)
    return (found.languages if found else ()) or model.languages


def speaking_languages(model: ModelInfo, voice: str, requested: str | None) -> tuple[str, ...]:
    """The languages a request's text may be in: the voice's, or the one of them a
    ``language`` field (BCP 47) picks; a clear 400 when the voice reads no such language."""
    languages = voice_languages(model, voice)
    if not requested:
        return languages
    matched = match_language(requested, languages)
    if matched is None:
        raise InvalidArgument(
            f"voice {voice!r} of {model.id!r} does not read {requested!r}; it reads "
            f"{', '.join(languages)}",
            reason="unsupported_language",
        )
    return (matched,)


def check_speakable(
    text: str, languages: Sequence[str], *, voices: Mapping[tuple[str, str], Sequence[str]]
) -> None:
    """A 400 ``unsupported_language`` when a voice reading ``languages`` cannot read
    ``text``: it names the script found and, of ``voices`` ((model, voice) → the
    languages it reads), those that can."""
    unreadable = check_readable(text, languages)
    if unreadable is None:
        return
    readers: dict[str, list[str]] = {}
    for model, voice in voices:
        if check_readable(text, voices[model, voice]) is None:
            readers.setdefault(model, []).append(voice)
    if readers:
        named = "; ".join(f"{model}: {_shown(names)}" for model, names in readers.items())
        advice = f"voices that read it: {named}"
    else:
        advice = "no voice served here reads it"
    raise InvalidArgument(f"{unreadable.describe()}; {advice}", reason="unsupported_language")


def _shown(names: list[str]) -> str:
    more = ", ..." if len(names) > _VOICES_SHOWN else ""
    return ", ".join(names[:_VOICES_SHOWN]) + more


def language_runs(text: str, languages: Sequence[str]) -> list[LanguageRun]:
    """``text`` cut into runs for each language's front end (one run when the voice
    reads one language)."""
    if len(languages) == 1:
        return [LanguageRun(languages[0], text, 0, len(text))] if text.strip() else []
    return split_by_language(text, languages)


def speech_segments(
    text: str, languages: Sequence[str], segmenters: Segmenters, *, tag_language: bool
) -> list[Segment]:
    """``text`` as the segments a stream is sent: cut by language first (each run with
    its own language's sentence rules), then into segments, the first one short.
    ``tag_language``: each segment says its language (a voice reading several, or one
    the request named), so the engine picks that front end."""
    segments: list[Segment] = []
    for index, run in enumerate(language_runs(text, languages)):
        pieces = segmenters.for_language(run.language).split(run.text, first=index == 0)
        language = run.language if tag_language else None
        segments += [Segment(piece, language) for piece in pieces]
    return segments
