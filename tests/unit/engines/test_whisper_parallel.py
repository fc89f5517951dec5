"""Whisper's parallel inferences run in parallel: CTranslate2 runs one call per worker
and queues the rest, so a worker running several decodes at once (``inference_threads``)
needs as many CTranslate2 workers."""

from __future__ import annotations

import os

import pytest

from polyvox.engines.whisper import WhisperEngine

CORES = os.cpu_count() or 1


@pytest.mark.parametrize(
    ("threads_per_inference", "workers"),
    [(None, 1), (CORES, 1), (1, CORES)],
)
def test_one_ctranslate2_worker_per_inference_at_once(
    threads_per_inference: int | None, workers: int
) -> None:
    model = WhisperEngine(threads_per_inference=threads_per_inference).load("tiny.en")
    try:
        assert model._model.model.num_workers == workers
    finally:
        model.close()
