"""Concat along the dynamic batch axis (found by a user walkthrough: lower-to-spin's
result failed the spin.concat verifier, which summed the dynamic placeholders).

Oracles: onnxruntime for the float graph; the float backend for the simulator,
within the quantization error; the Verilog target refuses (it runs one item at
a time, and this concat orders all of one operand's items first)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError

ort = pytest.importorskip("onnxruntime")


def _model(seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    weights = [numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), name) for name in "uv"]
    nodes = [helper.make_node("Gemm", ["x", "u"], ["g"], transB=1),
             helper.make_node("Gemm", ["x", "v"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Concat", ["g", "r"], ["y"], axis=0)]
    graph = helper.make_graph(nodes, "concat_batch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", 8])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concat_along_the_batch_axis(seed, tmp_path):
    model = _model(seed)
    onnx.save(model, tmp_path / "m.onnx")
    rng = np.random.default_rng(100 + seed)
    calibration = rng.standard_normal((64, 16)).astype(np.float32)
    design = compile_model(str(tmp_path / "m.onnx"), CompileConfig(targets=("ir", "sim")), calibration)
    session = ort.InferenceSession(model.SerializeToString())
    for batch in (1, 5):
        x = rng.standard_normal((batch, 16)).astype(np.float32)
        expected = session.run(None, {"x": x})[0]
        float_out = design.run(x, backend="float")[0]
        sim_out = design.run(x, backend="sim")[0]
        assert float_out.shape == sim_out.shape == (2 * batch, 8)
        np.testing.assert_allclose(float_out, expected, rtol=1e-5, atol=1e-5)
        # 8-bit codes of a range of ~|x| * 4 * 2: a few codes of error at most
        assert np.abs(sim_out - expected).max() <= 0.05 * np.abs(expected).max()
    # More items than the simulator's chunk of 256 (review: chunks interleaved the operands).
    # Each item's rows depend on that item only, so two halves' results, regrouped, are the oracle.
    x = rng.standard_normal((300, 16)).astype(np.float32)
    halves = [design.run(half, backend="sim")[0] for half in (x[:150], x[150:])]
    expected = np.concatenate([halves[0][:150], halves[1][:150], halves[0][150:], halves[1][150:]])
    np.testing.assert_array_equal(design.run(x, backend="sim")[0], expected)
    with pytest.raises(SpintronError, match="one batch item at a time"):
        compile_model(str(tmp_path / "m.onnx"), CompileConfig(targets=("ir", "sim", "verilog")), calibration) \
            .save(tmp_path / "bundle", extra_writers=[_verilog_writer()])


def _verilog_writer():
    from spintron_nn.backends.verilog.bundle import write_target

    return write_target


@pytest.mark.parametrize("tail", ["ReduceMax", "ReduceMean", "Gemm"])
def test_ops_over_all_items_are_not_run_in_chunks(tail, monkeypatch):
    """Review: a reduction over everything (no axes), or a matmul over the items (Gemm transA),
    yields a value without the item axis; the simulator ran 600 items in chunks of 256 and kept
    the first chunk's result.  Oracle: the same design run in one chunk."""
    from spintron_nn.backends.sim import executor

    weight = numpy_helper.from_array(np.eye(16, 8, dtype=np.float32), "w")
    last = (helper.make_node("Gemm", ["a", "a"], ["y"], transA=1) if tail == "Gemm"
            else helper.make_node(tail, ["a"], ["y"], keepdims=1))
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["a"]), last], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    x = np.full((600, 16), 0.1, np.float32)
    x[300:] = 0.9
    design = compile_model(model, CompileConfig(targets=("ir", "sim")), x[::10])
    chunked = design.run(x, backend="sim")[0]
    monkeypatch.setattr(executor, "CHUNK_ITEMS", 10**9)
    np.testing.assert_array_equal(chunked, design.run(x, backend="sim")[0])


def test_a_reduction_to_a_scalar_stays_0_d():
    """Review: ReduceMax(keepdims=0) over everything gave shape () from the float backend and (1,)
    from the simulator (np.ascontiguousarray makes 0-d arrays 1-d)."""
    weight = numpy_helper.from_array(np.eye(16, 8, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["a"]),
                               helper.make_node("ReduceMax", ["a"], ["y"], keepdims=0)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    x = np.random.default_rng(4).random((10, 16)).astype(np.float32)
    design = compile_model(model, CompileConfig(targets=("ir", "sim")), x)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    for backend in ("float", "sim"):
        assert design.run(x, backend=backend)[0].shape == expected.shape == ()
