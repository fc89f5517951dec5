"""What a Wyoming connection shares with the HTTP routes."""

from __future__ import annotations

from dataclasses import dataclass

from polyvox.config import Settings
from polyvox.gateway.routing import Router
from polyvox.gateway.waiting_line import Lines
from polyvox.text.segment import Segmenters


@dataclass(frozen=True, slots=True)
class Gateway:
    """The gateway's router, segmenters, engine lines and settings."""

    router: Router
    segmenters: Segmenters
    lines: Lines
    settings: Settings
