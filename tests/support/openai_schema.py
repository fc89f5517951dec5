"""Walk the OpenAI SDK's realtime types and our models into comparable field paths.

A path names one key of a message: ``session.update:session<realtime>.audio.input
.format<audio/pcm>.rate``. A union member is labelled by its ``type`` (and a
message's ``role``), so each member is compared with its own counterpart; a list
item is ``[]``. Both walks stop at fields that take any JSON (our ignored fields,
a tool's ``parameters``): everything below them is accepted.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, JsonValue
from typing_extensions import is_typeddict

_WRAPPERS = {typing.Required, typing.NotRequired, typing.Annotated, typing.ClassVar}


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) in _WRAPPERS:
        tp = get_args(tp)[0]
    return tp


def _literal_values(tp: Any) -> tuple[Any, ...]:
    tp = _unwrap(tp)
    if get_origin(tp) is Literal:
        return get_args(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(v for arg in get_args(tp) for v in _literal_values(arg))
    return ()


def _fields(tp: Any) -> dict[str, Any] | None:
    """A model's or TypedDict's keys and their types; ``None`` for anything else."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: info.annotation for name, info in tp.model_fields.items()}
    if is_typeddict(tp):
        return typing.get_type_hints(tp, include_extras=True)
    return None


def label(fields: dict[str, Any]) -> str:
    """``<type>`` or ``<message:role>`` of a union member; empty without a single type."""
    kinds = _literal_values(fields.get("type"))
    if len(kinds) != 1:
        return ""
    roles = _literal_values(fields.get("role"))
    return (
        f"<{kinds[0]}:{roles[0]}>" if kinds[0] == "message" and len(roles) == 1 else f"<{kinds[0]}>"
    )


def _is_list(origin: Any) -> bool:
    return origin in (list, tuple) or getattr(origin, "__name__", "") in {
        "Iterable",
        "Sequence",
        "SequenceNotStr",
    }


class Walk:
    """Collects ``paths`` (every key) and ``open`` (keys whose value may be any JSON)."""

    def __init__(self, skip_types: Iterable[str] = ()) -> None:
        self.paths: set[str] = set()
        self.open: set[str] = set()
        self._skip = set(skip_types)
        self._seen: set[tuple[Any, str]] = set()

    def value(self, tp: Any, path: str) -> None:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if tp is JsonValue or tp is object or tp is Any or origin is dict:
            self.open.add(path)
            return
        if origin in (Union, types.UnionType):
            members = [_unwrap(arg) for arg in get_args(tp)]
            members = [m for m in members if not self._skipped(m)]
            objects = [m for m in members if _fields(m) is not None]
            for member in members:
                fields = _fields(member)
                if fields is None:
                    self.value(member, path)
                else:
                    self.object(member, path + (label(fields) if len(objects) > 1 else ""))
            return
        if _is_list(origin):
            for arg in get_args(tp):
                self.value(arg, f"{path}[]")
            return
        if _fields(tp) is not None:
            self.object(tp, path)

    def _skipped(self, tp: Any) -> bool:
        fields = _fields(tp)
        return fields is not None and any(
            v in self._skip for v in _literal_values(fields.get("type"))
        )

    def object(self, tp: Any, path: str) -> None:
        if (tp, path) in self._seen:
            return
        self._seen.add((tp, path))
        for name, annotation in (_fields(tp) or {}).items():
            child = f"{path}{name}" if path.endswith(":") else f"{path}.{name}"
            self.paths.add(child)
            self.value(annotation, child)

    def event(self, tp: Any) -> None:
        """One client event type: its paths are prefixed with ``<event type>:``."""
        (kind,) = _literal_values((_fields(tp) or {})["type"])
        self.object(tp, f"{kind}:")


def under_open(path: str, open_paths: set[str]) -> bool:
    """Whether ``path`` lies below a key that takes any JSON."""
    return any(
        path.startswith(prefix + ".")
        or path.startswith(prefix + "[")
        or path.startswith(prefix + "<")
        for prefix in open_paths
    )


def server_event_models() -> dict[str, type[BaseModel]]:
    """The SDK's ``RealtimeServerEvent`` members by their ``type``."""
    from openai.types.realtime import RealtimeServerEvent

    union = _unwrap(RealtimeServerEvent)
    return {
        _literal_values(member.model_fields["type"].annotation)[0]: member
        for member in get_args(union)
    }


#: Keys OpenAI's server sends in a session object that the event's session model
#: leaves to ``extra`` (they are declared on the SDK's *CreateResponse models).
_SESSION_EXTRAS = {"id", "object", "expires_at"}


def validate_server_event(event: dict[str, Any]) -> BaseModel:
    """Validate a server event against the SDK, more strictly than the SDK does.

    The SDK's models require their required fields but allow any extra key and
    coerce types; here types are strict (a JSON string is not an int) and a key
    the SDK does not declare anywhere in the event is an error.
    """
    from openai.types.realtime import (
        RealtimeServerEvent,
        RealtimeSessionCreateResponse,
        RealtimeTranscriptionSessionCreateResponse,
    )
    from pydantic import TypeAdapter

    model = server_event_models()[event["type"]].model_validate(event, strict=True)
    TypeAdapter(RealtimeServerEvent).validate_python(event)
    extras = sorted(_extras(model, ""))
    if event["type"] in ("session.created", "session.updated"):
        response = (
            RealtimeSessionCreateResponse
            if event["session"]["type"] == "realtime"
            else RealtimeTranscriptionSessionCreateResponse
        )
        response.model_validate(event["session"], strict=True)
        extras = [e for e in extras if e.removeprefix("session.") not in _SESSION_EXTRAS]
    if extras:
        raise AssertionError(f"{event['type']}: keys outside the SDK's schema: {extras}")
    return model


def _extras(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}".lstrip(".")
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extras(item, f"{path}[{index}]")
