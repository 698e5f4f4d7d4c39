"""The network inputs' own code width (``CompileConfig.input_bits``, ``--input-bits``).

Oracles: the default design when the width equals the activations'; fake quantization
(an implementation of the integer semantics apart from lower-to-spin) against the
simulator; Icarus RTL against the simulator; a LUT's table written out from its
formula; the float graph (wider inputs agree with it better on a PTQ'd network).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.sim import quant_math
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig, precision_label
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.training import FakeQuantNetwork

sys.path.insert(0, str(Path(__file__).parent))
from precision_cases import W4A4, one_thread  # noqa: E402,F401  (an autouse fixture)
import test_training_fake_quant as chain_cases  # noqa: E402
import test_training_graph_fake_quant as graph_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _images(seed: int, count: int) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).standard_normal((count, 2, 6, 6)), -2, 2).astype(np.float32)


def _compile(model: nn.Module, config: CompileConfig, calibration: np.ndarray):
    return compile_model(model.eval(), config, calibration, example_input=torch.from_numpy(calibration[:1]))


def _tile_input_bits(design) -> dict[str, int]:
    return {op.layer.data: spin.get_int(op, "input_bits") for op in main_function(design.spin_module).walk()
            if isinstance(op, spin.CrossbarTileOp)}


class _PoolFirst(nn.Module):
    """A max pool and a ReLU keep the input's grid: the conv after them reads the input width."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.head = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x):
        x = torch.relu(nn.functional.max_pool2d(x, 2))
        return self.head(torch.relu(self.conv(x)).flatten(1))


class _InputEverywhere(nn.Module):
    """The input feeds a conv, a residual add, a concat and a sigmoid (a LUT)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.head = nn.Linear(6 * 6 * 6, 5)

    def forward(self, x):
        y = torch.relu(self.conv(x) + x)
        return self.head(torch.cat([y, x, torch.sigmoid(x)], 1).flatten(1))


def test_the_activation_width_is_the_default_design():
    torch.manual_seed(0)
    model, calibration = _InputEverywhere(), _images(0, 32)
    default = _compile(model, W4A4, calibration)
    same = _compile(model, W4A4.replace(input_bits=4), calibration)
    assert str(same.spin_module) == str(default.spin_module)
    assert precision_label(4, 4, None, (), 4) == "W4A4" and precision_label(4, 4, 8, (), 8) == \
        "W4A4 (8-bit inputs, 8-bit outputs)"


@pytest.mark.parametrize("input_bits", [2, 6, 8])
@pytest.mark.parametrize("build", [_PoolFirst, _InputEverywhere])
def test_rtl_is_bit_exact_and_only_the_inputs_readers_read_their_width(build, input_bits):
    from spintron_nn.backends.verilog import runner

    torch.manual_seed(input_bits)
    model = build()
    design = _compile(model, W4A4.replace(input_bits=input_bits), _images(input_bits, 32))
    ops = list(main_function(design.spin_module).walk())
    assert [spin.get_int(op, "bits") for op in ops if isinstance(op, spin.QuantizeOp)] == [input_bits]
    assert _tile_input_bits(design) == {"layer0": input_bits, ("layer1" if build is _PoolFirst else "layer2"): 4}
    x = _images(100 + input_bits, 3)
    actual, _ = runner.run_rtl(design.spin_module, [x], simulator="icarus")
    np.testing.assert_array_equal(actual[0], run_spin(design.spin_module, [x])[0])


def test_a_lut_on_wide_inputs_has_a_row_for_every_input_code():
    torch.manual_seed(1)
    design = _compile(_InputEverywhere(), W4A4.replace(input_bits=8), _images(1, 32))
    ops = list(main_function(design.spin_module).walk())
    quantize = next(op for op in ops if isinstance(op, spin.QuantizeOp))
    lut = next(op for op in ops if isinstance(op, spin.LutOp))
    in_scale, in_zp = spin.get_real(quantize, "scale"), spin.get_int(quantize, "zero_point")
    table = lut.table.array.astype(np.int64)
    real = 1.0 / (1.0 + np.exp(-in_scale * (np.arange(256) - in_zp)))  # the sigmoid of every 8-bit input code
    # monotone over all 256 input codes; a table of 16 rows padded with its last entry would be flat above 15
    assert np.all(np.diff(table) >= 0) and table[200] > table[16] and table.max() == 15
    # 4-bit output codes of the sigmoid: each code's inputs form one run, in the order of real
    for code in np.unique(table):
        rows = np.flatnonzero(table == code)
        assert np.all(np.diff(rows) == 1) and np.all(real[rows] >= real[rows[0]])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", ["mlp", "cnn", "resnet", "functional"])
def test_fake_quantization_is_the_simulator(case, seed):
    if case in ("mlp", "cnn"):
        build, shape = {"mlp": (chain_cases._mlp, (70,)), "cnn": (chain_cases._cnn, (3, 16, 16))}[case]
        design, net, x = chain_cases._compiled_and_fake(build, shape, W4A4.replace(input_bits=8), seed)
    else:
        design, net, x = graph_cases._compiled_and_fake(f"{case}-w4", seed, graph_cases.W4_TINY.replace(input_bits=7))
    assert _tile_input_bits(design)["layer0"] == design.config.input_bits
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
    devices = NoiseSpec(conductance_variation=0.15, stuck_at_zero=0.02)
    net.noise = NoiseSpec(seed=4, conductance_variation=0.15, stuck_at_zero=0.02)
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim", noise=devices, seed=4)[0])


def test_wider_inputs_agree_better_with_float_on_digits():
    """The bundled float digits MLP, post-training quantized at W4A3: 8-bit pixels keep more
    of the float network's decisions on all 1797 digits than 2-bit ones (measured 98.2 % ->
    99.1 %; the pixels have 17 levels, so 3 bits and more differ little)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    calibration = np.load(ROOT / "examples" / "digits_calibration.npy")
    agreement = {}
    for input_bits in (2, 8):
        config = CompileConfig(weight_bits=4, activation_bits=3, input_bits=input_bits, targets=("ir", "sim"))
        design = compile_model(ROOT / "examples" / "digits_mlp.onnx", config, calibration)
        ref = design.run(x, backend="float")[0].argmax(1)
        agreement[input_bits] = float(np.mean(design.run(x, backend="sim")[0].argmax(1) == ref))
    assert agreement[8] > agreement[2] + 0.005, agreement


