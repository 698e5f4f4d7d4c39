"""Measured input activity (``--input-activity measured``): each tile's reads priced at the
input one-bit fraction of the calibration data it really reads.

Oracles: fake quantization's ``measured_one_fractions`` (the compiled design's own codes on
the same calibration items) for the fractions, and ``training.energy.layer_cost`` at those
fractions and the tiles' real levels for the energies, per component; the table mode must
price exactly as a tile without a measurement always was.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.report.build import build_report
from spintron_nn.config import CompileConfig
from spintron_nn.energy.cost_model import one_bit_fraction
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.passes.estimate_energy import estimate_module
from spintron_nn.passes.tile_crossbars import INPUT_ONE_FRACTION_ATTR
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.energy import layer_cost, layer_level_sums, measured_one_fractions, read_code_bits
from spintron_nn.training.threads import single_torch_thread
from spintron_nn.tools import spintronc

TILE_COMPONENTS = ("cell_read", "row_driver", "adc", "leakage")


def _cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 12, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(12 * 2 * 2, 24), nn.ReLU(), nn.Linear(24, 4)).eval()


def _data(seed: int, count: int = 48) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).standard_normal((count, 2, 8, 8)), -2, 2).astype(np.float32)


def _compile(config: CompileConfig, seed: int = 0):
    model, calibration = _cnn(seed), _data(seed)  # 48 items: all of them stay on @main
    with single_torch_thread():
        design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    return model, calibration, design


def _crossbar_layers(report: dict) -> dict[str, dict]:
    return {layer["name"]: layer for layer in report["spintronic"]["layers"] if layer["kind"] == "crossbar"}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed-inputs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_measured_fractions_and_energies_are_the_fake_quantized_networks(seed, signed):
    """With signed inputs the input layer reads 5-bit two's-complement codes of x - zp
    (one more read cycle, other one bits); the layers after a ReLU are unchanged."""
    # 128x128 arrays: every layer is one row block, so one fraction per layer
    config = CompileConfig(weight_bits=4, activation_bits=4, input_activity="measured", signed_inputs=signed)
    model, calibration, design = _compile(config, seed)
    layers = _crossbar_layers(build_report(design))
    with single_torch_thread():
        net = FakeQuantNetwork(model, config)
        net.calibrate(calibration)
        fractions = measured_one_fractions(net, calibration)
    assert [layers[f"layer{i}"]["input_one_fraction"] for i in range(len(fractions))] == pytest.approx(
        fractions, rel=0, abs=1e-15)
    assert fractions[0] > 0.3 and min(fractions[1:]) < 0.3  # ReLU outputs: mostly zero bits
    read_bits = {op.layer.data: spin.get_int(op, "input_bits") for op in main_function(design.spin_module).walk()
                 if isinstance(op, spin.CrossbarTileOp)}
    assert read_bits["layer0"] == (5 if signed else 4) and read_bits["layer1"] == 4
    for (x_in, grid, step), fraction in zip(net.matrix_inputs, fractions):
        rows, cols, vectors = step.crossbar_shape(tuple(x_in.shape))
        layer_config = step.layer_config(net.config)
        levels = layer_level_sums(step.integer_weights(layer_config, grid.scale, grid.code_bits(layer_config))[0], step.groups, layer_config)
        assert read_code_bits(layer_config, grid) == read_bits[f"layer{step.index}"]
        expected = layer_cost(rows, cols, vectors, layer_config, fraction, step.groups, levels,
                              read_bits[f"layer{step.index}"])
        for component in TILE_COMPONENTS:
            assert layers[f"layer{step.index}"]["energy_j"][component] == pytest.approx(
                expected.energy[component], rel=1e-9), component


def test_table_mode_prices_as_before_and_ignores_the_measurement():
    _, _, design = _compile(CompileConfig(weight_bits=4, activation_bits=4))
    table = estimate_module(design.spin_module, design.config.parameters())
    for op in main_function(design.spin_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            del op.attributes[INPUT_ONE_FRACTION_ATTR]  # as tiles were before they carried one
    unmeasured = estimate_module(design.spin_module, design.config.parameters())
    assert table["spintronic"]["total"] == unmeasured["spintronic"]["total"]
    assert all(layer.get("input_one_fraction", 0.5) == 0.5 for layer in table["spintronic"]["layers"])
    with pytest.raises(SpintronError, match="has no measured input activity"):
        estimate_module(design.spin_module, design.config.parameters(), activity="measured")
    with pytest.raises(SpintronError, match="activity must be one of"):
        estimate_module(design.spin_module, activity="sometimes")


def test_row_blocks_have_their_own_fraction():
    # 16-row arrays cut the 72-input conv and the 48-input Linear into several row blocks
    _, _, design = _compile(CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16,
                                          input_activity="measured"))
    tiles: dict[str, list] = {}
    for op in main_function(design.spin_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            tiles.setdefault(op.layer.data, []).append(op)
    layers = _crossbar_layers(build_report(design))
    for name, ops in tiles.items():
        fractions = [op.attributes[INPUT_ONE_FRACTION_ATTR].value.data for op in ops]
        rows = [spin.get_int(op, "rows") for op in ops]
        assert layers[name]["input_one_fraction"] == pytest.approx(np.dot(fractions, rows) / sum(rows), rel=1e-12)
    assert len({round(op.attributes[INPUT_ONE_FRACTION_ATTR].value.data, 12) for op in tiles["layer1"]}) > 1


def test_cli_flag_reaches_report_and_sweep(tmp_path, capsys):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    model, calibration = str(examples / "digits_mlp.onnx"), str(examples / "digits_calibration.npy")
    assert spintronc.main(["compile", model, "-o", str(tmp_path / "b"), "-q", "--calibration", calibration,
                           "--input-activity", "measured"]) == 0
    capsys.readouterr()
    assert spintronc.main(["report", str(tmp_path / "b")]) == 0
    assert "input activity measured" in capsys.readouterr().out
    assert spintronc.main(["sweep", model, "--calibration", calibration, "-o", str(tmp_path / "s"), "-q",
                           "--jobs", "1", "--input-activity", "measured"]) == 0
    import json

    sweep = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert sweep["fixed"]["input_activity"] == "measured"
    measured_bundle = json.loads((tmp_path / "b" / "report.json").read_text())
    assert sweep["points"][0]["input_activity"] == "measured"
    assert sweep["points"][0]["energy_j"] == pytest.approx(
        measured_bundle["spintronic"]["total"]["energy_j"]["total"])


def test_one_bit_fraction_counts_bits():
    assert one_bit_fraction(np.array([[0, 15], [8, 1]]), 4) == pytest.approx((0 + 4 + 1 + 1) / 16)
    assert one_bit_fraction(np.zeros((0, 3), dtype=np.int64), 4) == 0.0


def test_every_tile_fraction_is_the_bits_it_reads():
    """Independent of tile-crossbars: run the final design op by op on the kept calibration
    sample and count the 1 bits of each tile's own input rows."""
    from spintron_nn.backends.sim.executor import evaluate_op
    from spintron_nn.passes.calibrate import calibration_sample
    from xdsl.dialects import func

    _, _, design = _compile(CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16,
                                          input_activity="measured"))
    main = main_function(design.spin_module)
    values = dict(zip(main.args, calibration_sample(main)))
    checked = 0
    for op in main.body.block.ops:
        if isinstance(op, func.ReturnOp):
            break
        if isinstance(op, spin.CrossbarTileOp):
            start, rows = spin.get_int(op, "row_offset"), spin.get_int(op, "rows")
            codes = values[op.input][:, start:start + rows]
            assert op.attributes[INPUT_ONE_FRACTION_ATTR].value.data == one_bit_fraction(
                codes, spin.get_int(op, "input_bits"))
            checked += 1
        values[op.results[0]] = evaluate_op(op, [values[v] for v in op.operands])
    assert checked > 8


