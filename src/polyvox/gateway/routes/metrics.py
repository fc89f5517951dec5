"""``GET /metrics``: Prometheus text exposition (see polyvox.gateway.metrics)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from polyvox.gateway.metrics import GatewayMetrics

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics."}},
)
async def metrics(request: Request) -> Response:
    """Gateway and worker metrics; worker figures are from the latest Describe poll."""
    gateway_metrics: GatewayMetrics = request.app.state.metrics
    return Response(generate_latest(gateway_metrics.registry), media_type=CONTENT_TYPE_LATEST)
