"""Fuzz every operation of ``/openapi.json`` with schemathesis against the live gateway.

Every operation gets valid and invalid inputs (a bounded number of each, so the
module stays well under a minute) and must never answer a 5xx. Answers must
also match what the schema documents: status codes, content types and, for
JSON, the body schema (audio bodies are not JSON and are not schema-checked).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from support.servers import Gateway

#: Examples per operation and generation mode: enough to find the crash classes
#: (types, bounds, encodings), few enough for CI. Raise it for a deeper local run.
MAX_EXAMPLES = int(os.environ.get("POLYVOX_FUZZ_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # no timing thresholds: a slow 2-core CI box is not a failure
    database=None,  # no .hypothesis/ directory in the work tree
    suppress_health_check=list(HealthCheck),
)
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Invalid inputs must be refused: no 5xx, and a 4xx rather than a 2xx.
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]


def load_operations(gateway: Gateway) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json", timeout=30)
    return [result.ok() for result in schema.get_all_operations()]


def negatable(operation: Any) -> bool:
    """Whether invalid input exists: a body, or a parameter that is not any string
    (every URL path segment is a string, so a string path parameter has no invalid value)."""
    definition = operation.definition.raw
    return "requestBody" in definition or any(
        parameter.get("schema", {}).get("type") != "string" or parameter.get("in") != "path"
        for parameter in definition.get("parameters", ())
    )


@pytest.fixture(scope="module")
def operations(gateway: Gateway) -> list[Any]:
    found = load_operations(gateway)
    assert any(op.path == "/v1/audio/speech" for op in found)
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_5xx(
    gateway: Gateway, operations: list[Any], mode: GenerationMode
) -> None:
    checks = CONFORMANCE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not negatable(operation):
            continue  # nothing to make invalid
        strategy = operation.as_strategy(generation_mode=mode)

        @FUZZ_SETTINGS
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            case.call_and_validate(base_url=gateway.url, checks=checks, timeout=60)

        fuzz()


def test_error_responses_are_documented(gateway: Gateway, operations: list[Any]) -> None:
    for operation in operations:
        responses = operation.definition.raw["responses"]
        assert "500" in responses, operation.label
        # Only speech (and its captions) answers 422: input that yields no audio.
        speech = operation.path in ("/v1/audio/speech", "/v1/audio/speech/captions")
        assert "422" not in responses or speech, operation.label
        error = responses["500"]["content"]["application/json"]["schema"]
        assert error["$ref"].endswith("/ErrorResponse")


def test_speech_fuzz_with_a_real_model(gateway: Gateway, operations: list[Any]) -> None:
    """Valid bodies naming the served model: random text, formats, rates, speeds, all
    through real synthesis. The model and voice are pinned (random ones are 404s)."""
    (speech,) = [op for op in operations if op.label == "POST /v1/audio/speech"]

    def served(case: Any) -> Any:
        case.body = {**case.body, "model": "tts-1", "voice": "alloy"}
        return case

    @FUZZ_SETTINGS
    @given(case=speech.as_strategy(generation_mode=GenerationMode.POSITIVE).map(served))
    def fuzz(case: Any) -> None:
        case.call_and_validate(base_url=gateway.url, checks=CONFORMANCE_CHECKS, timeout=120)

    fuzz()
