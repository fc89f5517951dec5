"""Piper's VITS graph cut in two, so a sentence's first audio comes before the whole
sentence is decoded.

A Piper voice is one ONNX graph: the text encoder, duration predictor and flow turn
phonemes into latent frames (a third of the cost), then the HiFi-GAN decoder turns
frames into samples (two thirds, growing with the audio). Cut at the decoder's input,
the frames can be decoded in slices. The decoder's convolutions reach 10 frames either
side: with that much context a slice matches the whole decode to within float noise
(measured 3e-7 on en_US-joe-medium; with 8 frames the error is 1e-3), so each slice is
decoded with ``CONTEXT_FRAMES`` around it and trimmed. Each cut costs twice that
in extra decoding, ~10 ms.

The encoder half also hands out what the duration predictor decided: the frames each
phoneme id lasts (the graph's ``Ceil`` of its durations, which Piper's own
``patch_voice_with_alignment`` exposes the same way), from which word timings come.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.engines.base import EngineChunk, TimedChunk, WordMark

#: Frames of context decoded on each side of a slice (see the module docstring).
CONTEXT_FRAMES = 10
#: Piper exports name the decoder's nodes after the PyTorch module ``dec``.
_DECODER_PREFIX = "/dec/"


@dataclass(frozen=True)
class VitsHalves:
    """The two sessions of a split voice and how to feed the second."""

    encoder: object  # onnxruntime.InferenceSession: text to latent frames
    decoder: object  # onnxruntime.InferenceSession: latent frames to samples
    #: The decoder input that runs along time (frames); sliced.
    frames_input: str
    #: Other decoder inputs (a speaker embedding in multi-speaker voices); passed whole.
    other_inputs: tuple[str, ...]
    hop_samples: int
    #: The encoder's output with each phoneme id's length in frames; None when the
    #: graph has no single ``Ceil`` (no word timings then).
    durations_output: str | None = None


#: For word timings: given a sentence's index and its phoneme ids' lengths in samples,
#: the marks of its words (samples counted from the sentence's start).
SentenceWords = Callable[[int, np.ndarray], tuple[WordMark, ...]]


def split_voice(
    model_path: Path, make_session: Callable[[str], object], hop_samples: int
) -> VitsHalves | None:
    """Cut the voice at its decoder's input; ``None`` when the graph isn't a Piper export
    we recognise (the caller then runs the whole graph)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(model_path))
    graph = model.graph
    decoder_nodes = [node for node in graph.node if node.name.startswith(_DECODER_PREFIX)]
    if not decoder_nodes:
        return None
    produced = {name for node in decoder_nodes for name in node.output}
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [
        name
        for node in decoder_nodes
        for name in node.input
        if name and name not in produced and name not in weights
    ]
    decoder_inputs = list(dict.fromkeys(inputs))
    # The first decoder node (conv_pre) reads the frames; anything else is conditioning.
    frames_input = decoder_nodes[0].input[0]
    if frames_input not in decoder_inputs:
        return None
    ceils = [output for node in graph.node if node.op_type == "Ceil" for output in node.output]
    durations = ceils[0] if len(ceils) == 1 else None
    extractor = Extractor(model)
    encoder_outputs = decoder_inputs + ([durations] if durations else [])
    halves = {
        "encoder": extractor.extract_model([i.name for i in graph.input], encoder_outputs),
        "decoder": extractor.extract_model(decoder_inputs, [graph.output[0].name]),
    }
    # Through files: a session made from bytes keeps a copy of them (+60 MiB for a
    # medium voice); one made from a file does not, and the file can go once it is read.
    sessions = {}
    with tempfile.TemporaryDirectory(prefix="polyvox-piper-") as workdir:
        for name, half in halves.items():
            path = Path(workdir) / f"{name}.onnx"
            onnx.save(half, str(path))
            sessions[name] = make_session(str(path))
    return VitsHalves(
        encoder=sessions["encoder"],
        decoder=sessions["decoder"],
        frames_input=frames_input,
        other_inputs=tuple(name for name in decoder_inputs if name != frames_input),
        hop_samples=hop_samples,
        durations_output=durations,
    )


