"""Settings of one worker process: defined once, here.

:class:`WorkerTuning` is what a user tunes per engine; the gateway's config
(``engines.<name>``) extends it with how the engine's workers are provisioned, and
:class:`WorkerSettings` extends it with where one worker listens. The supervisor hands
a worker its settings in one way only, the environment (:func:`worker_environment`),
and a worker started by hand reads the same variables (or CLI flags naming the same
fields): every field travels, so none can be forgotten on the way.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "POLYVOX_WORKER_"


class LifecycleSettings(BaseModel):
    """When a worker loads and evicts models (see worker/models.py)."""

    model_config = {"extra": "forbid"}

    #: Idle seconds before a model is evicted; None keeps models until unloaded.
    ttl_s: float | None = Field(default=300.0, ge=0)
    #: A model is never evicted (by TTL or by the cap) before it was resident this long.
    min_residency_s: float = Field(default=30.0, ge=0)
    #: Seconds between TTL checks.
    evict_check_interval_s: float = Field(default=5.0, gt=0)
    #: Most models resident at once; loading one more evicts the least recently used.
    resident_cap: int = Field(default=4, ge=1)
    #: Loads (and warmups) run at once, each on its own thread.
    max_parallel_loads: int = Field(default=1, ge=1)
    #: Run a short inference before a loaded model counts as resident (and ready).
    warmup: bool = True


class WorkerTuning(BaseModel):
    """How one engine's workers behave; the same fields in config and in a worker."""

    model_config = {"extra": "forbid"}

    device: str = "cpu"
    #: Engine-specific settings (e.g. Piper's ``voices_dir``).
    options: dict[str, str] = Field(default_factory=dict)
    #: Models loaded (and warmed up) at start; they are pinned: never evicted by TTL or cap.
    preload: list[str] = Field(default_factory=list)
    #: Load/evict policy (TTL, min residency, caps, warmup).
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    #: Most streams working at once (synthesizing a segment, or decoding a transcript).
    #: A stream that is open but idle (a quiet WebSocket session) does not count; a new
    #: stream's first turn past this is refused with RESOURCE_EXHAUSTED, a later turn of
    #: an open stream waits for a slot.
    capacity: int = Field(default=16, ge=1)
    #: Most streams open at once, working or idle: voice agents hold one per conversation.
    max_sessions: int = Field(default=4096, ge=1)
    #: Fewer streams work at once than ``capacity`` when the worker's measured speed
    #: cannot keep them all in real time: a new turn is let in only while the streams
    #: working would need at most this share of it (with a real-time factor of 0.07,
    #: 0.8 lets 11 work). None: ``capacity`` alone decides (bench/burst.py measures both).
    max_realtime_load: float | None = Field(default=0.8, gt=0)
    #: Inferences run at once, each on cores / inference_threads CPU threads. On the
    #: 2-core reference machine, one inference on every core wins: two single-threaded
    #: ones double a lone stream's first audio and lower throughput at 4 clients
    #: (bench/engine_parallelism.py, bench/latency.py, docs/benchmarks.md).
    inference_threads: int = Field(default=1, ge=1)
    #: While another stream on this worker is synthesizing, a segment longer than this
    #: (characters) is synthesized in pieces cut at clauses, then between words. An
    #: inference cannot be pre-empted, so this bounds how long a new stream's first
    #: segment waits behind another stream (bench/segment_cost.py; the value was chosen
    #: in docs/benchmarks.md). A lone stream keeps its segments whole. 0: never cut.
    busy_split_chars: int = Field(default=30, ge=0)
    #: When a stream's listener has no audio left (its first audio, or the next after
    #: a pause), the engine is asked for a chunk of about this many milliseconds before
    #: the rest of the segment (engines that can cut an inference, like Piper, do;
    #: others ignore it). 0: whole segments.
    first_chunk_ms: int = Field(default=350, ge=0)
    #: Longest text segment accepted, in characters.
    max_segment_chars: int = Field(default=5000, ge=1)
    #: Seconds a stopping worker lets running streams finish.
    drain_timeout_s: float = Field(default=10.0, ge=0)


class WorkerSettings(BaseSettings, WorkerTuning):
    """Every field can be set as ``POLYVOX_WORKER_<NAME>`` (nested: ``__``) or by a flag."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        # worker_environment writes None as JSON's null.
        env_parse_none_str="null",
    )

    engine: str = "piper"
    listen: str = "unix:///tmp/polyvox-worker.sock"
    worker_id: str = ""
    #: Stop when the process that started us dies (set by the supervisor), so a
    #: gateway killed hard leaves no orphaned workers behind.
    exit_with_parent: bool = False

    @classmethod
    def for_engine(cls, tuning: WorkerTuning, **fields: Any) -> WorkerSettings:
        """A worker's settings from an engine's tuning (a config's ``engines.<name>``)."""
        tuned = {name: getattr(tuning, name) for name in WorkerTuning.model_fields}
        return cls.model_validate({**tuned, **fields})


def worker_environment(settings: WorkerSettings) -> dict[str, str]:
    """``settings`` as the environment variables a worker reads them from.

    Strings go as they are; everything else as JSON, which pydantic-settings parses
    back (nested models, lists and dicts as JSON objects and arrays).
    """
    values = settings.model_dump(mode="json")
    return {
        f"{ENV_PREFIX}{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
