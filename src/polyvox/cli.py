"""The ``polyvox`` command line. Only this module exits the process.

Gateway-side imports (FastAPI, uvicorn, httpx) stay inside the commands that
need them, so ``polyvox worker`` runs in an engine environment without them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Polyvox: a self-hosted speech server.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", envvar="POLYVOX_CONFIG", help="YAML config file.")
]
LogFormatOption = Annotated[
    str | None, typer.Option(help="Log lines as `text` or `json` [POLYVOX_LOG_FORMAT].")
]
ApiKeyOption = Annotated[
    str | None, typer.Option(envvar="POLYVOX_API_KEY", help="Key for a server that wants one.")
]
# The gateway-worker link and the registry: the same flags on serve, gateway and worker
# (their variables are POLYVOX_<FIELD> for a gateway, POLYVOX_WORKER_<FIELD> for a worker).
RegistryOption = Annotated[
    str | None, typer.Option(help="Redis registry of workers, redis://HOST:6379/0 [registry].")
]
LinkTokenOption = Annotated[
    str | None, typer.Option(help="Shared token of the gateway-worker link [link_token].")
]
TlsCaOption = Annotated[
    Path | None, typer.Option("--tls-ca", help="CA certificate (PEM) of the link [tls_ca_file].")
]
TlsCertOption = Annotated[
    Path | None, typer.Option("--tls-cert", help="This side's certificate [tls_cert_file].")
]
TlsKeyOption = Annotated[
    Path | None, typer.Option("--tls-key", help="This side's private key [tls_key_file].")
]
TrustedNetworkOption = Annotated[
    bool | None,
    typer.Option(
        "--trusted-network/--untrusted-network",
        help="Allow an unsecured link beyond loopback [trusted_network].",
    ),
]


def _link_flags(
    registry: str | None,
    link_token: str | None,
    tls_ca: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    trusted_network: bool | None,
) -> dict[str, Any]:
    return {
        "registry": registry,
        "link_token": link_token,
        "tls_ca_file": tls_ca,
        "tls_cert_file": tls_cert,
        "tls_key_file": tls_key,
        "trusted_network": trusted_network,
    }


def _settings(config: Path | None, **flags: Any) -> Any:
    from pydantic import ValidationError

    from polyvox.config import Settings

    overrides = {key: value for key, value in flags.items() if value is not None}
    try:
        return Settings(config=config, **overrides)
    except ValidationError as exc:
        typer.echo(f"invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None


def _run_gateway(settings: Any, *, local_workers: bool) -> None:
    import uvicorn

    from polyvox.gateway.app import create_app
    from polyvox.logs import configure_logging

    configure_logging(settings.log_level, log_format=settings.log_format)
    uvicorn.run(
        create_app(settings, local_workers=local_workers),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn's loggers go through ours: one format, request ids on access lines.
        log_config=None,
        timeout_graceful_shutdown=int(settings.worker_stop_timeout_s),
    )


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address [POLYVOX_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [POLYVOX_PORT].")] = None,
    home: Annotated[Path | None, typer.Option(help="State directory [POLYVOX_HOME].")] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [POLYVOX_LOG_LEVEL].")] = None,
    log_format: LogFormatOption = None,
    registry: RegistryOption = None,
    advertise_host: Annotated[
        str | None,
        typer.Option(help="With --registry: host other gateways reach these workers at."),
    ] = None,
    worker_host: Annotated[
        str | None, typer.Option(help="With --registry: where the workers listen.")
    ] = None,
    worker_port: Annotated[
        int | None, typer.Option(help="With --registry: the first workers' port.")
    ] = None,
    link_token: LinkTokenOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    trusted_network: TrustedNetworkOption = None,
) -> None:
    """Run the gateway with its local workers (the embedded default); with --registry,
    they also register there for other gateways, and this gateway routes to theirs."""
    # The gateway forks worker processes while gRPC channels are live; gRPC's fork
    # handlers are for children that keep using gRPC state, which ours never do.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    settings = _settings(
        config, host=host, port=port, home=home, log_level=log_level, log_format=log_format,
        advertise_host=advertise_host, worker_host=worker_host, worker_port=worker_port,
        **_link_flags(registry, link_token, tls_ca, tls_cert, tls_key, trusted_network),
    )  # fmt: skip
    if settings.registry is not None:
        from polyvox.worker.settings import require_secured_link

        if not settings.advertise_host:
            raise typer.BadParameter("is needed with --registry", param_hint="--advertise-host")
        try:
            require_secured_link(f"tcp://{settings.worker_host}:{settings.worker_port}", settings)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    _run_gateway(settings, local_workers=True)


@app.command()
def gateway(
    config: ConfigOption = None,
    registry: RegistryOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address [POLYVOX_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [POLYVOX_PORT].")] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [POLYVOX_LOG_LEVEL].")] = None,
    log_format: LogFormatOption = None,
    link_token: LinkTokenOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_server_name: Annotated[
        str | None, typer.Option(help="Name in workers' certificates [tls_server_name].")
    ] = None,
) -> None:
    """Run a stateless gateway: no local workers; every worker is found in the registry."""
    settings = _settings(
        config, host=host, port=port, log_level=log_level, log_format=log_format,
        tls_server_name=tls_server_name,
        **_link_flags(registry, link_token, tls_ca, tls_cert, tls_key, None),
    )  # fmt: skip
    if settings.registry is None:
        raise typer.BadParameter(
            "a gateway finds its workers in a registry", param_hint="--registry"
        )
    _run_gateway(settings, local_workers=False)


@app.command()
def worker(
    engine: Annotated[
        str | None, typer.Option(help="Engine name (polyvox.engines entry point).")
    ] = None,
    listen: Annotated[str | None, typer.Option(help="unix:///path or tcp://host:port")] = None,
    advertise: Annotated[
        str | None, typer.Option(help="tcp://HOST:PORT gateways dial (default: --listen).")
    ] = None,
    health_listen: Annotated[
        str | None, typer.Option(help="Plaintext address answering only health checks.")
    ] = None,
    registry: RegistryOption = None,
    worker_id: Annotated[
        str | None, typer.Option(help="Unique id (default: engine@advertised host:port).")
    ] = None,
    device: Annotated[str | None, typer.Option()] = None,
    preload: Annotated[list[str] | None, typer.Option(help="Model to load at start.")] = None,
    option: Annotated[list[str] | None, typer.Option(help="Engine option key=value.")] = None,
    capacity: Annotated[int | None, typer.Option(help="Streams working at once.")] = None,
    max_sessions: Annotated[int | None, typer.Option(help="Streams open at once.")] = None,
    inference_threads: Annotated[int | None, typer.Option()] = None,
    busy_split_chars: Annotated[
        int | None, typer.Option(help="Cut longer segments while another stream speaks; 0: never.")
    ] = None,
    first_chunk_ms: Annotated[
        int | None, typer.Option(help="First audio as a chunk of this length; 0: whole.")
    ] = None,
    env: Annotated[
        str | None, typer.Option(help="`isolated` (the engine's own environment) or `shared`.")
    ] = None,
    requirement: Annotated[
        list[str] | None, typer.Option(help="Extra requirement of the engine's environment.")
    ] = None,
    home: Annotated[Path | None, typer.Option(help="Where engine environments live.")] = None,
    in_environment: Annotated[
        bool | None,
        typer.Option(help="Already in the engine's environment: build nothing, re-exec nothing."),
    ] = None,
    exit_with_parent: Annotated[
        bool | None, typer.Option(help="Stop when the starting process dies.")
    ] = None,
    link_token: LinkTokenOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    trusted_network: TrustedNetworkOption = None,
    log_level: Annotated[str, typer.Option(envvar="POLYVOX_LOG_LEVEL")] = "info",
    log_format: Annotated[
        str, typer.Option(envvar="POLYVOX_LOG_FORMAT", help="`text` or `json` lines.")
    ] = "text",
) -> None:
    """Run one engine worker: started by `polyvox serve`, or by hand or an orchestrator on
    any host (with --registry it registers itself for the gateways).

    Every setting is read from ``POLYVOX_WORKER_<NAME>`` variables (how the supervisor
    passes them); a flag overrides its variable. Unless told it is already there, the
    worker builds (or reuses) its engine's environment and re-executes itself in it.
    """
    from polyvox.logs import configure_logging

    if log_format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--log-format")
    flags: dict[str, Any] = {
        "engine": engine,
        "listen": listen,
        "advertise": advertise,
        "health_listen": health_listen,
        "worker_id": worker_id,
        "device": device,
        "preload": preload,
        "options": dict(item.split("=", 1) for item in option if "=" in item) if option else None,
        "capacity": capacity,
        "max_sessions": max_sessions,
        "inference_threads": inference_threads,
        "busy_split_chars": busy_split_chars,
        "first_chunk_ms": first_chunk_ms,
        "env": env,
        "requirements": requirement,
        "home": home,
        "in_environment": in_environment,
        "exit_with_parent": exit_with_parent,
        **_link_flags(registry, link_token, tls_ca, tls_cert, tls_key, trusted_network),
    }
    settings = _worker_settings(flags)
    if not settings.in_environment and settings.env == "isolated":
        _exec_in_environment(settings, log_level=log_level, log_format=log_format)
    configure_logging(
        log_level,
        log_format="json" if log_format == "json" else "text",
        prefix=f"worker[{settings.worker_id}]",
        fields={"worker_id": settings.worker_id, "engine": settings.engine},
    )
    from polyvox.worker.registration import DuplicateWorker
    from polyvox.worker.server import serve as serve_worker

    try:
        asyncio.run(serve_worker(settings))
    except DuplicateWorker as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _worker_settings(flags: dict[str, Any]) -> Any:
    """The worker's settings (env + flags), its id and advertised address settled."""
    from pydantic import ValidationError

    from polyvox.worker.settings import WorkerSettings

    try:
        settings = WorkerSettings(
            **{key: value for key, value in flags.items() if value is not None}
        )
        settings.advertise = settings.advertised() if settings.registry else settings.advertise
        settings.worker_id = settings.effective_worker_id()
    except (ValidationError, ValueError) as exc:
        typer.echo(f"invalid worker settings: {exc}", err=True)
        raise typer.Exit(2) from None
    return settings


