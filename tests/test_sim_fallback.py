"""The digital float unit: nn ops without a crossbar or integer mapping
compile with the defaults (128x128, 2-bit cells, 6-bit ADC) and run in the
simulator, dequantized in and re-quantized out (docs/spin-dialect.md).

Oracle: onnxruntime on the float model.  The bound of each case is derived
from the activation scales: half an output step (the re-quantization) plus
the case's sensitivity ``L`` times half the coarsest input step (the
dequantized operands), ``L`` computed from the test data in the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.design import Design
from spintron_nn.ir import spin
from spintron_nn.passes.estimate_energy import estimate_module

FLOAT = TP.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset=19) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "fallback", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model


def _info(name, shape, elem=FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


@dataclass
class Case:
    model: onnx.ModelProto
    inputs: Callable[[np.random.Generator, int], list[np.ndarray]]
    # (inputs) -> sensitivity L of the output to one input step (see module docstring)
    sensitivity: Callable[[list[np.ndarray]], float]
    fallback: set[str]  # nn ops expected on the float unit
    boolean: bool = False  # output is a comparison: checked away from ties


def _away_from(x: np.ndarray, value: float, margin: float) -> np.ndarray:
    near = np.abs(x - value) < margin
    return np.where(near, x + 2 * margin * np.sign(x - value + 1e-9), x).astype(np.float32)


def _normal(*shape):
    return lambda rng, n: [rng.standard_normal((n, *shape)).astype(np.float32)]


W1 = np.random.default_rng(1).standard_normal((3, 2, 3)).astype(np.float32)
W3 = np.random.default_rng(2).standard_normal((2, 2, 2, 2, 2)).astype(np.float32)
B = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)


def _cases() -> dict[str, Case]:
    x46 = _info("x", [None, 4, 6])
    return {
        "matmul_two_activations": Case(
            _model([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
                    helper.make_node("MatMul", ["x", "t"], ["y"])], [x46], [_info("y", [None, 4, 4])]),
            _normal(4, 6),
            # d(x x^T)_ij = sum_k (|x_jk| + |x_ik|) per unit change of every input
            lambda xs: float(2 * np.abs(xs[0]).sum(axis=2).max() + 6),
            {"nn.matmul"},
        ),
        "div_two_activations": Case(
            _model([helper.make_node("Div", ["a", "b"], ["y"])],
                   [_info("a", [None, 5]), _info("b", [None, 5])], [_info("y", [None, 5])]),
            lambda rng, n: [rng.standard_normal((n, 5)).astype(np.float32),
                            rng.uniform(1.0, 2.0, (n, 5)).astype(np.float32)],
            # |d(a/b)/da| = 1/b <= 1, |d(a/b)/db| = |a|/b^2 <= |a|
            lambda xs: float(1 + np.abs(xs[0]).max() + 1),
            {"nn.div"},
        ),
        "gemm_trans_a": Case(
            _model([helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)],
                   [_info("x", [4, 3])], [_info("y", [3, 4])], [_const("w", B[:4])]),
            lambda rng, n: [rng.standard_normal((4, 3)).astype(np.float32)],
            lambda xs: float(np.abs(B[:4]).sum(axis=0).max()),
            {"nn.gemm"},
        ),
        "conv_1d": Case(
            _model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1])],
                   [_info("x", [None, 2, 10])], [_info("y", [None, 3, 10])], [_const("w", W1)]),
            _normal(2, 10),
            lambda xs: float(np.abs(W1).reshape(3, -1).sum(axis=1).max()),
            {"nn.conv"},
        ),
        "conv_3d": Case(
            _model([helper.make_node("Conv", ["x", "w"], ["y"])],
                   [_info("x", [None, 2, 4, 4, 4])], [_info("y", [None, 2, 3, 3, 3])], [_const("w", W3)]),
            _normal(2, 4, 4, 4),
            lambda xs: float(np.abs(W3).reshape(2, -1).sum(axis=1).max()),
            {"nn.conv"},
        ),
        "max_pool_ceil_mode": Case(
            _model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
                   [_info("x", [None, 2, 5, 5])], [_info("y", [None, 2, 3, 3])]),
            _normal(2, 5, 5), lambda xs: 1.0, {"nn.max_pool"},
        ),
        "average_pool_dilated": Case(
            _model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2])],
                   [_info("x", [None, 2, 6, 6])], [_info("y", [None, 2, 4, 4])]),
            _normal(2, 6, 6), lambda xs: 1.0, {"nn.average_pool"},
        ),
        "exp_log_max_min_reduce": Case(
            # sum over the last axis of exp(max(a, b)) + log(max over the axis of b) + min(a, b)
            _model([helper.make_node("Max", ["a", "b"], ["m"]), helper.make_node("Exp", ["m"], ["e"]),
                    helper.make_node("Min", ["b", "a"], ["n"]),
                    helper.make_node("ReduceMax", ["b", "axes"], ["r"], keepdims=1),
                    helper.make_node("Log", ["r"], ["l"]), helper.make_node("Add", ["e", "l"], ["s"]),
                    helper.make_node("Add", ["s", "n"], ["t"]),
                    helper.make_node("ReduceSum", ["t", "axes"], ["y"], keepdims=0)],
                   [_info("a", [None, 6]), _info("b", [None, 6])], [_info("y", [None])],
                   [_const("axes", np.array([1], dtype=np.int64))]),
            lambda rng, n: [rng.uniform(-1.0, 1.0, (n, 6)).astype(np.float32),
                            rng.uniform(0.5, 2.0, (n, 6)).astype(np.float32)],
            # six terms; each sees the input steps through exp (slope <= e^2), min (1) and
            # log (<= 2), and the re-quantization of m, e, n, r (through log), l, s, t
            lambda xs: 6 * (np.exp(2.0) + 1 + 2 + np.exp(2.0) + 1 + 1 + 2 + 1 + 1 + 1),
            {"nn.max", "nn.exp", "nn.min", "nn.reduce_max", "nn.log", "nn.reduce_sum"},
        ),
        "where_of_comparisons": Case(
            _model([helper.make_node("Less", ["a", "b"], ["lt"]),
                    helper.make_node("Greater", ["a", "half"], ["gt"]),
                    helper.make_node("Or", ["lt", "gt"], ["c"]),
                    helper.make_node("Where", ["c", "a", "b"], ["y"])],
                   [_info("a", [None, 8]), _info("b", [None, 8])], [_info("y", [None, 8])],
                   [_const("half", np.array(0.5, dtype=np.float32))]),
            # a stays 0.05 (two steps) away from the threshold 0.5, where a flip could pick a far b
            lambda rng, n: [_away_from(rng.standard_normal((n, 8)), 0.5, 0.05),
                            rng.standard_normal((n, 8)).astype(np.float32)],
            # Less flips only where a and b are within one step: the output is a or b
            # (one step), each with its own rounding (half a step)
            lambda xs: 3.0,
            {"nn.less", "nn.greater", "nn.or", "nn.where"},
        ),
        "cast_to_int_equal": Case(
            # half-integers: truncation toward zero is stable under half an input step
            _model([helper.make_node("Cast", ["a"], ["i"], to=TP.INT64),
                    helper.make_node("Cast", ["b"], ["j"], to=TP.INT64),
                    helper.make_node("Equal", ["i", "j"], ["y"])],
                   [_info("a", [None, 7]), _info("b", [None, 7])], [_info("y", [None, 7], TP.BOOL)]),
            lambda rng, n: [(rng.integers(-3, 3, (n, 7)) + 0.5).astype(np.float32) for _ in range(2)],
            lambda xs: 0.0, {"nn.cast", "nn.equal"}, boolean=True,
        ),
    }


CASES = _cases()
CALIBRATION_ITEMS, TEST_ITEMS = 64, 40


def _compiled(case: Case, rng) -> tuple[Design, list[np.ndarray]]:
    """The design and its test inputs: calibration items, so that no value
    leaves its calibrated range (that clipping is the quantizer's error, not
    the float unit's; test_sim_accuracy covers held-out data)."""
    fixed = case.model.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    calibration = case.inputs(rng, CALIBRATION_ITEMS)
    test = calibration if fixed else [a[:TEST_ITEMS] for a in calibration]  # a fixed-shape model has one item
    return compile_model(case.model, CompileConfig(), calibration), test


def _scales(module) -> tuple[float, float]:
    """The coarsest step of any quantized tensor and the output step of the design."""
    main = next(iter(module.ops))
    s_in = max(spin.get_real(op, "scale") for op in main.walk() if isinstance(op, spin.QuantizeOp))
    outs = [op for op in main.walk() if isinstance(op, spin.DequantizeOp) and op.next_op.name == "func.return"]
    s_out = max((spin.get_real(op, "scale") for op in outs), default=0.0)
    return s_in, s_out


@pytest.mark.parametrize("name", sorted(CASES))
def test_fallback_compiles_runs_and_matches_onnxruntime(name):
    case = CASES[name]
    design, test = _compiled(case, np.random.default_rng(0))
    module = design.spin_module
    assert module is not None
    on_unit = {op.name for op in module.walk() if spin.FLOAT_UNIT_ATTR in op.attributes}
    assert case.fallback <= on_unit, on_unit
    # nothing else stays nn except the float unit and its constants
    assert {op.name for op in module.walk() if op.name.startswith("nn.")} <= on_unit | {"nn.constant"}

    names = [i.name for i in case.model.graph.input]
    expected = ort.InferenceSession(case.model.SerializeToString()).run(None, dict(zip(names, test)))[0]
    got = design.run(test)[0]
    assert got.shape == expected.shape
    if case.boolean:
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, expected)
    else:
        s_in, s_out = _scales(module)
        bound = s_out / 2 + case.sensitivity(test) * s_in / 2 + 1e-5
        error = np.abs(got.astype(np.float64) - expected).max()
        assert error <= bound, (error, bound, s_in, s_out)

    again = design.run(test)[0]
    assert got.tobytes() == again.tobytes()


