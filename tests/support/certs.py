"""Certificates for the secured link, made by trustme: one CA for the cluster, a
certificate per worker host (its address), one for the gateways (127.0.0.1, used as
client certificate and as the server certificate of ``serve``'s own workers), and a
stranger's from another CA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from support.hosts import Host


@dataclass
class Certificates:
    ca: Path
    gateway_cert: Path
    gateway_key: Path
    #: A certificate from another CA: a stranger's.
    rogue_cert: Path
    rogue_key: Path
    host_certs: dict[str, tuple[Path, Path]] = field(default_factory=dict)


def _write(ca: trustme.CA, names: list[str], directory: Path, stem: str) -> tuple[Path, Path]:
    cert = ca.issue_cert(*names)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


def make_certificates(directory: Path, hosts: Sequence[Host]) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    gateway = _write(ca, ["127.0.0.1", "polyvox-gateway"], directory, "gateway")
    rogue = _write(trustme.CA(), ["127.0.0.1", "polyvox-gateway"], directory, "rogue")
    certs = Certificates(directory / "ca.pem", *gateway, *rogue)
    for host in hosts:
        certs.host_certs[host.name] = _write(ca, [host.address], directory, host.name)
    return certs