@pytest.mark.parametrize("text, words", [("7.5 : f64", r"in \[0, 1\]"), ("-1.0 : f64", r"in \[0, 1\]"),
                                         ("1 : i64", r"in \[0, 1\]"), ('"x"', r"in \[0, 1\]")])
def test_bad_measured_attributes_are_errors(text, words):
    from xdsl.parser import Parser as IRParser  # the attribute as a hand-edited design.mlir would give it

    from spintron_nn.ir.context import make_context

    _, _, design = _compile(CompileConfig(weight_bits=4, activation_bits=4, input_activity="measured"))
    tile = next(op for op in main_function(design.spin_module).walk() if isinstance(op, spin.CrossbarTileOp))
    tile.attributes[INPUT_ONE_FRACTION_ATTR] = IRParser(make_context(), text).parse_attribute()
    with pytest.raises(SpintronError, match=words):
        estimate_module(design.spin_module, activity="measured")


def test_measured_needs_tiles_and_real_calibration_data():
    model = _cnn(0)
    with pytest.raises(SpintronError, match="needs calibration data"):
        compile_model(model, CompileConfig(input_activity="measured"), None,
                      example_input=torch.from_numpy(_data(0)[:1]))
    from spintron_nn.passes.calibrate import calibrate_module
    from spintron_nn.passes.pipeline import run_pipeline

    _, calibration, design = _compile(CompileConfig(weight_bits=4, activation_bits=4, targets=("ir",)))
    module = design.design_module.clone()
    calibrate_module(module, [calibration])
    run_pipeline(module, "quantize,lower-to-spin")
    with pytest.raises(SpintronError, match="not tiled yet"):
        estimate_module(module, activity="measured")


def test_an_override_of_the_table_fraction_is_reported_unused_when_measured():
    overrides = (("crossbar.input_one_fraction", 0.3),)
    _, _, measured = _compile(CompileConfig(input_activity="measured", parameter_overrides=overrides))
    _, _, plain = _compile(CompileConfig(input_activity="measured"))
    report = build_report(measured)
    assert report["spintronic"]["total"] == build_report(plain)["spintronic"]["total"]
    assert "crossbar.input_one_fraction" not in {p["name"] for p in report["parameters"]}
