from __future__ import annotations

import grpc
import pytest

from polyvox.contract.status import GRPC_STATUS, error_from_status
from polyvox.errors import (
    InternalError,
    InvalidArgument,
    ModelBusy,
    NotFound,
    PolyvoxError,
    ResourceExhausted,
    Unavailable,
)
from polyvox.gateway.errors import ApiError


@pytest.mark.parametrize(
    ("error", "status"),
    [(InvalidArgument("x"), 400), (NotFound("x"), 404), (ModelBusy("x"), 409),
     (ResourceExhausted("x"), 429), (Unavailable("x"), 503), (InternalError("x"), 500)],
)  # fmt: skip
def test_domain_errors_cross_grpc_as_themselves_and_map_to_http(
    error: PolyvoxError, status: int
) -> None:
    crossed = error_from_status(GRPC_STATUS[error.code], "x")
    assert type(crossed) is type(error)
    assert ApiError.from_domain(error).status == ApiError.from_domain(crossed).status == status


@pytest.mark.parametrize(
    "status",
    [grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE],
)
def test_a_worker_that_went_away_is_unavailable_and_says_so(status: grpc.StatusCode) -> None:
    error = error_from_status(status, "socket closed")
    assert isinstance(error, Unavailable)
    assert error.message == "speech worker unavailable: socket closed"


def test_an_unknown_status_is_an_internal_error_with_its_name() -> None:
    error = error_from_status(grpc.StatusCode.DATA_LOSS, None)
    assert isinstance(error, InternalError)
    assert error.message == "data_loss"


def test_retryable_errors_carry_retry_after() -> None:
    response = ApiError(429, "busy").response()
    assert response.headers["retry-after"] == "1"
    assert "retry-after" not in ApiError(400, "bad").response().headers