def _exec_in_environment(settings: Any, *, log_level: str, log_format: str) -> None:
    """Build (or reuse) the engine's environment, as the supervisor does, and replace this
    process with the same worker in it."""
    from polyvox.supervisor.engine_environment import engine_interpreter, exec_worker
    from polyvox.supervisor.environments import EnvironmentBuilder

    try:
        builder = EnvironmentBuilder(home=settings.home)
        python, venv = engine_interpreter(builder, settings.engine, settings)
    except Exception as exc:
        typer.echo(f"cannot provision the {settings.engine} environment: {exc}", err=True)
        raise typer.Exit(1) from None
    exec_worker(
        settings,
        python=python,
        venv=venv,
        environment={"POLYVOX_LOG_LEVEL": log_level, "POLYVOX_LOG_FORMAT": log_format},
    )


@app.command()
def environments(
    engines: Annotated[
        list[str] | None, typer.Argument(help="Engines (default: every configured one).")
    ] = None,
    config: ConfigOption = None,
    home: Annotated[Path | None, typer.Option(help="State directory [POLYVOX_HOME].")] = None,
) -> None:
    """Build (or reuse) engine environments and print their interpreters: what an image
    build runs, so its workers start without building anything."""
    from polyvox.supervisor.engine_environment import engine_interpreter
    from polyvox.supervisor.environments import EnvironmentBuilder
    from polyvox.worker.settings import Provisioning

    settings = _settings(config, home=home)
    builder = EnvironmentBuilder(home=settings.home)
    for name in engines or list(settings.engines):
        provisioning = settings.engines.get(name) or Provisioning()
        try:
            python, _ = engine_interpreter(builder, name, provisioning)
        except Exception as exc:
            typer.echo(f"{name}: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{name}: {python}")


