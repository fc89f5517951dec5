"""Find engine classes through the ``polyvox.engines`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from polyvox.engines.base import Engine
from polyvox.errors import NotFound

ENTRY_POINT_GROUP = "polyvox.engines"


def available_engines() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def engine_class(name: str) -> type[Engine]:
    """Return the engine class registered under ``name``."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Engine)):
            raise TypeError(f"entry point {ep.value!r} is not a polyvox Engine")
        return cls
    raise NotFound(f"unknown engine {name!r}; installed engines: {', '.join(available_engines())}")
