"""The gateway's side of a secured worker link: TLS (with a client certificate) and a
shared token sent as call metadata. The worker's side is worker/link.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import grpc

from polyvox.addresses import grpc_target

#: Metadata key of the token ("authorization: Bearer <token>", as HTTP APIs do).
TOKEN_METADATA_KEY = "authorization"


@dataclass(frozen=True, slots=True)
class LinkCredentials:
    """What a gateway presents to workers. Empty: plaintext, no token (local workers)."""

    token: str | None = None
    #: PEM bytes: the CA that signs workers' certificates (TLS on when set), and this
    #: gateway's client certificate and key (for workers that require one).
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    #: The name to expect in workers' certificates instead of the dialled host.
    server_name: str | None = None

    @classmethod
    def load(
        cls,
        *,
        token: str | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        server_name: str | None = None,
    ) -> LinkCredentials:
        """Read the PEM files (once: a channel is opened per worker)."""

        def read(path: Path | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return cls(
            token=token,
            ca_pem=read(ca_file),
            cert_pem=read(cert_file),
            key_pem=read(key_file),
            server_name=server_name,
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the token (none without one)."""
        return ((TOKEN_METADATA_KEY, f"Bearer {self.token}"),) if self.token else ()

    def uses_tls(self, address: str) -> bool:
        """TLS for TCP workers when a CA is configured; a Unix socket is local."""
        return self.ca_pem is not None and urlsplit(address).scheme == "tcp"


def open_channel(
    address: str,
    credentials: LinkCredentials,
    options: Sequence[tuple[str, object]] = (),
    *,
    tls: bool | None = None,
) -> grpc.aio.Channel:
    """A channel to the worker at ``address``: over TLS when ``tls`` says so (a worker's
    registry record does), or by default where ``credentials`` say so. TLS without a CA
    of ours checks the worker against the system's roots."""
    target = grpc_target(address)
    if not (credentials.uses_tls(address) if tls is None else tls):
        return grpc.aio.insecure_channel(target, options=list(options))
    tls = grpc.ssl_channel_credentials(
        root_certificates=credentials.ca_pem,
        private_key=credentials.key_pem,
        certificate_chain=credentials.cert_pem,
    )
    if credentials.server_name:
        options = [*options, ("grpc.ssl_target_name_override", credentials.server_name)]
    return grpc.aio.secure_channel(target, tls, options=list(options))