@pytest.mark.parametrize("name", ["matmul_two_activations", "exp_log_max_min_reduce"])
def test_energy_counts_the_float_unit(name):
    case = CASES[name]
    design, _ = _compiled(case, np.random.default_rng(0))
    module = design.spin_module
    report = estimate_module(module, annotate=True)
    on_unit = [op for op in module.walk() if spin.FLOAT_UNIT_ATTR in op.attributes]
    assert {op.name for op in on_unit} >= case.fallback
    for op in on_unit:
        assert op.attributes["spin.cost"].data["energy_pj"].value.data > 0
    # each float-unit op is a layer of the report (named after the op), costed as digital work
    nn_layers = [layer for layer in report["spintronic"]["layers"] if layer["name"].startswith("nn.")]
    assert sorted(layer["name"].rsplit("_", 1)[0] for layer in nn_layers) == sorted(op.name for op in on_unit)
    assert all(layer["energy_j"]["digital"] > 0 for layer in nn_layers)


def test_fallback_matmul_energy_grows_with_its_inner_dimension():
    """A MatMul on the float unit costs per multiply-add, not per output element."""

    def cost(k: int) -> float:
        model = _model([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
                        helper.make_node("MatMul", ["t", "x"], ["y"])],
                       [_info("x", [None, k, 3])], [_info("y", [None, 3, 3])])
        rng = np.random.default_rng(0)
        design = compile_model(model, CompileConfig(), [rng.standard_normal((16, k, 3)).astype(np.float32)])
        module = design.spin_module
        estimate_module(module, annotate=True)
        (matmul,) = [op for op in module.walk() if op.name == "nn.matmul"]
        return matmul.attributes["spin.cost"].data["energy_pj"].value.data

    assert cost(32) > 4 * cost(4)


