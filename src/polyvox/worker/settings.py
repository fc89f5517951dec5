"""Settings of one worker process: defined once, here.

:class:`WorkerTuning` is what a user tunes per engine; the gateway's config
(``engines.<name>``) extends it with how the engine's workers are provisioned, and
:class:`WorkerSettings` extends it with where one worker listens. The supervisor hands
a worker its settings in one way only, the environment (:func:`worker_environment`),
and a worker started by hand reads the same variables (or CLI flags naming the same
fields): every field travels, so none can be forgotten on the way.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from polyvox.contract.link import LinkCredentials

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
    #: A new stream is let in only while no working stream has a step waiting that is
    #: due within this many milliseconds: a newcomer's first steps are due at once, go
    #: first, and would make that listener run dry. It is held until those steps have
    #: run (half a second at most; then refused, it waits in the gateway's line).
    #: 100 ms is a newcomer's first chunk (~40 ms here) plus a step already running;
    #: it took a burst's streams that stalled from 19 to 0 (bench/burst.py,
    #: docs/benchmarks.md). 0: capacity and the speed bound alone decide.
    newcomer_slack_ms: int = Field(default=100, ge=0)
    #: Inferences run at once, each on cores / inference_threads CPU threads. On the
    #: 2-core reference machine, one inference on every core wins: two single-threaded
    #: ones double a lone stream's first audio and lower throughput at 4 clients
    #: (bench/engine_parallelism.py, bench/latency.py, docs/benchmarks.md).
    inference_threads: int = Field(default=1, ge=1)
    #: While another stream on this worker is synthesizing, a segment longer than this
    #: (characters) is synthesized in pieces cut at clauses, then between words. An
    #: inference cannot be pre-empted, so this bounds how long a new stream's first
    #: segment waits behind another stream (bench/segment_cost.py; the value was chosen
    #: in docs/benchmarks.md). A lone stream keeps its segments whole; while the worker
    #: is turning newcomers away, pieces are only as short as the working listeners'
    #: playback needs (they would only cost throughput). 0: never cut.
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


class Provisioning(BaseModel):
    """Which Python environment an engine's workers run in (see supervisor/environments.py)."""

    model_config = {"extra": "forbid"}

    #: ``isolated``: its own uv environment; ``shared``: the environment of the process
    #: that starts it (the gateway's, or a worker's own).
    env: Literal["isolated", "shared"] = "isolated"
    #: Extra PEP 508 requirements for its environment (e.g. ``numpy<2``).
    requirements: list[str] = Field(default_factory=list)
    #: Python version of its environment; default: the starting process's.
    python: str | None = None


class LinkSettings(BaseModel):
    """How the gateway-worker gRPC link is secured across hosts. The same fields on both
    sides: a worker serves with them, a gateway connects with them.

    TLS: each side presents ``tls_cert_file``/``tls_key_file`` and checks its peer against
    ``tls_ca_file``; a worker with a CA file requires a client certificate (mTLS). Token: a
    shared secret sent as ``authorization: Bearer`` metadata on every call and checked by
    the worker. grpc.health.v1 is answered without the token (orchestrators' probes
    cannot send one); it tells nothing but SERVING or NOT_SERVING.
    """

    model_config = {"extra": "forbid"}

    link_token: SecretStr | None = None
    #: PEM files. On a worker: its server certificate and key, and the CA that signs
    #: gateways' client certificates. On a gateway: its client certificate and key, and
    #: the CA that signs workers' certificates (TLS is used for ``tcp://`` workers when set).
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    #: The name workers' certificates carry, when it is not the host they are dialled at
    #: (one certificate for every pod of a deployment); gateway side.
    tls_server_name: str | None = None
    #: Let a worker listen beyond loopback authenticating no caller: only on a
    #: network where every host that can reach it is trusted.
    trusted_network: bool = False

    @property
    def secured(self) -> bool:
        """Whether a worker with these settings authenticates its callers: by the token,
        or by their certificates (TLS alone encrypts, but lets anyone call)."""
        mutual_tls = self.tls_cert_file is not None and self.tls_ca_file is not None
        return self.link_token is not None or mutual_tls

    def credentials(self) -> LinkCredentials:
        """What a gateway (or a probe) presents to workers with these settings."""
        return LinkCredentials.load(
            token=self.link_token.get_secret_value() if self.link_token else None,
            ca_file=self.tls_ca_file,
            cert_file=self.tls_cert_file,
            key_file=self.tls_key_file,
            server_name=self.tls_server_name,
        )


