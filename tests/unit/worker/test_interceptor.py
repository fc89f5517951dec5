"""Errors leave a worker as a status with a message for the client, never as a repr."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.contract.client import WorkerClient
from polyvox.errors import InternalError, NotFound
from polyvox.worker.interceptor import ErrorMappingInterceptor


class Failing(worker_pb2_grpc.WorkerServicer):
    async def Describe(
        self, request: pb.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerInfo:
        raise RuntimeError("secret internals at 0x7f00")

    async def Load(
        self, request: pb.LoadRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoadResponse:
        raise NotFound(f"no model {request.model_id!r}")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[WorkerClient]:
    server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()])
    worker_pb2_grpc.add_WorkerServicer_to_server(Failing(), server)
    address = f"unix://{tmp_path / 'w.sock'}"
    server.add_insecure_port(address)
    await server.start()
    client = WorkerClient(address)
    try:
        yield client
    finally:
        await client.close()
        await server.stop(None)


async def test_an_unexpected_error_is_internal_with_a_clear_message(
    client: WorkerClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(InternalError) as caught:
        await client.describe()
    assert caught.value.message == (
        "internal worker error (RuntimeError); the worker's log has the details"
    )
    assert "secret internals" in caplog.text  # the detail is logged, not sent


async def test_a_domain_error_keeps_its_kind_and_message(client: WorkerClient) -> None:
    with pytest.raises(NotFound, match="no model 'x'"):
        await client.load("x")
