"""Polyvox: a self-hosted speech server in front of many engines."""

from __future__ import annotations

__version__ = "0.1.0"
