"""Scale-out: Piper through one gateway with workers on one host vs two, and the cost of
the TCP hop (local workers on a Unix socket vs remote ones over the secured link).

Hosts are network namespaces with their own addresses (tests/support/hosts.py; loopback
ports where namespaces cannot be made). Every process runs on this machine, so the
"two hosts" share its cores: the throughput ratio shows what the second host's worker
adds here, not what a second machine would add. Variants take turns round by round;
figures are medians over rounds (the machine is shared and noisy).

    PYTHONPATH=tests uv run python bench/scale_out.py [--rounds 3] [--seconds 15]
        [--clients 1 4 8] [--out bench/results]

Three parts:
1. throughput: 8 clients for ``--seconds`` against a gateway whose registry holds one
   Piper worker (host 1) and one whose registry holds two (hosts 1 and 2);
2. first audio p50/p95 at 1, 4 and 8 clients: ``polyvox serve`` (its worker on a Unix
   socket) vs ``polyvox gateway`` + a worker on host 1 (TCP, mTLS and token);
3. the hop itself: first audio at one client, local and remote requests taking turns
   request by request (the median of the pairs' differences), and Describe round trips
   over a Unix socket and over TCP with mTLS and the token, measured in this process.

Workers admit streams by ``capacity`` alone (``max_realtime_load: null``): otherwise a
worker slowed by other jobs on this shared machine admits fewer streams, and the
figures would measure that machine's load rather than the hop or the second host.

Prints a table and the ratios; writes scale_out.json under ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from polyvox.contract.client import WorkerClient
from polyvox.contract.link import LinkCredentials
from support.certs import Certificates, make_certificates
from support.hosts import Host, make_hosts
from support.redis_server import RedisServer
from support.servers import free_port, polyvox_test_home

TOKEN = "bench-token"
MODEL = "piper/en_US-joe-medium"
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "We will meet at the train station after lunch.",
    "Please call me back tomorrow morning, when you have a moment to talk.",
    "It is raining again today.",
]
#: Lets ONNX Runtime's spinning threads settle between variants.
_SETTLE_S = 2.0


class Fleet:
    """Every process of the benchmark, stopped together."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[asyncio.subprocess.Process] = []
        self.env = {
            **os.environ,
            "POLYVOX_HOME": str(polyvox_test_home()),
            "POLYVOX_WORKER_MAX_REALTIME_LOAD": "null",
        }

    async def spawn(self, name: str, argv: list[str]) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL, env=self.env
            )
        self.processes.append(process)

    async def stop(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 20)


def _link(certs: Certificates, cert: Path, key: Path) -> list[str]:
    return ["--link-token", TOKEN, "--tls-ca", str(certs.ca), "--tls-cert", str(cert),
            "--tls-key", str(key)]  # fmt: skip


async def start_worker(
    fleet: Fleet, certs: Certificates, host: Host, redis: RedisServer, prefix: str, name: str
) -> str:
    port = free_port()
    cert, key = certs.host_certs[host.name]
    argv = host.command(
        sys.executable, "-m", "polyvox", "worker", "--engine", "piper",
        "--listen", f"tcp://{host.address}:{port}", "--registry", redis.url(host.gateway_side),
        "--preload", "en_US-joe-medium", "--home", str(polyvox_test_home()),
        *_link(certs, cert, key),
    )  # fmt: skip
    fleet.env["POLYVOX_WORKER_REGISTRY_PREFIX"] = prefix
    await fleet.spawn(name, argv)
    del fleet.env["POLYVOX_WORKER_REGISTRY_PREFIX"]
    return f"tcp://{host.address}:{port}"


async def start_gateway(fleet: Fleet, certs: Certificates, argv: list[str], name: str) -> str:
    port = free_port()
    config = fleet.workdir / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump({"engines": {"piper": {"preload": ["en_US-joe-medium"],
                                              "max_realtime_load": None}},
                        "default_model": MODEL})
    )  # fmt: skip
    await fleet.spawn(
        name,
        [sys.executable, "-m", "polyvox", *argv, "-c", str(config), "--port", str(port),
         *_link(certs, certs.gateway_cert, certs.gateway_key)],
    )  # fmt: skip
    return f"http://127.0.0.1:{port}"


