"""Log lines: JSON fields, request context, text suffixes."""

from __future__ import annotations

import json
import logging

import pytest

from polyvox.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    bind_context,
    current_request_id,
    reset_context,
    set_model,
)


def record(message: str = "hello %s", *args: object, **extra: str) -> logging.LogRecord:
    item = logging.LogRecord("polyvox.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(item, key, value)
    return item


def test_json_line_has_the_fields_and_the_context() -> None:
    token = bind_context(request_id="req-1")
    try:
        set_model("piper/joe")
        item = record("hello %s", "world")
        ContextFilter({"worker_id": "piper-0", "engine": "piper"}).filter(item)
        line = json.loads(JsonFormatter().format(item))
    finally:
        reset_context(token)
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "polyvox.test"
    assert line["time"].endswith("+00:00")
    assert line["request_id"] == "req-1"
    assert line["model"] == "piper/joe"
    assert (line["worker_id"], line["engine"]) == ("piper-0", "piper")
    assert current_request_id() is None


def test_fields_a_record_carries_win_over_the_context() -> None:
    """A worker line relayed by the gateway keeps the worker's request id."""
    token = bind_context(request_id="gateway-side")
    try:
        item = record(request_id="worker-side")
        ContextFilter().filter(item)
    finally:
        reset_context(token)
    assert json.loads(JsonFormatter().format(item))["request_id"] == "worker-side"


def test_json_line_is_one_ascii_line_with_the_exception() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        item = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "odd \ud800 text\n", None, __import__("sys").exc_info()
        )
    text = JsonFormatter().format(item)
    assert "\n" not in text
    assert text.isascii()
    assert "ValueError: bad" in json.loads(text)["exception"]


def test_text_lines_show_the_context_after_the_message() -> None:
    formatter = TextFormatter("polyvox", hidden=frozenset({"worker_id"}))
    plain = formatter.format(record("plain"))
    tagged = formatter.format(record("tagged", request_id="r1", worker_id="w", engine="piper"))
    assert plain.endswith("polyvox.test: plain")
    assert tagged.endswith("polyvox.test: tagged [request_id=r1 engine=piper]")


@pytest.mark.parametrize("bound", [False, True])
def test_set_model_outside_a_request_is_harmless(bound: bool) -> None:
    token = bind_context(request_id="r") if bound else None
    set_model("m")
    if token is not None:
        reset_context(token)