def test_signed_inputs_need_room_for_the_twos_complement_codes():
    torch.manual_seed(2)
    model, calibration = _PoolFirst(), _images(2, 32) + 0.7  # off-centre: zero point not mid-range
    with pytest.raises(SpintronError, match="need 9-bit two's-complement codes"):
        _compile(model, W4A4.replace(input_bits=8, signed_inputs=True), calibration)
    signed = _compile(model, W4A4.replace(input_bits=7, signed_inputs=True, adc_bits=12), calibration)
    unsigned = _compile(model, W4A4.replace(input_bits=7, adc_bits=12), calibration)
    assert _tile_input_bits(signed)["layer0"] == 8  # x - zp of 7-bit codes with zp != 64
    x = _images(3, 5) + 0.7
    # a 12-bit ADC on 32-row tiles of 1-bit planes is ideal: both read exactly (x - zp) @ W
    np.testing.assert_array_equal(run_spin(signed.spin_module, [x])[0], run_spin(unsigned.spin_module, [x])[0])


def test_cli_flag_label_report_and_errors(tmp_path, capsys):
    from spintron_nn.tools.spintronc import main

    out = tmp_path / "b"
    args = ["compile", str(ROOT / "examples" / "digits_mlp.onnx"), "--calibration",
            str(ROOT / "examples" / "digits_calibration.npy"), "--weight-bits", "4", "--activation-bits", "4"]
    assert main([*args, "-o", str(out), "--input-bits", "8"]) == 0
    assert "config: W4A4 (8-bit inputs, 8-bit outputs)" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["input_bits"] == 8
    layers = {layer["name"]: layer for layer in report["spintronic"]["layers"]}
    assert main([*args, "-o", str(tmp_path / "plain"), "-q"]) == 0
    plain = {layer["name"]: layer for layer in json.loads((tmp_path / "plain" / "report.json").read_text())
             ["spintronic"]["layers"]}
    # layer0 reads 8 bit planes instead of 4: twice the conversions; layer1 is unchanged
    assert layers["layer0"]["energy_j"]["adc"] == pytest.approx(2 * plain["layer0"]["energy_j"]["adc"], rel=1e-12)
    assert layers["layer1"]["energy_j"]["adc"] == pytest.approx(plain["layer1"]["energy_j"]["adc"], rel=1e-12)
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "bad"), "--input-bits", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["spintronc: error: input bits must be an integer in 2..8, got 9"]
    assert not (tmp_path / "bad").exists()


def test_quantize_records_the_width_and_scales_the_inputs_for_it():
    from spintron_nn.passes import quantize
    from spintron_nn.passes.calibrate import INPUT_RANGES_ATTR

    torch.manual_seed(3)
    design = _compile(_PoolFirst(), W4A4.replace(input_bits=6), _images(3, 32))
    attrs = main_function(design.spin_module).attributes
    assert attrs[quantize.INPUT_BITS_ATTR].value.data == 6
    scale = attrs[quantize.INPUT_SCALES_ATTR].get_values()[0]
    lo, hi = attrs[INPUT_RANGES_ATTR].get_values()[:2]
    assert scale == quant_math.activation_quant_params(lo, hi, 6)[0]


def test_spice_ideal_devices_equal_the_simulator():
    torch.manual_seed(4)
    design = _compile(_PoolFirst(), W4A4.replace(input_bits=8, targets=("ir", "sim", "spice")), _images(4, 32))
    x = _images(5, 2)
    np.testing.assert_array_equal(design.run(x, backend="spice", ideal=True)[0], design.run(x, backend="sim")[0])
