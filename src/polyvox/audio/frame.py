"""Cut a stream of 16-bit samples into fixed frames (default 20 ms)."""

from __future__ import annotations

#: Bytes per sample of the framed output (s16le mono).
SAMPLE_WIDTH_BYTES = 2


class Framer:
    """Accumulate s16le bytes; hand out whole frames of ``frame_ms`` at ``sample_rate_hz``."""

    def __init__(self, *, sample_rate_hz: int, frame_ms: int = 20) -> None:
        samples_per_frame = sample_rate_hz * frame_ms // 1000
        if samples_per_frame < 1:
            raise ValueError(f"a {frame_ms} ms frame at {sample_rate_hz} Hz holds no sample")
        self.frame_bytes = samples_per_frame * SAMPLE_WIDTH_BYTES
        self._pending = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        self._pending += data
        whole = len(self._pending) // self.frame_bytes * self.frame_bytes
        frames = [
            bytes(self._pending[start : start + self.frame_bytes])
            for start in range(0, whole, self.frame_bytes)
        ]
        del self._pending[:whole]
        return frames

    def flush(self) -> list[bytes]:
        """The last partial frame, padded with silence so every frame has the same size."""
        if not self._pending:
            return []
        frame = bytes(self._pending) + bytes(self.frame_bytes - len(self._pending))
        self._pending.clear()
        return [frame]
