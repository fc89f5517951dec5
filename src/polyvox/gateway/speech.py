"""Turn worker audio into the client's format: resample, then encode, per request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from polyvox.audio import AudioEncoder, OutputFormat, StreamResampler, create_encoder
from polyvox.gateway.worker_client import AudioChunk, SynthesisSettings, WorkerClient

#: OpenAI's API returns 24 kHz audio; so do we unless the client asks otherwise.
DEFAULT_SAMPLE_RATE_HZ = 24_000


@dataclass(slots=True)
class EncodedSpeech:
    body: bytes
    content_type: str
    sample_rate_hz: int
    duration_s: float


class _Pipeline:
    """One stateful resampler and one encoder for one request."""

    def __init__(self, encoder: AudioEncoder) -> None:
        self.encoder = encoder
        self.resampler: StreamResampler | None = None
        self.output_samples = 0

    def push(self, chunk: AudioChunk) -> bytes:
        if self.resampler is None:
            self.resampler = StreamResampler(
                in_rate_hz=chunk.sample_rate_hz, out_rate_hz=self.encoder.sample_rate_hz
            )
        return self._encode(self.resampler.process(chunk.samples))

    def finish(self) -> bytes:
        tail = self._encode(self.resampler.flush()) if self.resampler is not None else b""
        return tail + self.encoder.flush()

    def _encode(self, samples: np.ndarray) -> bytes:
        self.output_samples += samples.size
        return self.encoder.encode(samples) if samples.size else b""


async def synthesize_encoded(
    client: WorkerClient,
    settings: SynthesisSettings,
    segments: list[str],
    *,
    response_format: OutputFormat,
    sample_rate_hz: int,
) -> EncodedSpeech:
    """Synthesize ``segments`` and return the whole encoded file."""
    # A whole-file answer: the encoder may seek, so sizes and gapless info are exact.
    encoder = create_encoder(response_format, sample_rate_hz=sample_rate_hz, complete_file=True)
    pipeline = _Pipeline(encoder)
    parts: list[bytes] = []
    async for item in client.synthesize(settings, segments):
        if isinstance(item, AudioChunk) and item.samples.size:
            # Resampling and encoding are CPU work: keep them off the event loop.
            parts.append(await asyncio.to_thread(pipeline.push, item))
    parts.append(await asyncio.to_thread(pipeline.finish))
    return EncodedSpeech(
        body=b"".join(parts),
        content_type=encoder.content_type,
        sample_rate_hz=sample_rate_hz,
        duration_s=pipeline.output_samples / sample_rate_hz,
    )
