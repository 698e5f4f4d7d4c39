"""Model inputs that calibration cannot split into items: a 0-d (scalar)
input, and inputs given with different batch sizes.  Both are one-line
errors naming the input and what is expected; a scalar input still runs on
the float backend (onnxruntime is the oracle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.array_files import checked_inputs, load_arrays
from spintron_nn.errors import SpintronError
from spintron_nn.tools import spintronc

RNG = np.random.default_rng(20261130)
WEIGHT = RNG.standard_normal((3, 4)).astype(np.float32)


def _model(nodes, inputs) -> onnx.ModelProto:
    graph = helper.make_graph(
        [*nodes, helper.make_node("Gemm", ["h", "w"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(WEIGHT, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("calibrate_inputs")
    # y = Gemm(x * s): s is a 0-d gain.
    onnx.save(_model([helper.make_node("Mul", ["x", "s"], ["h"])], [("x", ["N", 4]), ("s", [])]),
              root / "scalar.onnx")
    # y = Gemm(a + b): two batched inputs.
    onnx.save(_model([helper.make_node("Add", ["a", "b"], ["h"])], [("a", ["N", 4]), ("b", ["N", 4])]),
              root / "two.onnx")
    # y = Gemm(x + bias): bias [4] has no batch dimension.
    onnx.save(_model([helper.make_node("Add", ["x", "bias"], ["h"])], [("x", ["N", 4]), ("bias", [4])]),
              root / "bias.onnx")
    x = RNG.standard_normal((8, 4)).astype(np.float32)
    np.savez(root / "scalar_in.npz", x=x, s=np.array(1.5, np.float32))
    np.savez(root / "two_same.npz", a=x, b=RNG.standard_normal((8, 4)).astype(np.float32))
    np.savez(root / "two_diff.npz", a=x, b=RNG.standard_normal((5, 4)).astype(np.float32))
    np.savez(root / "bias_in.npz", x=x, bias=RNG.standard_normal(4).astype(np.float32))
    return root


def main_status(capsys, argv: list[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        status = spintronc.main([str(a) for a in argv])
    except SystemExit as exc:
        status = exc.code
    return status, capsys.readouterr().err.strip().splitlines()


def expect_error(capsys, argv, *words: str) -> None:
    status, lines = main_status(capsys, argv)
    assert status == 2 and len(lines) == 1 and lines[0].startswith("spintronc: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]


def onnxruntime_outputs(model: Path, inputs: Path) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    with np.load(inputs) as data:
        return session.run(None, {name: data[name] for name in data.files})[0]


# ---------------------------------------------------------------- scalars


def test_a_scalar_input_file_stays_0_d(work):
    x, s = load_arrays(work / "scalar_in.npz", ["x", "s"])
    assert s.shape == () and x.shape == (8, 4)
    from spintron_nn.frontend import load_model

    checked = checked_inputs(load_model(str(work / "scalar.onnx")), [x, s])
    assert checked[1].shape == () and checked[1].dtype == np.float32


def test_a_scalar_input_runs_on_the_float_backend(capsys, work, tmp_path):
    status, lines = main_status(capsys, ["run", work / "scalar.onnx", "--input", work / "scalar_in.npz",
                                         "--output", tmp_path / "y.npy", "--backend", "float"])
    assert status == 0, lines
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), onnxruntime_outputs(work / "scalar.onnx",
                                                                                work / "scalar_in.npz"),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("calibration", [True, False])
def test_compiling_a_scalar_input_onto_crossbars_names_the_input(capsys, work, tmp_path, calibration):
    argv = ["compile", work / "scalar.onnx", "-o", tmp_path / "b", "-q"]
    if calibration:
        argv += ["--calibration", work / "scalar_in.npz"]
    expect_error(capsys, argv, "'s'", "scalar", "batch dimension")
    assert not (tmp_path / "b").exists()


def test_a_scalar_input_through_the_python_api(work):
    import spintron_nn as sn

    with pytest.raises(SpintronError, match="input 's' is a scalar"):
        sn.compile(str(work / "scalar.onnx"), calibration={"x": np.ones((4, 4), np.float32),
                                                           "s": np.float32(2.0)})
    # The IR target maps nothing onto crossbars: a scalar input is fine there.
    design = sn.compile(str(work / "scalar.onnx"), sn.CompileConfig(targets=("ir",)),
                        calibration={"x": np.ones((4, 4), np.float32), "s": np.float32(2.0)})
    assert design.reference_inputs[1].shape == ()


# ----------------------------------------------------------- batch sizes


def test_calibration_with_different_batch_sizes_names_both_inputs(capsys, work, tmp_path):
    expect_error(capsys, ["compile", work / "two.onnx", "-o", tmp_path / "b", "-q",
                          "--calibration", work / "two_diff.npz"],
                 "two_diff.npz", "'a' 8", "'b' 5", "one batch size")


@pytest.mark.parametrize("backend", ["float", "sim"])
def test_run_with_different_batch_sizes_names_both_inputs(capsys, work, tmp_path, backend):
    bundle = tmp_path / "b"
    status, lines = main_status(capsys, ["compile", work / "two.onnx", "-o", bundle, "-q",
                                         "--calibration", work / "two_same.npz"])
    assert status == 0, lines
    expect_error(capsys, ["run", bundle, "--input", work / "two_diff.npz", "--output", tmp_path / "y.npy",
                          "--backend", backend], "'a' 8", "'b' 5")
    status, lines = main_status(capsys, ["run", bundle, "--input", work / "two_same.npz",
                                         "--output", tmp_path / "y.npy", "--backend", backend])
    assert status == 0, lines


def test_calibrate_module_refuses_different_batch_sizes(work):
    from spintron_nn.frontend import load_model
    from spintron_nn.passes.calibrate import calibrate_module

    module = load_model(str(work / "two.onnx"))
    with pytest.raises(SpintronError, match="'a' 6, 'b' 7"):
        calibrate_module(module, [np.ones((6, 4), np.float32), np.ones((7, 4), np.float32)])


def test_an_input_without_a_batch_dimension_is_not_held_to_the_batch(capsys, work, tmp_path):
    """bias is [4] (static): 8 items of x with one bias is a valid run."""
    status, lines = main_status(capsys, ["run", work / "bias.onnx", "--input", work / "bias_in.npz",
                                         "--output", tmp_path / "y.npy", "--backend", "float"])
    assert status == 0, lines
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"),
                               onnxruntime_outputs(work / "bias.onnx", work / "bias_in.npz"), rtol=1e-5, atol=1e-5)


def test_a_constant_calibration_input_is_warned_about(tmp_path):
    """Walkthrough: np.zeros as calibration data compiled silently and reported top-1 agreement 1
    (on the same degenerate data); the ranges it fixes say nothing about real inputs."""
    from spintron_nn.api import compile_model
    from spintron_nn.config import CompileConfig

    example = Path(__file__).resolve().parent.parent / "examples" / "digits_mlp.onnx"
    with pytest.warns(UserWarning, match="calibration input 'pixels' is constant"):
        compile_model(str(example), CompileConfig(targets=("ir", "sim")), np.zeros((8, 64), np.float32))