@app.command()
def probe(
    url: Annotated[str | None, typer.Option(help="A gateway's base URL.")] = None,
    worker_address: Annotated[
        str | None, typer.Option("--worker", help="A worker's address (grpc.health.v1).")
    ] = None,
) -> None:
    """Exit 0 when this container's server answers: a worker (POLYVOX_WORKER_LISTEN set, or
    --worker) through grpc.health.v1, else the gateway's /healthz. For image health checks."""
    from polyvox.probe import gateway_healthy, worker_healthy

    if worker_address is not None or (url is None and "POLYVOX_WORKER_LISTEN" in os.environ):
        healthy = asyncio.run(worker_healthy(worker_address))
    else:
        healthy = gateway_healthy(
            url or f"http://127.0.0.1:{os.environ.get('POLYVOX_PORT', '8000')}"
        )
    raise typer.Exit(0 if healthy else 1)


def _auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _server_url(server: str | None, config: Path | None) -> str:
    if server:
        return server.rstrip("/")
    settings = _settings(config)
    return f"http://{settings.host}:{settings.port}"


@app.command()
def say(
    text: Annotated[str, typer.Argument(help="Text to speak.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Audio file to write.")],
    voice: Annotated[str, typer.Option()] = "alloy",
    model: Annotated[str, typer.Option()] = "tts-1",
    speed: Annotated[float, typer.Option()] = 1.0,
    server: Annotated[str | None, typer.Option(help="Gateway URL.")] = None,
    config: ConfigOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Synthesize TEXT through a running server; the format follows the file extension."""
    import httpx

    response_format = output.suffix.lstrip(".").lower() or "wav"
    if response_format == "ogg":
        response_format = "opus"
    response = httpx.post(
        f"{_server_url(server, config)}/v1/audio/speech",
        json={
            "model": model,
            "voice": voice,
            "input": text,
            "speed": speed,
            "response_format": response_format,
        },
        headers=_auth_headers(api_key),
        timeout=300,
    )
    if response.status_code != 200:
        typer.echo(response.json()["error"]["message"], err=True)
        raise typer.Exit(1)
    output.write_bytes(response.content)
    typer.echo(f"wrote {output} ({len(response.content)} bytes)")


@app.command()
def voices(
    server: Annotated[str | None, typer.Option(help="Gateway URL.")] = None,
    config: ConfigOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List the models and voices a running server offers."""
    import httpx
    from rich.console import Console
    from rich.table import Table

    response = httpx.get(
        f"{_server_url(server, config)}/v1/audio/voices", headers=_auth_headers(api_key), timeout=30
    )
    if response.status_code != 200:
        typer.echo(response.json()["error"]["message"], err=True)
        raise typer.Exit(1)
    table = Table("model", "voice", "language", "native rate (Hz)")
    for voice in response.json()["data"]:
        table.add_row(
            voice["model"], voice["id"], voice["language"], str(voice["native_sample_rate_hz"])
        )
    Console().print(table)
