"""Voice blends: ``"jf_alpha(2)+jm_kumo(1)"`` mixes a model's voices by weight.

A blend is ``+``-separated voice ids, each with an optional positive weight in
parentheses (default 1); weights are normalized to sum to 1. Only models whose
``ModelInfo.voice_blending`` is set accept one. The gateway (before any byte is
sent) and the worker (before the model is acquired) validate with this one module,
so both refuse the same strings with the same message; engines that mix use
:func:`parse_blend` to read the parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from polyvox.contract.types import ModelInfo
from polyvox.errors import InvalidArgument

#: Most voices one blend may mix; more is almost certainly a mistake (or abuse).
MAX_PARTS = 4

#: ``name`` or ``name(weight)``; the weight is checked separately for a clear message.
_PART = re.compile(r"(?P<voice>[^\s()+]+)\s*(?:\((?P<weight>[^()]*)\))?")
#: Plain decimal numbers only: no signs, exponents, "inf" or "nan".
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


@dataclass(frozen=True, slots=True)
class BlendPart:
    voice: str
    #: Weight as given (not normalized); always > 0.
    weight: float


@dataclass(frozen=True, slots=True)
class VoiceBlend:
    parts: tuple[BlendPart, ...]

    def normalized(self) -> list[tuple[str, float]]:
        """Each voice with its share of the mix; the shares sum to 1."""
        total = sum(part.weight for part in self.parts)
        return [(part.voice, part.weight / total) for part in self.parts]

    def __str__(self) -> str:
        return "+".join(f"{part.voice}({part.weight:g})" for part in self.parts)


def is_blend(voice: str) -> bool:
    """Whether ``voice`` uses blend syntax (a plain voice id has no ``+`` or parentheses)."""
    return any(mark in voice for mark in "+()")


def parse_blend(spec: str, *, valid_voices: Sequence[str] | None = None) -> VoiceBlend:
    """Parse ``spec``; with ``valid_voices``, also check every part names one of them.

    Raises :class:`InvalidArgument` naming the problem (and the valid voices).
    """
    pieces = spec.split("+")
    if len(pieces) > MAX_PARTS:
        raise InvalidArgument(
            f"voice blend {spec!r} mixes {len(pieces)} voices; at most {MAX_PARTS} are allowed"
        )
    parts: list[BlendPart] = []
    for piece in pieces:
        match = _PART.fullmatch(piece.strip())
        if match is None:
            raise InvalidArgument(
                f"voice blend {spec!r} has a malformed part {piece.strip()!r}; write voices "
                "as name or name(weight) joined by '+', e.g. 'voice_a(2)+voice_b(1)'"
            )
        voice = match["voice"]
        weight = _weight(spec, voice, match["weight"])
        if valid_voices is not None and voice not in valid_voices:
            raise InvalidArgument(
                f"voice blend {spec!r} names unknown voice {voice!r}; valid voices: "
                f"{', '.join(valid_voices)}"
            )
        if any(part.voice == voice for part in parts):
            raise InvalidArgument(f"voice blend {spec!r} names {voice!r} twice")
        parts.append(BlendPart(voice, weight))
    return VoiceBlend(tuple(parts))


def _weight(spec: str, voice: str, raw: str | None) -> float:
    if raw is None:
        return 1.0
    text = raw.strip()
    if not _NUMBER.fullmatch(text) or (weight := float(text)) <= 0:
        raise InvalidArgument(
            f"voice blend {spec!r}: the weight of {voice!r} must be a positive number, got {text!r}"
        )
    return weight


def resolve_blend(model: ModelInfo, spec: str) -> VoiceBlend:
    """Validate ``spec`` as a blend of ``model``'s voices; a clear 400 when it is not."""
    if not model.voice_blending:
        raise InvalidArgument(
            f"model {model.id!r} does not blend voices ({spec!r}); use one of its voices: "
            f"{', '.join(model.voice_ids())}"
        )
    return parse_blend(spec, valid_voices=model.voice_ids())
