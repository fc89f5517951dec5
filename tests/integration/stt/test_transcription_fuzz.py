"""Fuzz POST /v1/audio/transcriptions against a gateway that really serves Whisper.

The main suite's fuzz test (test_openapi_fuzz.py) runs against a Piper-only gateway,
where every transcription request stops at "unknown model". Here the model is
pinned to the served one, so random files, languages, prompts, temperatures and
formats reach the decoder and the worker: none may answer a 5xx or break the schema.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support.servers import Gateway

FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_transcriptions_fuzz_with_the_served_model(stt_gateway: Gateway) -> None:
    schema = schemathesis.openapi.from_url(f"{stt_gateway.url}/openapi.json", timeout=30)
    (operation,) = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().label == "POST /v1/audio/transcriptions"
    ]

    def served(case: Any) -> Any:
        case.body = {**case.body, "model": "whisper-1"}
        return case

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(served))
    def fuzz(case: Any) -> None:
        case.call_and_validate(base_url=stt_gateway.url, checks=CHECKS, timeout=120)

    fuzz()
