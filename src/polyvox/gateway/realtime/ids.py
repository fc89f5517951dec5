"""Ids in OpenAI's style: a kind prefix, an underscore, random characters."""

from __future__ import annotations

import secrets

#: Characters after the prefix; 20 hex characters are 80 random bits.
_RANDOM_BYTES = 10


def new_id(prefix: str) -> str:
    """``event_3f9a...``, ``item_...``, ``resp_...``, ``sess_...``, ``call_...``, ``conv_...``."""
    return f"{prefix}_{secrets.token_hex(_RANDOM_BYTES)}"


def event_id() -> str:
    return new_id("event")


def item_id() -> str:
    return new_id("item")


def response_id() -> str:
    return new_id("resp")


def call_id() -> str:
    return new_id("call")
