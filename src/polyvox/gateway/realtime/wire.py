"""The base of every model of a client message, and the fields accepted but not honoured.

OpenAI's schema has fields Polyvox cannot honour (noise reduction, tracing, MCP
servers...). Real clients send them, so they are accepted, then reported: a field
annotated with :class:`Ignored` is kept as raw JSON and never looked at, and
:func:`ignored_fields` lists the ones a message carried so the session can log
them. Anything outside the schema is refused (``extra="forbid"``).

Unions of models are discriminated by a callable that returns the discriminating
value with an ``@`` in front (:func:`type_tag`): pydantic puts that tag into an
error's location, and the ``@`` lets :func:`error_path` drop it again, even where
the tag's text is also a key of the message (a chat-completions style tool has
``"type": "function"`` *and* a ``"function"`` key). A client's own key that starts
with ``@`` is outside the schema anyway; its error names the object holding it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

TAG_PREFIX = "@"


class WireModel(BaseModel):
    """A client message or a part of one: unknown fields are errors."""

    # strict: a JSON string is not an integer, nor 1 a boolean, as in OpenAI's API.
    model_config = ConfigDict(extra="forbid", strict=True)


class Ignored:
    """``Annotated`` marker: a field of OpenAI's schema that Polyvox accepts and ignores."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Ignored({self.reason!r})"


@dataclass(frozen=True)
class IgnoredField:
    """One accepted-but-ignored field a message carried: where, and why it is ignored."""

    path: str
    reason: str


def type_tag(
    key: str = "type", *, default: str | None = None, text: str | None = None
) -> Callable[[Any], str | None]:
    """A discriminator returning ``"@" + value[key]``.

    ``default`` stands in when the key is missing (where OpenAI's schema makes the
    ``type`` optional); ``text`` is the tag of a plain string, for unions of a
    string and objects (a voice name or ``{"id": ...}``).
    """

    def tag(value: Any) -> str | None:
        if isinstance(value, str):
            return None if text is None else f"{TAG_PREFIX}{text}"
        found = value.get(key, default) if isinstance(value, dict) else getattr(value, key, None)
        return None if found is None else f"{TAG_PREFIX}{found}"

    return tag


def error_path(loc: Sequence[str | int]) -> str:
    """``session.tools[0].name`` from a pydantic error location, without union tags."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif not part.startswith(TAG_PREFIX):
            parts.append(f".{part}" if parts else part)
    return "".join(parts)


def ignored_fields(model: BaseModel, path: str = "") -> list[IgnoredField]:
    """The fields marked :class:`Ignored` that ``model`` (and what it holds) carried."""
    return list(_ignored(model, path))


def _ignored(value: Any, path: str) -> Iterator[IgnoredField]:
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for name, info in fields.items():
            if name not in value.model_fields_set:
                continue
            child = f"{path}.{name}" if path else name
            marker = next((m for m in info.metadata if isinstance(m, Ignored)), None)
            if marker is not None:
                yield IgnoredField(child, marker.reason)
            else:
                yield from _ignored(getattr(value, name), child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _ignored(item, f"{path}[{index}]")


def ignored_schema(model: type[BaseModel], path: str = "") -> dict[str, str]:
    """Every :class:`Ignored` field reachable from ``model``: path → reason (for the docs)."""
    found: dict[str, str] = {}
    _ignored_schema(model, path, found, set())
    return found


def _ignored_schema(tp: Any, path: str, found: dict[str, str], seen: set[Any]) -> None:
    origin = get_origin(tp)
    if origin is Annotated:
        _ignored_schema(get_args(tp)[0], path, found, seen)
    elif origin in (list, tuple):
        for arg in get_args(tp):
            _ignored_schema(arg, f"{path}[]", found, seen)
    elif origin in (Union, UnionType):
        for arg in get_args(tp):
            _ignored_schema(arg, path, found, seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel) and (tp, path) not in seen:
        seen.add((tp, path))
        for name, info in tp.model_fields.items():
            child = f"{path}.{name}" if path else name
            marker = next((m for m in info.metadata if isinstance(m, Ignored)), None)
            if marker is not None:
                found[child] = marker.reason
            else:
                _ignored_schema(info.annotation, child, found, seen)


def _b64decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # pydantic's own bytes validation reports the wrong type
    try:
        # validate=True: a stray character is an error, not silently dropped bytes.
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("not valid base64") from None


#: Base64 text on the wire, ``bytes`` in the model.
Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_b64decode),
    PlainSerializer(lambda data: base64.b64encode(data).decode("ascii"), return_type=str),
]
