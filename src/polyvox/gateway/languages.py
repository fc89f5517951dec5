"""Which language a model is asked for, checked before any audio moves."""

from __future__ import annotations

from polyvox.contract.types import ModelInfo
from polyvox.errors import InvalidArgument

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
