"""Worker addresses are URIs: ``unix:///run/polyvox/piper.sock`` or ``tcp://host:port``."""

from __future__ import annotations

from urllib.parse import urlsplit


def grpc_target(uri: str) -> str:
    """Translate a polyvox address URI into the target string grpcio expects."""
    parts = urlsplit(uri)
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"unix address needs a path: {uri!r}")
        return f"unix://{parts.path}"
    if parts.scheme == "tcp":
        if not parts.hostname or parts.port is None:
            raise ValueError(f"tcp address needs host and port: {uri!r}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port}"
    raise ValueError(f"unsupported address {uri!r}; use unix:///path or tcp://host:port")
