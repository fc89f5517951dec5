"""Kokoro-82M's ONNX graph cut in two at its decoder (:mod:`kokoro_stream` says why,
:mod:`kokoro_decode` how the halves are fed).

Kokoro is StyleTTS 2 with an iSTFTNet decoder. Before the decoder (a few percent of
the time) the text encoders, duration and prosody predictors make per-frame features:
ASR features (512 channels, one frame per 600 samples at 24 kHz), F0 and energy (two
values per frame). The decoder turns frames into samples. The cut is where those
features enter the nodes the export names ``/decoder/...``; the int8 export's
``DynamicQuantizeLinear`` of the ASR features goes with the decoder, so the halves
exchange float tensors, and chained they give the whole graph's samples exactly.

The decoder half gets more inputs:

- ``phase_offset``, added to its harmonic source's running phase (a ``CumSum`` over
  ``frac(F0 * k / rate)``, k = 1..9), so a slice of frames can continue the phase of
  the frames before it;
- ``frame_weights`` and ``weighted_statistics``: with the flag set, every instance
  normalization (AdaIN's mean and variance over time) weighs each frame as given,
  so a few frames can stand for many (:mod:`kokoro_decode`). Unset, the original
  ``ReduceMean`` runs (an ``If`` per statistic), so a whole decode is still the whole
  graph's, bit for bit.

The encoder half also gives the duration predictor's frames per token, where the
graph has them: they say where a sentence's silence is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

PHASE_INPUT = "phase_offset"
WEIGHTS_INPUT = "frame_weights"
WEIGHTED_INPUT = "weighted_statistics"
_DECODER_PREFIX = "/decoder/"
_ENCODER_PREFIX = "/encoder/"


@dataclass(frozen=True)
class KokoroHalves:
    """The two sessions of a cut model and how to feed them."""

    encoder: Any  # onnxruntime.InferenceSession: tokens, style, speed -> frame features
    decoder: Any  # onnxruntime.InferenceSession: frame features, style, phase -> samples
    #: The decoder input running along frames, shaped [1, channels, frames].
    frames_input: str
    #: The two decoder inputs with two values per frame, shaped [1, 2 * frames].
    curve_inputs: tuple[str, str]
    #: Which curve is F0, the harmonic source's input.
    f0_input: str
    style_input: str
    #: Multiples of F0 the harmonic source makes, and the rate its phase divides by.
    harmonics: np.ndarray
    source_rate_hz: float
    #: Whether the decoder takes frame weights for its statistics (WEIGHTS_INPUT).
    weighs_frames: bool

    def phase_offset(self, f0: np.ndarray, start: int) -> np.ndarray:
        """The harmonic source's phase (in cycles, mod 1) after the F0 values before
        ``start``: what a slice starting there adds to its own running phase to
        continue the whole's.

        Each value's increment is computed as the graph does, in float32
        (``frac(F0 * k / rate)``), then summed in float64; whole cycles drop out."""
        before = self._phase_of(f0.reshape(-1)[:start].astype(np.float32))
        return np.mod(before, 1.0).astype(np.float32).reshape(1, 1, -1)

    def _phase_of(self, f0: np.ndarray) -> np.ndarray:
        increments = f0[:, None] * self.harmonics / np.float32(self.source_rate_hz)
        increments = increments - np.floor(increments)
        return np.asarray(increments.astype(np.float64).sum(axis=0))


@dataclass(frozen=True)
class _Phase:
    harmonics: np.ndarray
    rate_hz: float
    #: The tensor the harmonic source's phase is computed from (upsampled F0).
    source: str


def split_model(model_path: Path, make_session: Callable[[str], Any]) -> KokoroHalves | None:
    """Cut the model at its decoder; ``None`` when the graph is not a Kokoro export
    this recognises (the caller then runs the whole graph)."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(model_path))
    graph = model.graph
    graph_inputs = [i.name for i in graph.input]
    cut = _decoder_inputs(graph)
    styles = [name for name in cut if name in graph_inputs]
    extractor = Extractor(model)  # infers shapes: the cut tensors' ranks tell them apart
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in extractor.model.graph.value_info}
    frames = [name for name in cut if ranks.get(name) == 3]
    curves = [name for name in cut if ranks.get(name) == 2 and name not in styles]
    if len(styles) != 1 or len(frames) != 1 or len(curves) != 2 or len(cut) != 4:
        return None
    decoder = extractor.extract_model(cut, [graph.output[0].name])
    phase = _add_phase_offset(decoder.graph)
    if phase is None:
        return None
    weighs_frames = _weigh_statistics(decoder.graph)
    if not _is_closed(decoder.graph):
        return None
    f0 = [name for name in curves if _reaches(decoder.graph, name, phase.source)]
    if len(f0) != 1:
        return None
    durations = _durations_output(graph)
    encoder = extractor.extract_model(
        graph_inputs, [frames[0], *curves] + ([durations] if durations else [])
    )
    sessions = {}
    # Through files: a session made from bytes keeps a copy of them (see kokoro_weights).
    with tempfile.TemporaryDirectory(prefix="polyvox-kokoro-") as workdir:
        for name, half in (("encoder", encoder), ("decoder", decoder)):
            path = Path(workdir) / f"{name}.onnx"
            onnx.save(half, str(path))
            sessions[name] = make_session(str(path))
    del model, graph, extractor, encoder, decoder
    _return_freed_heap()
    return KokoroHalves(
        encoder=sessions["encoder"],
        decoder=sessions["decoder"],
        frames_input=frames[0],
        curve_inputs=(curves[0], curves[1]),
        f0_input=f0[0],
        style_input=styles[0],
        harmonics=phase.harmonics,
        source_rate_hz=phase.rate_hz,
        weighs_frames=weighs_frames,
    )