async def wait_ready(url: str, workers: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                ready = (await client.get(f"{url}/readyz")).status_code == 200
                report = (await client.get(f"{url}/health")).json()
                up = [w for w in report["workers"] if w["resident_models"]]
                if ready and len(up) >= workers:
                    return
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{url} not ready with {workers} workers")


async def one_request(client: httpx.AsyncClient, url: str, text: str) -> tuple[float, float]:
    """(first audio seconds, audio seconds) of one streamed pcm request."""
    body = {"model": MODEL, "voice": "alloy", "input": text, "response_format": "pcm"}
    started = time.perf_counter()
    first: float | None = None
    size = 0
    async with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            if first is None and chunk:
                first = time.perf_counter() - started
            size += len(chunk)
    return first or 0.0, size / (24_000 * 2)


async def throughput(url: str, clients: int, seconds: float) -> float:
    """Seconds of audio made per second of wall time by ``clients`` looping clients."""
    deadline = time.perf_counter() + seconds
    audio = [0.0]

    async def client_loop(index: int) -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            n = index
            while time.perf_counter() < deadline:
                # Awaited first: `audio[0] += await ...` would read the total before the
                # await and lose what other clients added meanwhile.
                _, made_s = await one_request(client, url, SENTENCES[n % len(SENTENCES)])
                audio[0] += made_s
                n += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(i) for i in range(clients)))
    return audio[0] / (time.perf_counter() - started)


async def first_audio(url: str, clients: int, requests_each: int) -> list[float]:
    async def client_loop(index: int) -> list[float]:
        async with httpx.AsyncClient(timeout=120) as client:
            return [
                (await one_request(client, url, SENTENCES[(index + n) % len(SENTENCES)]))[0]
                for n in range(requests_each)
            ]

    results = await asyncio.gather(*(client_loop(i) for i in range(clients)))
    return [value for values in results for value in values]


