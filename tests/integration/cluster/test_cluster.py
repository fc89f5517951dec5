"""Workers on two hosts, two gateways (a stateless one and ``serve --registry``), Redis:
routing, expiry, a Redis outage, duplicates and bad records, the secured link."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import httpx
import pytest

from polyvox.contract.client import WorkerClient
from polyvox.contract.link import LinkCredentials
from polyvox.errors import PolyvoxError
from support.servers import free_port

from .conftest import (
    MODEL,
    TOKEN,
    Cluster,
    cluster_env,
    health,
    wait_for,
    worker_ids,
)

TEXT = "Scale out across hosts, one request at a time."
LONG_TEXT = " ".join(
    f"Sentence number {n} keeps this stream busy for a while, so that it is still running."
    for n in range(12)
)


async def speak(url: str, text: str = TEXT, **extra: Any) -> httpx.Response:
    body = {"model": MODEL, "voice": "alloy", "input": text, "response_format": "pcm", **extra}
    async with httpx.AsyncClient(timeout=120) as client:
        return await client.post(f"{url}/v1/audio/speech", json=body)


def preloaded(cluster: Cluster) -> str:
    """Host A's worker: the one started with the model preloaded."""
    return next(iter(cluster.workers))


async def test_requests_succeed_through_either_gateway_with_the_same_answers(
    cluster: Cluster,
) -> None:
    answers = []
    for url in cluster.gateways:
        response = await speak(url)
        assert response.status_code == 200, response.text
        assert len(response.content) > 10_000
        assert response.headers["x-polyvox-worker"] in cluster.workers
        async with httpx.AsyncClient(timeout=10) as client:
            models = (await client.get(f"{url}/v1/models")).json()
            voices = (await client.get(f"{url}/v1/audio/voices")).json()
        answers.append((models, voices))
        assert await worker_ids(url) == cluster.worker_ids
    assert answers[0] == answers[1]
    # Each remote worker built (here: reused) piper's environment and runs in it.
    report = await health(cluster.gateways[0])
    for worker in report["workers"]:
        if worker["id"] in cluster.workers:
            assert "/envs/piper-" in worker["runtime"]["python"], worker["runtime"]
    # The serve gateway's own worker is routed to through the stateless one too.
    espeak = {"model": "espeak/espeak-ng", "voice": "en-us"}
    assert (await speak(cluster.gateways[0], **espeak)).headers["x-polyvox-worker"] == (
        cluster.serve_worker_id
    )


async def test_a_model_resident_on_one_host_is_routed_there(cluster: Cluster) -> None:
    holder = preloaded(cluster)
    for url in cluster.gateways:
        for _ in range(3):
            response = await speak(url)
            assert response.status_code == 200
            assert response.headers["x-polyvox-worker"] == holder
    report = await health(cluster.gateways[0])
    resident = {w["id"]: w["resident_models"] for w in report["workers"]}
    assert resident[holder] == ["en_US-joe-medium"]
    assert [i for i, models in resident.items() if "en_US-joe-medium" in models] == [holder]


async def _refused(address: str, credentials: LinkCredentials, *, tls: bool) -> str:
    client = WorkerClient(address, credentials=credentials, tls=tls)
    try:
        with pytest.raises(PolyvoxError) as refused:
            await client.describe(timeout_s=5)
        return refused.value.message
    finally:
        await client.close()


