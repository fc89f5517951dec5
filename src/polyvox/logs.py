"""Logging shared by every polyvox process: text or JSON lines, with request context.

JSON lines carry ``time``, ``level``, ``logger``, ``message`` and, where known,
``request_id``, ``worker_id``, ``engine`` and ``model`` (and ``exception``). The
request context lives in a context variable, so every line logged while a request
is served carries its id without passing it around; a worker binds the id the
gateway sent it, so both sides' lines about one request share it.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

#: Record attributes, besides the standard ones, that reach the output when set.
CONTEXT_FIELDS = ("request_id", "worker_id", "engine", "model")


@dataclass(slots=True)
class LogContext:
    """What is known about the work in progress. Mutable: a route that resolves the
    model later adds it, and code outside it (the metrics middleware) sees it too."""

    request_id: str | None = None
    model: str | None = None


_context: contextvars.ContextVar[LogContext | None] = contextvars.ContextVar(
    "polyvox_log_context", default=None
)


def bind_context(
    *, request_id: str | None = None, model: str | None = None
) -> contextvars.Token[LogContext | None]:
    """Start a context for the current task (and the tasks it creates)."""
    return _context.set(LogContext(request_id=request_id, model=model))


def reset_context(token: contextvars.Token[LogContext | None]) -> None:
    _context.reset(token)


def current_context() -> LogContext | None:
    return _context.get()


def current_request_id() -> str | None:
    context = _context.get()
    return context.request_id if context else None


def set_model(model: str) -> None:
    """Record the model the current request uses (no-op outside a request)."""
    if (context := _context.get()) is not None:
        context.model = model


class ContextFilter(logging.Filter):
    """Add the request context and the process's fixed fields to every record.

    Fields a record already has win: relayed worker lines keep their own ids.
    """

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._fields = dict(fields or {})

    def filter(self, record: logging.LogRecord) -> bool:
        if (context := _context.get()) is not None:
            _set_missing(record, "request_id", context.request_id)
            _set_missing(record, "model", context.model)
        for key, value in self._fields.items():
            _set_missing(record, key, value)
        return True


def _set_missing(record: logging.LogRecord, key: str, value: str | None) -> None:
    if value and not getattr(record, key, None):
        setattr(record, key, value)


def context_fields(record: logging.LogRecord) -> dict[str, str]:
    return {key: str(value) for key in CONTEXT_FIELDS if (value := getattr(record, key, None))}


class JsonFormatter(logging.Formatter):
    """One JSON object per line. ASCII-only, so odd client text never breaks a line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines; the context fields follow the message in brackets."""

    def __init__(self, prefix: str, hidden: frozenset[str] = frozenset()) -> None:
        super().__init__(f"%(asctime)s {prefix} %(levelname)s %(name)s: %(message)s")
        self._hidden = hidden

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in context_fields(record).items() if k not in self._hidden}
        if not fields:
            return line
        suffix = " ".join(f"{key}={value}" for key, value in fields.items())
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{head} [{suffix}]{newline}{rest}"


def configure_logging(
    level: str,
    *,
    log_format: LogFormat = "text",
    prefix: str = "polyvox",
    fields: Mapping[str, str] | None = None,
) -> None:
    """Send every logger's records (uvicorn's included) to stderr in ``log_format``.

    ``fields`` are fixed for the process (a worker's ``worker_id`` and ``engine``);
    text lines show them through ``prefix`` instead of repeating them on every line.
    """
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter(fields))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(prefix, hidden=frozenset(fields or ())))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