class SlicedSynthesis(Iterator[EngineChunk]):
    """One request's audio, one scheduler step per ``next``: each sentence is encoded
    and decoded whole, except the first, whose first ``first_chunk_frames`` come as a
    chunk of their own. ``finished`` says, after a chunk, whether another will come.
    With ``words``, each sentence's first chunk carries its words' marks."""

    def __init__(
        self,
        halves: VitsHalves,
        sentences: Callable[[], Sequence[Mapping[str, np.ndarray]]],
        *,
        gain: float,
        first_chunk_frames: int | None,
        words: SentenceWords | None = None,
    ) -> None:
        self._halves = halves
        #: Phonemized on the first step, in the scheduler's thread, not the caller's.
        self._prepare: Callable[[], Sequence[Mapping[str, np.ndarray]]] | None = sentences
        self._sentences: Iterator[Mapping[str, np.ndarray]] = iter(())
        self._remaining_sentences = 1
        self._gain = gain
        self._first_chunk_frames = first_chunk_frames
        self._latents: dict[str, np.ndarray] = {}
        self._next_frame = 0
        self._words = words if halves.durations_output else None
        self._sentence = -1
        #: Samples of the sentences before the current one.
        self._sentence_start = 0
        self._sentence_samples = 0

    @property
    def finished(self) -> bool:
        return self._remaining_sentences == 0 and not self._latents

    def __next__(self) -> EngineChunk:
        if self._prepare is not None:
            sentences, self._prepare = self._prepare(), None
            self._sentences, self._remaining_sentences = iter(sentences), len(sentences)
        marks: tuple[WordMark, ...] = ()
        if not self._latents:
            marks = self._encode(next(self._sentences))  # StopIteration ends the request
        frames = self._latents[self._halves.frames_input].shape[2]
        stop = frames
        if self._first_chunk_frames and frames > self._first_chunk_frames + CONTEXT_FRAMES:
            stop = self._first_chunk_frames
        self._first_chunk_frames = None
        samples = self._decode(self._next_frame, stop)
        self._next_frame = stop
        if stop == frames:
            self._latents = {}
        return TimedChunk(samples, marks) if marks else samples

    def _encode(self, feeds: Mapping[str, np.ndarray]) -> tuple[WordMark, ...]:
        """Run the encoder on the next sentence; the marks of its words, if asked for."""
        self._remaining_sentences -= 1
        self._sentence += 1
        self._sentence_start += self._sentence_samples
        halves = self._halves
        names = [halves.frames_input, *halves.other_inputs]
        wanted = names + ([halves.durations_output] if self._words else [])
        outputs = halves.encoder.run(wanted, dict(feeds))  # type: ignore[attr-defined]
        self._latents = dict(zip(names, outputs, strict=False))
        self._next_frame = 0
        self._sentence_samples = self._latents[halves.frames_input].shape[2] * halves.hop_samples
        if self._words is None:
            return ()
        id_samples = np.asarray(outputs[-1]).reshape(-1).astype(np.int64) * halves.hop_samples
        start = self._sentence_start
        return tuple(
            WordMark(m.text_start, m.text_end, m.start_sample + start, m.end_sample + start)
            for m in self._words(self._sentence, id_samples)
        )

    def _decode(self, start: int, stop: int) -> np.ndarray:
        """Samples of frames [start, stop), decoded with context on both sides."""
        frames = self._latents[self._halves.frames_input]
        low = max(0, start - CONTEXT_FRAMES)
        high = min(frames.shape[2], stop + CONTEXT_FRAMES)
        feeds = {name: self._latents[name] for name in self._halves.other_inputs}
        feeds[self._halves.frames_input] = np.ascontiguousarray(frames[:, :, low:high])
        audio = self._halves.decoder.run(None, feeds)[0].reshape(-1)  # type: ignore[attr-defined]
        hop = self._halves.hop_samples
        audio = audio[(start - low) * hop : (stop - low) * hop]
        return np.clip(audio * self._gain, -1.0, 1.0).astype(np.float32)


def frames_for(seconds: float, sample_rate_hz: int, hop_samples: int) -> int:
    return max(1, math.ceil(seconds * sample_rate_hz / hop_samples))