async def test_a_worker_call_without_the_token_or_certificate_is_refused(cluster: Cluster) -> None:
    certs = cluster.certs
    address = cluster.addresses[preloaded(cluster)]
    ours = dict(ca_file=certs.ca, cert_file=certs.gateway_cert, key_file=certs.gateway_key)
    load = LinkCredentials.load
    # Plaintext, even with the token: the TLS handshake fails.
    await _refused(address, LinkCredentials(token=TOKEN), tls=False)
    # TLS without a client certificate, or with a stranger's: refused in the handshake.
    await _refused(address, load(token=TOKEN, ca_file=certs.ca), tls=True)
    stranger = load(token=TOKEN, ca_file=certs.ca, cert_file=certs.rogue_cert,
                    key_file=certs.rogue_key)  # fmt: skip
    await _refused(address, stranger, tls=True)
    # The right certificate without the token, or with a wrong one: refused by the worker.
    assert "credentials" in await _refused(address, load(**ours), tls=True)
    assert "credentials" in await _refused(address, load(token="wrong", **ours), tls=True)
    # Health checks need no token (probes cannot send one); everything right works.
    client = WorkerClient(address, credentials=load(**ours), tls=True)
    try:
        assert await client.health()
    finally:
        await client.close()
    client = WorkerClient(address, credentials=load(token=TOKEN, **ours), tls=True)
    try:
        assert (await client.describe()).engine == "piper"
    finally:
        await client.close()


async def test_a_worker_beyond_loopback_without_a_secured_link_refuses_to_start() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyvox", "worker", "--engine", "piper", "--env", "shared",
        "--listen", f"tcp://0.0.0.0:{free_port()}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert b"needs a secured link" in stderr


def _record(raw: bytes, **changes: Any) -> bytes:
    data = json.loads(raw)
    data.update(changes)
    return json.dumps(data).encode()


async def test_a_worker_registering_twice_or_a_bad_record_does_not_confuse_routing(
    cluster: Cluster,
) -> None:
    holder = preloaded(cluster)
    redis = cluster.redis.client()
    real = await redis.get(f"polyvox:worker:{holder}")
    assert real is not None
    older = json.loads(real)
    older["description"]["started_at_s"] -= 1000
    fakes = {
        "polyvox:worker:garbage": b"not json at all",
        "polyvox:worker:other-schema": _record(real, schema="someone.else.v9"),
        "polyvox:worker:bad-address": _record(real, worker_id="bad-address", address="ftp://x"),
        "polyvox:worker:misfiled": real,
        # The same worker registered again under another id (as after a restart with a
        # new id, before the old record expires): one worker, not two.
        "polyvox:worker:piper-before": _record(
            real, worker_id="piper-before", description=older["description"]
        ),
    }
    try:
        for key, value in fakes.items():
            await redis.set(key, value)

        async def skipped() -> bool:
            for url in cluster.gateways:
                registry = (await health(url))["registry"]
                if (
                    len(registry["bad_records"]) != 4
                    or "piper-before" not in registry["duplicates"]
                ):
                    return False
            return True

        await wait_for(skipped, timeout_s=30, what="bad records and duplicates reported")
        for url in cluster.gateways:
            assert await worker_ids(url, state=None) == cluster.worker_ids
            response = await speak(url)
            assert response.headers["x-polyvox-worker"] == holder
        # Another worker claiming a live worker's id at another address is refused.
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "polyvox", "worker", "--engine", "piper", "--env", "shared",
            "--listen", f"tcp://127.0.0.1:{port}", "--worker-id", holder,
            "--registry", cluster.redis.url(), "--link-token", TOKEN,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cluster_env(),
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 1, stderr.decode(errors="replace")[-2000:]
        assert b"is registered by a live worker" in stderr
        assert (
            json.loads(await redis.get(f"polyvox:worker:{holder}"))["address"]
            == (cluster.addresses[holder])
        )
    finally:
        await redis.delete(*fakes)
        await redis.aclose()


async def _reachable(cluster: Cluster, reachable: bool) -> bool:
    reports = [await health(url) for url in cluster.gateways]
    return all(report["registry"]["reachable"] is reachable for report in reports)