class RegistrySettings(BaseModel):
    """Worker discovery through Redis (gateway/registry/redis.py, worker/registration.py)."""

    model_config = {"extra": "forbid"}

    #: ``redis://[:password@]host:6379/0`` (``rediss://`` for TLS); None: no registry.
    registry: str | None = None
    #: Keys are ``<prefix>:worker:<worker_id>``.
    registry_prefix: str = "polyvox"
    #: Seconds between a worker's heartbeats (its record is rewritten with its load).
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    #: Seconds a worker's record outlives its last heartbeat; a gateway stops routing to
    #: a worker whose record expired.
    registry_ttl_s: float = Field(default=5.0, gt=0)
    #: Seconds between a gateway's reads of the registry.
    registry_poll_interval_s: float = Field(default=0.5, gt=0)

    @model_validator(mode="after")
    def _ttl_outlives_heartbeats(self) -> RegistrySettings:
        # One lost heartbeat must not expire a live worker.
        if self.registry_ttl_s < 2 * self.heartbeat_interval_s:
            raise ValueError("registry_ttl_s must be at least twice heartbeat_interval_s")
        return self


def is_loopback(address: str) -> bool:
    """Whether a worker listening on ``address`` can be reached only from this host."""
    parts = urlsplit(address)
    if parts.scheme == "unix":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, or 0.0.0.0 / :: (every interface)


def require_secured_link(listen: str, link: LinkSettings) -> None:
    """Refuse a worker that anyone on the network could drive."""
    if is_loopback(listen) or link.secured or link.trusted_network:
        return
    raise ValueError(
        f"a worker listening on {listen} (beyond this host) needs a secured link: set "
        "link_token (--link-token) and/or client certificates (tls_ca_file, tls_cert_file, "
        "tls_key_file: --tls-ca, --tls-cert, --tls-key), or trusted_network "
        "(--trusted-network) if every host that can reach it is trusted"
    )


class WorkerSettings(BaseSettings, WorkerTuning, Provisioning, LinkSettings, RegistrySettings):
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
    #: The address gateways dial (``tcp://host:port``), registered in the registry;
    #: default: ``listen`` (which must then name a host others can reach).
    advertise: str | None = None
    #: A second, plaintext address answering only grpc.health.v1, for probes that can
    #: present no client certificate (Kubernetes' ``grpc:`` probe) when TLS is on.
    health_listen: str | None = None
    #: Unique among the workers sharing a registry; default ``<engine>@<host>:<port>``
    #: of the advertised address (or ``<engine>-0`` without a registry).
    worker_id: str = ""
    #: Stop when the process that started us dies (set by the supervisor), so a
    #: gateway killed hard leaves no orphaned workers behind.
    exit_with_parent: bool = False
    #: Where engine environments are kept (as the gateway's ``home``).
    home: Path = Field(default_factory=lambda: Path.home() / ".cache" / "polyvox")
    #: This process already runs in the engine's environment: set by the supervisor,
    #: by the worker's own re-exec, and in images whose interpreter is the engine's.
    in_environment: bool = False

    @model_validator(mode="after")
    def _link_is_secured(self) -> WorkerSettings:
        require_secured_link(self.listen, self)
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

    def advertised(self) -> str:
        """The address gateways are told to dial."""
        if self.advertise:
            return self.advertise
        parts = urlsplit(self.listen)
        if parts.scheme == "tcp" and parts.hostname in ("0.0.0.0", "::"):
            raise ValueError(
                f"a worker listening on {self.listen} must say where gateways reach it: "
                "set advertise (--advertise tcp://HOST:PORT)"
            )
        return self.listen

    def effective_worker_id(self) -> str:
        """``worker_id``, or one derived from the advertised address (unique per address)."""
        if self.worker_id:
            return self.worker_id
        if self.registry is None:
            return f"{self.engine}-0"
        parts = urlsplit(self.advertised())
        where = f"{parts.hostname}:{parts.port}" if parts.scheme == "tcp" else parts.path
        return f"{self.engine}@{where}"

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
    if settings.link_token is not None:
        # model_dump masks secrets; the worker needs the token itself.
        values["link_token"] = settings.link_token.get_secret_value()
    return {
        f"{ENV_PREFIX}{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