def _return_freed_heap() -> None:
    """The graph was parsed twice (once more for shape inference), ~90 MB each; glibc
    keeps the freed heap, and RSS with it, until the worker's next eviction trims it
    (measured after load: 419 MiB without this, 307 with it; one graph: 257)."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


def _decoder_inputs(graph: onnx.GraphProto) -> list[str]:
    """Float tensors the decoder's nodes read from the rest of the graph."""
    producers = {out: node for node in graph.node for out in node.output}
    graph_inputs = {i.name for i in graph.input}
    cut = []
    for node in graph.node:
        if not node.name.startswith(_DECODER_PREFIX):
            continue
        for name in node.input:
            producer = producers.get(name)
            if producer is None:
                if name in graph_inputs:
                    cut.append(name)
            elif producer.name.startswith(_ENCODER_PREFIX):
                # The int8 export quantizes the ASR features on the encoder's side of
                # the names; the quantization belongs with the decoder that reads it.
                quantizes = producer.op_type == "DynamicQuantizeLinear"
                cut.append(producer.input[0] if quantizes else name)
    return list(dict.fromkeys(cut))


def _add_phase_offset(graph: onnx.GraphProto) -> _Phase | None:
    """Add ``phase_offset`` to the harmonic source's running phase; read its constants.

    The source (Kokoro's ``SineGen``) computes ``frac(f0_up * harmonics / rate)``,
    resamples it to F0's frames, transposes it to [1, frames, harmonics] and sums
    along frames; anything else is not a graph this knows how to continue."""
    from onnx import TensorProto, helper

    producers = {out: node for node in graph.node for out in node.output}
    sums = [n for n in graph.node if n.op_type == "CumSum" and n.name.startswith(_DECODER_PREFIX)]
    if len(sums) != 1:
        return None
    cumsum = sums[0]
    chain = _chain(producers, cumsum.input[0], ["Transpose", "Resize", "Sub", "Div", "Mul"])
    if chain is None:
        return None
    transpose, _, _, div, mul = chain
    perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"]
    rate = _constant(graph, div.input[1])
    harmonics = _constant(graph, mul.input[1])
    if perm != [[0, 2, 1]] or rate is None or rate.size != 1 or harmonics is None:
        return None
    local = cumsum.output[0] + "_within_slice"
    total = cumsum.output[0]
    cumsum.output[0] = local
    index = list(graph.node).index(cumsum)
    add = helper.make_node("Add", [local, PHASE_INPUT], [total], name="/polyvox/phase_offset")
    graph.node.insert(index + 1, add)
    graph.input.append(
        helper.make_tensor_value_info(PHASE_INPUT, TensorProto.FLOAT, [1, 1, harmonics.size])
    )
    return _Phase(
        harmonics=harmonics.reshape(-1).astype(np.float32),
        rate_hz=float(rate.reshape(-1)[0]),
        source=mul.input[0],
    )