async def test_stopping_redis_leaves_the_gateways_serving(cluster: Cluster) -> None:
    await cluster.redis.stop()
    try:
        await wait_for(lambda: _reachable(cluster, False), timeout_s=30, what="outage seen")
        for url in cluster.gateways:
            report = await health(url)
            assert "registry unreachable" in report["status"]
            assert {w["id"] for w in report["workers"]} == cluster.worker_ids
            for _ in range(2):
                response = await speak(url)
                assert response.status_code == 200
            async with httpx.AsyncClient(timeout=10) as client:
                metrics = (await client.get(f"{url}/metrics")).text
            assert "polyvox_registry_up 0.0" in metrics
        # Longer than a TTL: expiry does not count while Redis is away.
        await asyncio.sleep(3)
        assert await worker_ids(cluster.gateways[0]) == cluster.worker_ids
    finally:
        await cluster.redis.start()
    await wait_for(lambda: _reachable(cluster, True), timeout_s=30, what="recovery seen")

    async def re_registered() -> bool:
        redis = cluster.redis.client()
        try:
            keys = {key async for key in redis.scan_iter("polyvox:worker:*")}
        finally:
            await redis.aclose()
        return len(keys) == len(cluster.worker_ids)

    await wait_for(re_registered, timeout_s=30, what="workers registered again")

    async def confirmed() -> bool:
        # A worker not yet seen again is kept ("unconfirmed") for a TTL: now all are seen.
        return all([await worker_ids(url) == cluster.worker_ids for url in cluster.gateways])

    await wait_for(confirmed, timeout_s=30, what="every worker confirmed by both gateways")
    for url in cluster.gateways:
        assert (await speak(url)).status_code == 200


async def probe(*args: str, env: dict[str, str] | None = None) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyvox", "probe", *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await asyncio.wait_for(process.wait(), 60)


async def test_probe_answers_for_a_gateway_and_a_worker(cluster: Cluster) -> None:
    certs = cluster.certs
    env = {
        **os.environ,
        "POLYVOX_WORKER_TLS_CA_FILE": str(certs.ca),
        "POLYVOX_WORKER_TLS_CERT_FILE": str(certs.gateway_cert),
        "POLYVOX_WORKER_TLS_KEY_FILE": str(certs.gateway_key),
    }
    worker = cluster.addresses[preloaded(cluster)]
    assert await probe("--url", cluster.gateways[0]) == 0
    assert await probe("--worker", worker, env=env) == 0
    assert await probe("--url", f"http://127.0.0.1:{free_port()}") == 1
    assert await probe("--worker", f"tcp://127.0.0.1:{free_port()}", env=env) == 1


async def _events(response: httpx.Response) -> Any:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


async def test_killing_a_hosts_worker_moves_traffic_to_the_other(cluster: Cluster) -> None:
    holder = preloaded(cluster)
    other = next(worker_id for worker_id in cluster.workers if worker_id != holder)
    body = {"model": MODEL, "voice": "alloy", "input": LONG_TEXT, "stream_format": "sse"}
    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream("POST", f"{cluster.gateways[0]}/v1/audio/speech", json=body) as response,
    ):
        assert response.headers["x-polyvox-worker"] == holder
        events = _events(response)
        assert (await anext(events))["type"] == "speech.audio.delta"
        cluster.workers[holder].process.kill()
        kinds = [event async for event in events]
    # The stream on the dead worker ends with a clear error, not a hang or a silent end.
    error = kinds[-1]
    assert error["type"] == "error", [event["type"] for event in kinds[-3:]]
    assert error["error"]["code"] == "unavailable"
    assert "worker" in error["error"]["message"]

    async def dropped() -> bool:
        known = [await worker_ids(url, state=None) for url in cluster.gateways]
        return all(holder not in ids for ids in known)

    await wait_for(dropped, timeout_s=30, what=f"{holder} dropped after its heartbeat expired")
    for url in cluster.gateways:
        response = await speak(url)
        assert response.status_code == 200
        assert response.headers["x-polyvox-worker"] == other

    async def published() -> bool:
        # The other worker loaded the model: its record says so, for every gateway.
        redis = cluster.redis.client()
        try:
            record = json.loads(await redis.get(f"polyvox:worker:{other}"))
        finally:
            await redis.aclose()
        return [r["model_id"] for r in record["description"].get("resident", [])] == [
            "en_US-joe-medium"
        ]

    await wait_for(published, timeout_s=30, what="the new resident model registered")
