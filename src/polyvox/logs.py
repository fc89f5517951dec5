"""Logging setup shared by every polyvox process."""

from __future__ import annotations

import logging


def configure_logging(level: str, *, prefix: str = "polyvox") -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s {prefix} %(levelname)s %(name)s: %(message)s",
    )