async def paired_first_audio(local: str, remote: str, pairs: int) -> dict[str, float]:
    """One client, local and remote requests taking turns request by request: the median
    of each pair's difference is the hop's cost with the machine's drift cancelled."""
    differences, local_s, remote_s = [], [], []
    async with httpx.AsyncClient(timeout=120) as client:
        for n in range(pairs):
            text = SENTENCES[n % len(SENTENCES)]
            order = [local, remote] if n % 2 == 0 else [remote, local]
            firsts = {url: (await one_request(client, url, text))[0] for url in order}
            local_s.append(firsts[local])
            remote_s.append(firsts[remote])
            differences.append(firsts[remote] - firsts[local])
    return {
        "local_p50": statistics.median(local_s) * 1000,
        "remote_p50": statistics.median(remote_s) * 1000,
        "median_difference": statistics.median(differences) * 1000,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def hop_cost(addresses: dict[str, tuple[str, LinkCredentials, bool]], calls: int) -> dict:
    """Median Describe round trip per link, the links taking turns call by call."""
    clients = {
        name: WorkerClient(address, credentials=creds, tls=tls)
        for name, (address, creds, tls) in addresses.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for client in clients.values():
            await client.describe()  # connect (and handshake) first
        for _ in range(calls):
            for name, client in clients.items():
                started = time.perf_counter()
                await client.describe()
                samples[name].append(time.perf_counter() - started)
    finally:
        await asyncio.gather(*(client.close() for client in clients.values()))
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


@contextlib.asynccontextmanager
async def bench_cluster(workdir: Path) -> AsyncIterator[dict[str, Any]]:
    fleet = Fleet(workdir)
    async with make_hosts(2) as (kind, hosts):
        certs = make_certificates(workdir / "certs", hosts)
        bind = sorted({"127.0.0.1", *(host.gateway_side for host in hosts)})
        redis = RedisServer(port=free_port(), bind=bind, workdir=workdir / "redis")
        await fleet.spawn("environments", [sys.executable, "-m", "polyvox", "environments",
                                           "piper"])  # fmt: skip
        if await fleet.processes[-1].wait() != 0:
            raise RuntimeError("building piper's environment failed")
        await redis.start()
        try:
            # Registry "one": a worker on host 1. Registry "two": one on each host.
            one = await start_worker(fleet, certs, hosts[0], redis, "one", "worker-one")
            await start_worker(fleet, certs, hosts[0], redis, "two", "worker-two-h1")
            await start_worker(fleet, certs, hosts[1], redis, "two", "worker-two-h2")
            registry = ["gateway", "--registry", redis.url()]
            fleet.env["POLYVOX_REGISTRY_PREFIX"] = "one"
            one_url = await start_gateway(fleet, certs, registry, "gateway-one")
            fleet.env["POLYVOX_REGISTRY_PREFIX"] = "two"
            two_url = await start_gateway(fleet, certs, registry, "gateway-two")
            del fleet.env["POLYVOX_REGISTRY_PREFIX"]
            local_url = await start_gateway(fleet, certs, ["serve"], "serve-local")
            await asyncio.gather(
                wait_ready(one_url, 1), wait_ready(two_url, 2), wait_ready(local_url, 1)
            )
            async with httpx.AsyncClient(timeout=10) as client:
                local_worker = (await client.get(f"{local_url}/health")).json()["workers"][0]
            yield {
                "hosts": kind, "certs": certs, "one": one_url, "two": two_url,
                "local": local_url, "remote_worker": one,
                "local_worker": local_worker["address"],
            }  # fmt: skip
        finally:
            await fleet.stop()
            await redis.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="polyvox-scale-out-") as tmp:
        async with bench_cluster(Path(tmp)) as cluster:
            print(f"hosts: {cluster['hosts']}; warming up")
            for url in (cluster["one"], cluster["two"], cluster["local"]):
                await first_audio(url, 2, 2)
            rates: dict[str, list[float]] = {"one host": [], "two hosts": []}
            latency: dict[str, dict[int, list[dict[str, float]]]] = {
                "local": {n: [] for n in args.clients},
                "remote": {n: [] for n in args.clients},
            }
            for round_index in range(args.rounds):
                order = [("one host", "one"), ("two hosts", "two")]
                for name, key in order if round_index % 2 == 0 else order[::-1]:
                    await asyncio.sleep(_SETTLE_S)
                    rates[name].append(await throughput(cluster[key], 8, args.seconds))
                for clients in args.clients:
                    variants = [("local", "local"), ("remote", "one")]
                    for name, key in variants if round_index % 2 == 0 else variants[::-1]:
                        await asyncio.sleep(_SETTLE_S)
                        values = await first_audio(cluster[key], clients, args.requests)
                        latency[name][clients].append(
                            {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
                        )
                print(f"round {round_index + 1}/{args.rounds} done")
            paired = await paired_first_audio(cluster["local"], cluster["one"], args.pairs)
            certs = cluster["certs"]
            secured = LinkCredentials.load(
                token=TOKEN, ca_file=certs.ca, cert_file=certs.gateway_cert,
                key_file=certs.gateway_key,
            )  # fmt: skip
            remote = cluster["remote_worker"]
            hop = await hop_cost(
                {
                    "unix socket": (cluster["local_worker"], secured, False),
                    "tcp + mTLS + token": (remote, secured, True),
                },
                args.calls,
            )
            hosts = cluster["hosts"]
    return {**summarize(hosts, rates, latency, hop), "paired_first_audio_ms_1_client": paired}


def summarize(
    hosts: str,
    rates: dict[str, list[float]],
    latency: dict[str, dict[int, list[dict[str, float]]]],
    hop: dict[str, float],
) -> dict[str, Any]:
    median_rates = {name: statistics.median(values) for name, values in rates.items()}
    result: dict[str, Any] = {
        "hosts": hosts,
        "throughput_audio_s_per_s": median_rates,
        "throughput_rounds": rates,
        "throughput_ratio_two_over_one": median_rates["two hosts"] / median_rates["one host"],
        "first_audio_ms": {},
        "describe_round_trip_ms": hop,
    }
    for name, per_clients in latency.items():
        for clients, rounds in per_clients.items():
            result["first_audio_ms"].setdefault(str(clients), {})[name] = {
                q: statistics.median(r[q] for r in rounds) * 1000 for q in ("p50", "p95")
            }
    return result


def report(result: dict[str, Any]) -> None:
    print(f"\nhosts: {result['hosts']} (all on this machine's cores)")
    rates = result["throughput_audio_s_per_s"]
    print(
        f"throughput, 8 clients: one host {rates['one host']:.1f}, two hosts "
        f"{rates['two hosts']:.1f} audio s/s; ratio {result['throughput_ratio_two_over_one']:.2f}"
    )
    print("first audio (ms)   local p50   remote p50   Δp50    local p95   remote p95")
    for clients, variants in result["first_audio_ms"].items():
        local, remote = variants["local"], variants["remote"]
        print(
            f"  {clients} clients        {local['p50']:7.1f}    {remote['p50']:7.1f}   "
            f"{remote['p50'] - local['p50']:+6.1f}    {local['p95']:7.1f}    {remote['p95']:7.1f}"
        )
    paired = result["paired_first_audio_ms_1_client"]
    print(
        f"first audio, 1 client, paired: local p50 {paired['local_p50']:.1f}, remote p50 "
        f"{paired['remote_p50']:.1f}; median difference {paired['median_difference']:+.1f} ms"
    )
    hop = result["describe_round_trip_ms"]
    print("Describe round trip (ms, median): " + ", ".join(f"{k} {v:.2f}" for k, v in hop.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=6, help="per client, latency runs")
    parser.add_argument("--calls", type=int, default=300, help="Describe calls per link")
    parser.add_argument("--pairs", type=int, default=60, help="paired 1-client requests")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "scale_out.json"
    path.write_text(json.dumps({"args": {**vars(args), "out": str(args.out)}, **result}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
