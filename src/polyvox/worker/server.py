"""Run one worker: engine + model manager + gRPC server, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from polyvox._proto.polyvox.v1 import worker_pb2, worker_pb2_grpc
from polyvox.addresses import grpc_target
from polyvox.engines.registry import engine_class
from polyvox.worker.admission import Admission
from polyvox.worker.interceptor import ErrorMappingInterceptor
from polyvox.worker.link import TokenInterceptor, server_credentials
from polyvox.worker.models import ModelManager
from polyvox.worker.registration import Registration
from polyvox.worker.scheduler import DeadlineScheduler
from polyvox.worker.servicer import WorkerServicer
from polyvox.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)

_PARENT_POLL_S = 1.0
#: Gateways ping idle links every 10 s (contract/client.py) to notice a vanished host;
#: gRPC servers refuse pings more often than every 5 minutes unless told otherwise.
_SERVER_OPTIONS = (
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
)


def _prepare_socket(listen: str) -> None:
    """Remove a stale Unix socket left by a crashed predecessor."""
    parts = urlsplit(listen)
    if parts.scheme == "unix":
        path = Path(parts.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once the process that started us (the supervisor) has exited."""
    if hasattr(os, "pidfd_open"):
        # Linux: a pidfd turns readable when the process exits; no polling.
        try:
            fd = os.pidfd_open(parent_pid)
        except ProcessLookupError:
            fd = None
        if fd is not None:
            exited = asyncio.Event()
            asyncio.get_running_loop().add_reader(fd, exited.set)
            try:
                await exited.wait()
            finally:
                asyncio.get_running_loop().remove_reader(fd)
                os.close(fd)
    else:
        while os.getppid() == parent_pid:  # noqa: ASYNC110 - no exit event without pidfd
            await asyncio.sleep(_PARENT_POLL_S)
    logger.warning("parent process %s is gone; shutting down", parent_pid)
    stop.set()


async def serve(settings: WorkerSettings) -> None:
    engine = engine_class(settings.engine)(
        options=settings.options,
        device=settings.device,
        threads_per_inference=max(1, (os.cpu_count() or 1) // settings.inference_threads),
    )
    inference = ThreadPoolExecutor(settings.inference_threads, thread_name_prefix="inference")
    # Loads get threads of their own so a load never waits behind (or blocks) inference.
    loads = ThreadPoolExecutor(settings.lifecycle.max_parallel_loads, thread_name_prefix="load")
    models = ModelManager(
        engine=engine,
        executor=loads,
        lifecycle=settings.lifecycle,
        pinned=frozenset(settings.preload),
    )
    scheduler = DeadlineScheduler(
        executor=inference,
        concurrency=settings.inference_threads,
        # Each open stream has at most one step queued (a listening transcription
        # stream queues its VAD steps too), so open streams bound the queue.
        max_queued=settings.max_sessions,
    )
    scheduler.start()
    admission = Admission(
        capacity=settings.capacity,
        max_sessions=settings.max_sessions,
        max_realtime_load=settings.max_realtime_load,
        inference_threads=settings.inference_threads,
    )
    servicer = WorkerServicer(
        settings=settings, engine=engine, models=models, scheduler=scheduler, admission=admission
    )

    interceptors: list[grpc.aio.ServerInterceptor] = []
    if settings.link_token is not None:
        interceptors.append(TokenInterceptor(settings.link_token.get_secret_value()))
    interceptors.append(ErrorMappingInterceptor())
    server = grpc.aio.server(interceptors=interceptors, options=_SERVER_OPTIONS)
    worker_pb2_grpc.add_WorkerServicer_to_server(servicer, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    _prepare_socket(settings.listen)
    credentials = server_credentials(settings)
    if credentials is None:
        server.add_insecure_port(grpc_target(settings.listen))
    else:
        server.add_secure_port(grpc_target(settings.listen), credentials)
    probes = _health_server(settings.health_listen, health)
    registration = _registration(settings, servicer, models)
    if registration is not None:
        try:
            await registration.claim()  # a duplicate id stops here, before serving anything
        except BaseException:
            await registration.close()
            await scheduler.stop()
            raise

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # The handler only records the request; shutdown runs below, in the loop.
        loop.add_signal_handler(signum, stop.set)

    watcher = (
        asyncio.create_task(_watch_parent(os.getppid(), stop), name="parent-watch")
        if settings.exit_with_parent
        else None
    )
    await server.start()
    if probes is not None:
        await probes.start()
    worker_service = worker_pb2.DESCRIPTOR.services_by_name["Worker"].full_name
    for service in ("", worker_service):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    evictor = asyncio.create_task(
        models.run_eviction(settings.lifecycle.evict_check_interval_s), name="evictor"
    )
    logger.info("worker %s (%s) listening on %s", settings.worker_id, engine.name, settings.listen)
    heartbeat = asyncio.create_task(registration.run(), name="heartbeat") if registration else None
    # Health answers while preloading; a request meanwhile shares the running load.
    for model_id in settings.preload:
        try:
            await models.load(model_id)
        except Exception:
            # A bad preload entry must not crash-loop the worker; requests say why.
            logger.exception("could not preload %s", model_id)
    await stop.wait()

    if heartbeat is not None and registration is not None:
        # Out of the registry first, so gateways send no new streams while this drains.
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await registration.deregister()
        await registration.close()
    logger.info("draining: waiting up to %.1f s for running streams", settings.drain_timeout_s)
    admission.draining = True
    await health.enter_graceful_shutdown()  # every service answers NOT_SERVING from now
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(admission.idle.wait(), settings.drain_timeout_s)
    await server.stop(grace=1.0)
    if probes is not None:
        await probes.stop(grace=None)
    evictor.cancel()
    if watcher is not None:
        watcher.cancel()
    await scheduler.stop()
    await models.close()
    inference.shutdown(wait=False, cancel_futures=True)
    loads.shutdown(wait=False, cancel_futures=True)


def _health_server(
    address: str | None, health: health_aio.HealthServicer
) -> grpc.aio.Server | None:
    """A plaintext server answering only grpc.health.v1, for probes that cannot present
    a client certificate; it shares the main server's health states."""
    if address is None:
        return None
    server = grpc.aio.server(options=_SERVER_OPTIONS)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    _prepare_socket(address)
    server.add_insecure_port(grpc_target(address))
    return server


def _registration(
    settings: WorkerSettings, servicer: WorkerServicer, models: ModelManager
) -> Registration | None:
    if settings.registry is None:
        return None
    return Registration(
        url=settings.registry,
        prefix=settings.registry_prefix,
        worker_id=settings.worker_id,
        engine=settings.engine,
        address=settings.advertised(),
        tls=settings.tls_cert_file is not None,
        ttl_s=settings.registry_ttl_s,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        describe=servicer.describe,
        resident_signature=lambda: (tuple(models.resident), tuple(models.loading)),
    )
