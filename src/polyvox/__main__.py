from __future__ import annotations

from polyvox.cli import app

app()
