"""schedule gives an op on the digital float unit (lower-to-spin's fallback)
a stage and a latency; the report's layer for it has a latency too.

Expected cycles are worked out by hand from the documented model
(passes/schedule.py): ``fp32_fma_latency - 1 + ceil(fp32 ops / lanes)`` clock
cycles, rounded up to read cycles of ``crossbar.read_time``; an Exp costs one
fp32 op per element.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.api import compile_model
from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.report.bundle import write_report
from spintron_nn.backends.report.schema import REPORT_JSON
from spintron_nn.config import CompileConfig
from spintron_nn.energy.params import load_parameters
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.passes.schedule import schedule_module

HIDDEN = 48  # elements the Exp reads and writes per inference


def _three_layer_model(rng):
    """Gemm (crossbar) -> Exp (float unit) -> Gemm (crossbar)."""
    w1 = (rng.standard_normal((HIDDEN, 20)) * 0.2).astype(np.float32)
    w2 = (rng.standard_normal((6, HIDDEN)) * 0.2).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w1"], ["h"], transB=1), helper.make_node("Exp", ["h"], ["e"]),
         helper.make_node("Gemm", ["e", "w2"], ["y"], transB=1)],
        "float_unit", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 6])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    return model


@pytest.fixture(scope="module")
def design():
    """The three-layer model on default hardware."""
    rng = np.random.default_rng(0)
    model = _three_layer_model(rng)
    return compile_model(model, CompileConfig(), rng.standard_normal((32, 20)).astype(np.float32))


def _exp_and_tiles(module):
    (exp,) = [op for op in module.walk() if spin.FLOAT_UNIT_ATTR in op.attributes]
    assert exp.name == "nn.exp"
    tiles = [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]
    return exp, tiles


def _ints(op, *names):
    return [op.attributes[name].value.data for name in names]


def test_the_float_unit_op_is_a_stage_between_the_two_layers(design):
    module = design.spin_module
    exp, tiles = _exp_and_tiles(module)
    # shipped table: 4 - 1 + ceil(48 / 16) = 6 clocks of 1 ns, within one 10 ns read cycle
    assert _ints(exp, "spin.stage", "spin.cycles") == [1, 1]
    layers = {tile.layer.data for tile in tiles}
    assert len(layers) == 2
    assert sorted({_ints(t, "spin.stage")[0] for t in tiles}) == [0, 2]
    main = main_function(module)
    assert _ints(main, "spin.stages")[0] == 3
    # two 8-bit gemm layers (one input vector each) and the Exp
    assert _ints(main, "spin.cycles_per_inference")[0] == 8 + 1 + 8


@pytest.mark.parametrize("overrides, cycles", [
    ({"digital.lanes": 1}, 6),  # 4 - 1 + 48 = 51 clocks: 6 reads of 10 clocks
    ({"digital.lanes": 1, "crossbar.read_time": 1e-9}, 51),  # a read per clock
    ({"digital.fp32_fma_latency": 13}, 2),  # 12 + 3 = 15 clocks
    ({"digital.lanes": 12, "crossbar.read_time": 2e-9, "digital.fp32_fma_latency": 3}, 3),  # 2 + 4 = 6 clocks
])
def test_float_unit_cycles_follow_the_parameter_table(design, overrides, cycles):
    module = design.spin_module.clone()
    schedule_module(module, table=load_parameters(overrides))
    exp, tiles = _exp_and_tiles(module)
    assert _ints(exp, "spin.cycles")[0] == cycles
    assert _ints(main_function(module), "spin.cycles_per_inference")[0] == 8 + cycles + 8


def test_report_json_gives_the_float_unit_layer_a_latency(design, tmp_path):
    write_report(build_report(design), tmp_path)
    report = json.loads((tmp_path / REPORT_JSON).read_text())
    layers = report["spintronic"]["layers"]
    (exp_layer,) = [layer for layer in layers if layer["name"].startswith("nn.exp")]
    # 48 fp32 ops on 16 lanes at 1 GHz (the energy model's throughput, no pipeline fill)
    assert exp_layer["latency_s"] == pytest.approx(48 / 16 / 1e9)
    # layers run one after another: the Exp's time is part of the total
    assert report["spintronic"]["total"]["latency_s"] == pytest.approx(sum(layer["latency_s"] for layer in layers))
    # the schedule's figure for the same op (one 10 ns read cycle) is not shorter
    exp, _ = _exp_and_tiles(design.spin_module)
    assert _ints(exp, "spin.cycles")[0] * 10e-9 >= exp_layer["latency_s"]


def test_compile_schedules_with_the_configs_parameter_overrides():
    """compile_model's schedule uses the config's table, not the shipped one."""
    rng = np.random.default_rng(0)
    config = CompileConfig(parameter_overrides=(("digital.lanes", 1.0),))
    slow = compile_model(_three_layer_model(rng), config, rng.standard_normal((32, 20)).astype(np.float32))
    exp, _ = _exp_and_tiles(slow.spin_module)
    assert _ints(exp, "spin.cycles")[0] == 6  # 4 - 1 + 48 clocks on one lane: 6 reads of 10 clocks


def test_a_float_unit_matmul_counts_one_multiply_add_per_weight():
    """MatMul [3, k] x [k, 3]: 9 outputs of k multiply-adds each (DigitalWork.fp32 counts pairs)."""
    from spintron_nn.passes.estimate_energy import float_unit_ops

    k = 7
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]), helper.make_node("MatMul", ["t", "x"], ["y"])],
        "gram", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    calibration = np.random.default_rng(1).standard_normal((8, k, 3)).astype(np.float32)
    compiled = compile_model(model, CompileConfig(), calibration)
    (matmul,) = [op for op in compiled.spin_module.walk() if op.name == "nn.matmul"]
    assert float_unit_ops(matmul) == 3 * 3 * k
