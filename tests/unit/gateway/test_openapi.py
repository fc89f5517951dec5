"""The OpenAPI schema documents our error answers, not FastAPI's default 422."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from polyvox.config import Settings
from polyvox.gateway.app import create_app

OPEN = {"/healthz", "/readyz", "/metrics"}


def schema(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return create_app(Settings(home=tmp_path, **settings)).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize("keys", [[], ["k"]], ids=["open", "with-keys"])
def test_every_operation_documents_its_errors(tmp_path: Path, keys: list[str]) -> None:
    document = schema(tmp_path, api_keys=keys)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorResponse", (path, method, status)
        assert "500" in responses
        assert ("401" in responses) == (bool(keys) and path not in OPEN), (path, method)
        if "requestBody" in operation or operation.get("parameters"):
            assert "400" in responses, (path, method)


def test_speech_documents_its_own_statuses_and_audio(tmp_path: Path) -> None:
    speech = schema(tmp_path)["paths"]["/v1/audio/speech"]["post"]["responses"]
    assert {"400", "404", "413", "422", "429", "503", "504"} <= speech.keys()
    assert "audio/mpeg" in speech["200"]["content"]
    assert "text/event-stream" in speech["200"]["content"]
    assert "no audio" in speech["422"]["description"]