def _weigh_statistics(graph: onnx.GraphProto) -> bool:
    """Let every instance normalization weigh frames (``WEIGHTS_INPUT``, one weight per
    frame, stretched to the layer's rate) when ``WEIGHTED_INPUT`` is set.

    An instance norm here is ``ReduceMean(x)`` over time, ``Sub``, a square, and
    ``ReduceMean`` again. Weighted, each mean becomes ``x @ w`` with ``w`` the
    normalized weights as a column, a matrix-vector product as cheap as the mean.
    False (the graph unchanged) when no norm is found."""
    from onnx import TensorProto, helper

    norms = _instance_norms(graph)
    if not norms:
        return False
    graph.input.append(
        helper.make_tensor_value_info(WEIGHTS_INPUT, TensorProto.FLOAT, [1, 1, "frames"])
    )
    graph.input.append(helper.make_tensor_value_info(WEIGHTED_INPUT, TensorProto.BOOL, []))
    graph.initializer.extend(
        [
            _int64s("/polyvox/time_axis", [2]),
            _int64s("/polyvox/one_one", [1, 1]),
            _int64s("/polyvox/column", [-1, 1]),
        ]
    )
    nodes = list(graph.node)
    for index, (mean, variances) in enumerate(norms):
        prefix = f"/polyvox/weighted_norm_{index}"
        column = f"{prefix}/column"
        weights = [
            helper.make_node("Shape", [mean.input[0]], [f"{prefix}/shape"]),
            helper.make_node(
                "Gather", [f"{prefix}/shape", "/polyvox/time_axis"], [f"{prefix}/length"]
            ),
            helper.make_node(
                "Concat", ["/polyvox/one_one", f"{prefix}/length"], [f"{prefix}/sizes"], axis=0
            ),
            # One weight per frame, repeated across the samples a layer has per frame.
            helper.make_node(
                "Resize",
                [WEIGHTS_INPUT, "", "", f"{prefix}/sizes"],
                [f"{prefix}/stretched"],
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            ),
            helper.make_node(
                "ReduceSum", [f"{prefix}/stretched", "/polyvox/time_axis"], [f"{prefix}/total"]
            ),
            helper.make_node(
                "Div", [f"{prefix}/stretched", f"{prefix}/total"], [f"{prefix}/normalized"]
            ),
            helper.make_node("Reshape", [f"{prefix}/normalized", "/polyvox/column"], [column]),
        ]
        position = nodes.index(mean)
        nodes[position:position] = weights
        for reduce in (mean, *variances):
            nodes[nodes.index(reduce)] = _weighted_or_mean(reduce, column)
    del graph.node[:]
    graph.node.extend(nodes)
    return True


