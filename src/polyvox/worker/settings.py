"""Settings of one worker process, built once by the CLI."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_parallel_loads: int = Field(default=1, ge=1)
    #: Run a short inference before a loaded model counts as resident (and ready).
    warmup: bool = True


class WorkerSettings(BaseSettings):
    """Every field can be set as ``POLYVOX_WORKER_<NAME>`` or by a CLI flag."""

    model_config = SettingsConfigDict(
        env_prefix="POLYVOX_WORKER_", env_nested_delimiter="__", extra="forbid"
    )

    engine: str = "piper"
    listen: str = "unix:///tmp/polyvox-worker.sock"
    worker_id: str = ""
    device: str = "cpu"
    #: Engine-specific settings (e.g. Piper's ``voices_dir``).
    options: dict[str, str] = Field(default_factory=dict)
    #: Models loaded (and warmed up) at start; they are pinned: never evicted by TTL or cap.
    preload: list[str] = Field(default_factory=list)
    #: Set as JSON (``POLYVOX_WORKER_LIFECYCLE='{"ttl_s": 60}'``) or per field
    #: (``POLYVOX_WORKER_LIFECYCLE__TTL_S=60``).
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    #: Most Synthesize streams served at once; more get RESOURCE_EXHAUSTED.
    capacity: int = Field(default=16, ge=1)
    #: Inferences run at once, each on cores / inference_threads CPU threads. On the
    #: 2-core reference machine, two single-threaded Piper inferences do a batch of
    #: work 1.11-1.35x faster, but a stream's segments run one after another, so a lone
    #: stream's first audio doubles (99 -> 201 ms) and served throughput at 4 clients
    #: drops (18.7 -> 16.5 audio s/s): one inference on every core wins
    #: (bench/engine_parallelism.py, bench/latency.py, docs/benchmarks.md).
    inference_threads: int = Field(default=1, ge=1)
    #: While another stream on this worker is synthesizing, a segment longer than this
    #: (characters) is synthesized in pieces cut at clauses, then between words. An inference
    #: cannot be pre-empted, so this bounds how long a new stream's first segment
    #: waits behind another stream: ~30 characters is ~120 ms of Piper on 2 cores
    #: (bench/segment_cost.py). Against 40 and 20, 30 gave the lowest first-audio
    #: p95 at 4 clients that did not cost throughput (docs/benchmarks.md). A lone
    #: stream keeps its segments whole, for the most natural prosody. 0: never cut.
    busy_split_chars: int = Field(default=30, ge=0)
    #: When a stream's listener has no audio left (its first audio, or the next after
    #: a pause), the engine is asked for a chunk of about this many milliseconds before
    #: the rest of the segment (engines that can cut an inference, like Piper, do;
    #: others ignore it). 0: whole segments.
    first_chunk_ms: int = Field(default=350, ge=0)
    #: Longest text segment accepted, in characters.
    max_segment_chars: int = Field(default=5000, ge=1)
    #: Stop when the process that started us dies (set by the supervisor), so a
    #: gateway killed hard leaves no orphaned workers behind.
    exit_with_parent: bool = False
    #: Seconds a stopping worker lets running streams finish.
    drain_timeout_s: float = Field(default=10.0, ge=0)
