"""``describe`` → ``info``: every engine the gateway serves as a Wyoming program; and
the voice a ``synthesize`` asks for, by name or by language.

Each text-to-speech engine is a :class:`~wyoming.info.TtsProgram` with its voices. A
voice is named as Piper users know it: a model with one voice by the model
(``en_US-joe-medium``), other voices by their id (``jf_alpha``, ``en-us``), prefixed
with their model where two models of one engine share a voice id. Each
speech-to-text engine is an :class:`~wyoming.info.AsrProgram` with its models.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wyoming.info import AsrModel, AsrProgram, Attribution, Info, TtsProgram, TtsVoice

import polyvox
from polyvox.contract.types import Capability, ModelInfo
from polyvox.errors import InvalidArgument
from polyvox.gateway.routing import Router
from polyvox.text.languages import match_language
from polyvox.text.scripts import InvalidLanguage

_ATTRIBUTION = Attribution(name="Polyvox", url="https://github.com/polyvox")


@dataclass(frozen=True, slots=True)
class NamedVoice:
    """A voice as Wyoming names it, and what the router calls it."""

    name: str
    native_id: str
    voice: str
    languages: tuple[str, ...]


def tts_voices(router: Router) -> Iterator[tuple[str, str, NamedVoice]]:
    """(engine, engine version, voice) for every text-to-speech voice served, the
    default model's first."""
    catalog = router.catalog()
    default = router.native_id("tts-1")
    ordered = sorted(catalog.items(), key=lambda item: (item[0] != default, item[0]))
    counts: dict[tuple[str, str], int] = {}
    for native_id, (model, _) in ordered:
        for voice in model.voices:
            key = (native_id.partition("/")[0], voice.id)
            counts[key] = counts.get(key, 0) + 1
    for native_id, (model, worker) in ordered:
        if model.capability is not Capability.TTS:
            continue
        engine = native_id.partition("/")[0]
        version = worker.description.engine_version if worker.description else ""
        for voice in model.voices:
            if len(model.voices) == 1:
                name = model.id
            elif counts[engine, voice.id] > 1:
                name = f"{model.id}/{voice.id}"
            else:
                name = voice.id
            languages = voice.languages or model.languages
            yield engine, version, NamedVoice(name, native_id, voice.id, languages)


def describe(router: Router) -> Info:
    programs: dict[str, TtsProgram] = {}
    for engine, version, voice in tts_voices(router):
        program = programs.get(engine)
        if program is None:
            program = programs[engine] = TtsProgram(
                name=engine, attribution=_ATTRIBUTION, installed=True,
                description=f"{engine} through Polyvox {polyvox.__version__}",
                version=version or None, voices=[], supports_synthesize_streaming=True,
            )  # fmt: skip
        entry = TtsVoice(
            name=voice.name, attribution=_ATTRIBUTION, installed=True,
            description=f"{voice.voice} ({voice.native_id})", version=version or None,
            languages=list(voice.languages), speakers=None,
        )  # fmt: skip
        program.voices.append(entry)
    return Info(tts=list(programs.values()), asr=list(_asr_programs(router)))


def _asr_programs(router: Router) -> Iterator[AsrProgram]:
    by_engine: dict[str, list[tuple[ModelInfo, str]]] = {}
    for native_id, (model, worker) in sorted(router.catalog().items()):
        if model.capability is Capability.STT:
            version = worker.description.engine_version if worker.description else ""
            by_engine.setdefault(native_id.partition("/")[0], []).append((model, version))
    for engine, models in by_engine.items():
        engine_version = models[0][1] or None
        yield AsrProgram(
            name=engine, attribution=_ATTRIBUTION, installed=True,
            description=f"{engine} through Polyvox {polyvox.__version__}", version=engine_version,
            models=[
                AsrModel(name=model.id, attribution=_ATTRIBUTION, installed=True,
                         description=f"{engine}/{model.id}", version=engine_version,
                         languages=list(model.languages))
                for model, _ in models
            ],
            # Each decoded segment goes out as a transcript-chunk as soon as it exists.
            supports_transcript_streaming=True,
        )  # fmt: skip


def find_voice(router: Router, name: str | None, language: str | None) -> NamedVoice:
    """The voice a synthesize names (its Wyoming name, or a voice id), else the first
    that reads ``language``, else the default model's default voice; a clear
    InvalidArgument when there is none."""
    voices = [voice for _, _, voice in tts_voices(router)]
    if not voices:
        raise InvalidArgument("no text-to-speech voice is served yet")
    if name:
        for voice in voices:
            if name in (voice.name, voice.voice, f"{voice.native_id}/{voice.voice}"):
                return voice
        shown = ", ".join(voice.name for voice in voices[:20])
        raise InvalidArgument(f"no voice named {name!r}; voices: {shown}, ...")
    if language:
        for voice in voices:
            try:
                if match_language(language, voice.languages) is not None:
                    return voice
            except InvalidLanguage as exc:
                raise InvalidArgument(str(exc)) from None
        raise InvalidArgument(f"no voice reads {language!r}", reason="unsupported_language")
    return voices[0]
