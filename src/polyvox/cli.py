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


def _settings(config: Path | None, **flags: Any) -> Any:
    from polyvox.config import Settings

    overrides = {key: value for key, value in flags.items() if value is not None}
    return Settings(config=config, **overrides)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address [POLYVOX_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [POLYVOX_PORT].")] = None,
    home: Annotated[Path | None, typer.Option(help="State directory [POLYVOX_HOME].")] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [POLYVOX_LOG_LEVEL].")] = None,
    log_format: LogFormatOption = None,
) -> None:
    """Run the gateway with its local workers (the embedded default)."""
    # The gateway forks worker processes while gRPC channels are live; gRPC's fork
    # handlers are for children that keep using gRPC state, which ours never do.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    import uvicorn

    from polyvox.gateway.app import create_app
    from polyvox.logs import configure_logging

    settings = _settings(
        config, host=host, port=port, home=home, log_level=log_level, log_format=log_format
    )
    configure_logging(settings.log_level, log_format=settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn's loggers go through ours: one format, request ids on access lines.
        log_config=None,
        timeout_graceful_shutdown=int(settings.worker_stop_timeout_s),
    )


@app.command()
def worker(
    engine: Annotated[
        str | None, typer.Option(help="Engine name (polyvox.engines entry point).")
    ] = None,
    listen: Annotated[str | None, typer.Option(help="unix:///path or tcp://host:port")] = None,
    worker_id: Annotated[str | None, typer.Option()] = None,
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
    exit_with_parent: Annotated[
        bool | None, typer.Option(help="Stop when the starting process dies.")
    ] = None,
    log_level: Annotated[str, typer.Option(envvar="POLYVOX_LOG_LEVEL")] = "info",
    log_format: Annotated[
        str, typer.Option(envvar="POLYVOX_LOG_FORMAT", help="`text` or `json` lines.")
    ] = "text",
) -> None:
    """Run one engine worker (normally started by `polyvox serve`).

    Every setting is read from ``POLYVOX_WORKER_<NAME>`` variables (how the supervisor
    passes them); a flag overrides its variable.
    """
    from polyvox.logs import configure_logging
    from polyvox.worker.server import serve as serve_worker
    from polyvox.worker.settings import WorkerSettings

    flags: dict[str, Any] = {
        "engine": engine,
        "listen": listen,
        "worker_id": worker_id,
        "device": device,
        "preload": preload,
        "options": dict(item.split("=", 1) for item in option if "=" in item) if option else None,
        "capacity": capacity,
        "max_sessions": max_sessions,
        "inference_threads": inference_threads,
        "busy_split_chars": busy_split_chars,
        "first_chunk_ms": first_chunk_ms,
        "exit_with_parent": exit_with_parent,
    }
    settings = WorkerSettings(**{key: value for key, value in flags.items() if value is not None})
    if not settings.worker_id:
        settings.worker_id = f"{settings.engine}-0"
    if log_format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--log-format")
    configure_logging(
        log_level,
        log_format="json" if log_format == "json" else "text",
        prefix=f"worker[{settings.worker_id}]",
        fields={"worker_id": settings.worker_id, "engine": settings.engine},
    )
    asyncio.run(serve_worker(settings))


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
