from __future__ import annotations

import grpc
import pytest

from polyvox.errors import InvalidArgument, ModelBusy, NotFound, ResourceExhausted, Unavailable
from polyvox.gateway.errors import ApiError
from polyvox.worker.interceptor import GRPC_STATUS


@pytest.mark.parametrize(
    ("error", "status"),
    [(InvalidArgument("x"), 400), (NotFound("x"), 404), (ModelBusy("x"), 409),
     (ResourceExhausted("x"), 429), (Unavailable("x"), 503)],
)  # fmt: skip
def test_domain_errors_map_to_http_through_grpc(error: Exception, status: int) -> None:
    assert isinstance(
        error, InvalidArgument | NotFound | ModelBusy | ResourceExhausted | Unavailable
    )
    direct = ApiError.from_domain(error)
    rpc_error = grpc.aio.AioRpcError(
        GRPC_STATUS[error.code], grpc.aio.Metadata(), grpc.aio.Metadata(), details="x"
    )
    assert direct.status == ApiError.from_grpc(rpc_error).status == status


def test_retryable_errors_carry_retry_after() -> None:
    response = ApiError(429, "busy").response()
    assert response.headers["retry-after"] == "1"
    assert "retry-after" not in ApiError(400, "bad").response().headers