def test_float_unit_feeds_crossbar_tiles():
    """A 1-D conv on the float unit in front of a Gemm on crossbar tiles: the
    calibration items run through the float unit while tile-crossbars picks
    the ADC shifts.  Bound: the relative RMS error that ``spintronc verify``
    accepts (the 6-bit ADC's error has no closed-form bound)."""
    fc = np.random.default_rng(4).standard_normal((4, 30)).astype(np.float32)
    model = _model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1]), helper.make_node("Relu", ["c"], ["r"]),
                    helper.make_node("Flatten", ["r"], ["f"]),
                    helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)],
                   [_info("x", [None, 2, 10])], [_info("y", [None, 4])], [_const("w", W1), _const("fc", fc)])
    x = np.random.default_rng(5).standard_normal((64, 2, 10)).astype(np.float32)
    design = compile_model(model, CompileConfig(), [x])
    module = design.spin_module
    assert any(isinstance(op, spin.CrossbarTileOp) for op in module.walk())
    assert [op.name for op in module.walk() if spin.FLOAT_UNIT_ATTR in op.attributes] == ["nn.conv"]
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    got = design.run(x)[0]
    assert np.sqrt(np.mean((got - expected) ** 2)) / np.sqrt(np.mean(expected**2)) <= 0.05
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).mean() >= 0.95


def test_fallback_design_saves_and_loads(tmp_path):
    case = CASES["where_of_comparisons"]
    design, test = _compiled(case, np.random.default_rng(0))
    design.save(tmp_path / "bundle")
    loaded = Design.load(tmp_path / "bundle")
    assert loaded.run(test)[0].tobytes() == design.run(test)[0].tobytes()


def test_verilog_refuses_the_float_unit():
    from spintron_nn.backends.verilog.plan import plan_design
    from spintron_nn.errors import SpintronError

    design, _ = _compiled(CASES["matmul_two_activations"], np.random.default_rng(0))
    with pytest.raises(SpintronError, match=r"no engine for 'nn.matmul'.*digital float unit"):
        plan_design(design.spin_module)


@pytest.mark.parametrize("bounds, constant", [((-3.0, -1.0), -1.0), ((40.0, 50.0), 40.0)])
def test_a_clip_outside_its_operands_grid_runs_on_the_float_unit(bounds, constant, tmp_path):
    """Found by a user walkthrough: Relu then Clip(-3, -1) kept the Relu's grid, which cannot
    hold -1, so the simulator gave 0 where onnxruntime gives -1."""
    rng = np.random.default_rng(7)
    weight = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), "w")
    low, high = (numpy_helper.from_array(np.array(b, np.float32), n) for b, n in zip(bounds, ("lo", "hi")))
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1), helper.make_node("Relu", ["g"], ["r"]),
         helper.make_node("Clip", ["r", "lo", "hi"], ["y"])], "relu_clip",
        [helper.make_tensor_value_info("x", FLOAT, ["N", 16])], [helper.make_tensor_value_info("y", FLOAT, ["N", 8])],
        [weight, low, high])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    design = compile_model(model, CompileConfig(targets=("ir", "sim")), rng.standard_normal((64, 16)).astype(np.float32))
    x = rng.standard_normal((20, 16)).astype(np.float32)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    assert np.all(expected == constant)
    np.testing.assert_allclose(design.run(x, backend="sim")[0], expected, rtol=1e-6)
