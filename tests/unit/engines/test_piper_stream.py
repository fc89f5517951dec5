"""Piper decoded in slices (real joe voice): the same audio, the first chunk early."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from polyvox.engines.base import KnowsItsEnd, SynthesisRequest
from polyvox.engines.piper import PiperEngine, PiperModel
from polyvox.engines.piper_stream import split_voice

DETERMINISTIC = {"noise_scale": "0", "noise_w_scale": "0"}
LONG = "Please call me back tomorrow morning, when you have a moment to talk."
RATE_HZ = 22_050


@pytest.fixture(scope="module")
def joe() -> PiperModel:
    return PiperEngine(options=DETERMINISTIC).load("en_US-joe-medium")


def chunks(model: PiperModel, text: str, first_chunk_s: float | None) -> list[np.ndarray]:
    return list(model.synthesize(SynthesisRequest(text, "joe", first_chunk_s=first_chunk_s)))


def test_a_first_chunk_then_the_rest_match_the_whole_sentence(joe: PiperModel) -> None:
    whole = chunks(joe, LONG, None)
    sliced = chunks(joe, LONG, 0.35)
    assert len(whole) == 1
    assert len(sliced) == 2
    assert abs(sliced[0].size / RATE_HZ - 0.35) < 0.02
    joined = np.concatenate(sliced)
    assert joined.size == whole[0].size
    # Decoded with enough context, the slices' samples are the whole decode's.
    assert np.abs(joined - whole[0]).max() < 1e-4


def test_only_the_first_sentence_is_cut_and_the_iterator_knows_its_end(joe: PiperModel) -> None:
    audio = joe.synthesize(SynthesisRequest(f"{LONG} It is raining.", "joe", first_chunk_s=0.3))
    assert isinstance(audio, KnowsItsEnd)
    finished = []
    sizes = []
    for chunk in audio:
        sizes.append(chunk.size)
        finished.append(audio.finished)
    # First chunk, the rest of sentence one, sentence two; done only after the last.
    assert finished == [False, False, True]
    assert abs(sizes[0] / RATE_HZ - 0.3) < 0.02
    assert next(audio, None) is None


def test_a_sentence_shorter_than_the_first_chunk_comes_whole(joe: PiperModel) -> None:
    assert len(chunks(joe, "Hi.", 0.35)) == 1


def test_audio_has_one_level_and_never_clips(joe: PiperModel) -> None:
    texts = ["Hi.", "Wow! That is amazing!", LONG, "It is raining again today."]
    peaks = [max(float(np.abs(c).max()) for c in chunks(joe, text, 0.35)) for text in texts]
    assert all(0.3 < peak <= 1.0 for peak in peaks), peaks


def test_a_graph_without_piper_decoder_is_not_split(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="/enc_p/Identity")],
        "not-vits",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), path)
    assert split_voice(path, lambda model: model, hop_samples=256) is None