def _instance_norms(graph: onnx.GraphProto) -> list[tuple[Any, list[Any]]]:
    """(mean, [variances]) of each instance norm over time in the decoder (a mean the
    export shares between norms of the same input has a variance for each)."""
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in dict.fromkeys(node.input):  # a square reads its input twice
            consumers.setdefault(name, []).append(node)

    def over_time(node: Any) -> bool:
        axes = _constant(graph, node.input[1]) if len(node.input) > 1 else None
        keepdims = [a.i for a in node.attribute if a.name == "keepdims"] or [1]
        return axes is not None and axes.tolist() in ([2], [-1]) and keepdims == [1]

    norms = []
    for mean in graph.node:
        if mean.op_type != "ReduceMean" or not over_time(mean):
            continue
        variances = []
        for sub in consumers.get(mean.output[0], []):
            if sub.op_type != "Sub" or list(sub.input) != [mean.input[0], mean.output[0]]:
                continue
            for square in consumers.get(sub.output[0], []):
                if square.op_type == "Mul" and list(square.input) == [sub.output[0]] * 2:
                    variances += [
                        n
                        for n in consumers.get(square.output[0], [])
                        if n.op_type == "ReduceMean" and over_time(n)
                    ]
        if variances:
            norms.append((mean, variances))
    return norms


def _weighted_or_mean(reduce: Any, column: str) -> Any:
    """``If(WEIGHTED_INPUT)``: ``x @ column``, else the original ``ReduceMean``."""
    from onnx import TensorProto, helper

    out = reduce.output[0]
    weighted = helper.make_graph(
        [helper.make_node("MatMul", [reduce.input[0], column], [f"{out}/weighted"])],
        f"{out}/weighted_branch",
        [],
        [helper.make_tensor_value_info(f"{out}/weighted", TensorProto.FLOAT, None)],
    )
    plain = helper.make_node("ReduceMean", list(reduce.input), [f"{out}/plain"], name=reduce.name)
    plain.attribute.extend(reduce.attribute)
    unweighted = helper.make_graph(
        [plain],
        f"{out}/plain_branch",
        [],
        [helper.make_tensor_value_info(f"{out}/plain", TensorProto.FLOAT, None)],
    )
    return helper.make_node(
        "If",
        [WEIGHTED_INPUT],
        [out],
        name=f"{reduce.name}/weighted",
        then_branch=weighted,
        else_branch=unweighted,
    )


def _int64s(name: str, values: list[int]) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, np.int64), name)


def _chain(producers: dict[str, Any], tensor: str, ops: list[str]) -> list[Any] | None:
    """The nodes producing ``tensor`` back through first inputs, if their ops are ``ops``
    (a ``Sub`` is followed through its first input, ``frac``'s dividend)."""
    nodes = []
    for op in ops:
        node = producers.get(tensor)
        if node is None or node.op_type != op:
            return None
        nodes.append(node)
        tensor = node.input[0]
    return nodes


def _constant(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    from onnx import numpy_helper

    for tensor in graph.initializer:
        if tensor.name == name:
            return numpy_helper.to_array(tensor)
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            return numpy_helper.to_array(node.attribute[0].t)
    return None


def _reaches(graph: onnx.GraphProto, source: str, target: str) -> bool:
    """Whether ``target`` is computed (transitively) from ``source``."""
    producers = {out: node for node in graph.node for out in node.output}
    seen: set[str] = set()
    pending = [target]
    while pending:
        name = pending.pop()
        if name == source:
            return True
        if name in seen or name not in producers:
            continue
        seen.add(name)
        pending.extend(i for i in producers[name].input if i)
    return False


def _is_closed(graph: onnx.GraphProto) -> bool:
    """Every node input is made in the graph, a weight or an input of it."""
    known: set[str] = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    known |= {out for node in graph.node for out in node.output}
    return all(name in known for node in graph.node for name in node.input if name)


def _durations_output(graph: onnx.GraphProto) -> str | None:
    """The predicted frames per token (``Round`` then ``Clip``, before the alignment)."""
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type == "Round" and node.name.startswith(_ENCODER_PREFIX):
            clips = [c for c in consumers.get(node.output[0], []) if c.op_type == "Clip"]
            if len(clips) == 1:
                return str(clips[0].output[0])
    return None
