"""Signed (two's-complement) bit-serial inputs: ``CompileConfig(signed_inputs=True)``,
docs/semantics.md section 4a.

Oracles: with an ideal ADC a signed layer computes exactly ``(x - zp) @ W``, so a signed
design equals the unsigned one bit for bit; with a real ADC the tile is checked against a
plain loop written from the semantics text; fake quantization against the simulator; the
SPICE backend's ideal devices and the Verilog backend's RTL (Icarus) against the simulator.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function
from spintron_nn.passes.calibrate import calibrate_module
from spintron_nn.passes.flows import quantize_and_lower
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.threads import single_torch_thread

RNG = np.random.default_rng(20261130)


def _cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, groups=3, padding=1),
                         nn.ReLU6(), nn.Flatten(), nn.Linear(6 * 6 * 6, 5)).eval()


def _data(seed: int, count: int = 24) -> np.ndarray:
    # standardised-like inputs: the input layer's zero point sits mid-range
    return np.clip(np.random.default_rng(seed).standard_normal((count, 2, 6, 6)), -1.5, 1.5).astype(np.float32)


# ----------------------------------------------------------------------- the tile


def _tile_by_the_text(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift):
    """Section 4a written out as loops: two's-complement bit planes, one ADC read per plane,
    slice and column, the top plane shift-added with a negative weight."""
    slices, rows, cols = levels_pos.shape
    out = np.zeros((x.shape[0], cols), dtype=np.int64)
    for n in range(x.shape[0]):
        for b in range(input_bits):
            sign = -1 if b == input_bits - 1 else 1
            bits = (x[n] >> b) & 1
            for s in range(slices):
                for c in range(cols):
                    current = int(np.sum(bits * (levels_pos[s, :, c].astype(np.int64) - levels_neg[s, :, c])))
                    code = (current + (1 << (adc_shift - 1))) >> adc_shift if adc_shift else current
                    code = min(max(code, -(2 ** (adc_bits - 1))), 2 ** (adc_bits - 1) - 1)
                    out[n, c] += sign * code * 2 ** (adc_shift + b + s * cell_bits)
    return out


@pytest.mark.parametrize("case", range(12))
def test_tile_is_the_semantics_text(case):
    rng = np.random.default_rng(case)
    input_bits, cell_bits = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    zero_point = int(rng.integers(1, 2**input_bits))
    adc_bits, adc_shift = int(rng.integers(3, 8)), int(rng.integers(0, 4))
    rows, cols, slices = int(rng.integers(1, 20)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
    levels_pos = rng.integers(0, 2**cell_bits, (slices, rows, cols)).astype(np.uint8)
    levels_neg = rng.integers(0, 2**cell_bits, (slices, rows, cols)).astype(np.uint8)
    x = rng.integers(0, 2**input_bits, (7, rows))
    codes = reference.signed_input_codes(x, zero_point, input_bits)
    bits = reference.signed_input_bits(zero_point, input_bits)
    got = reference.tile_matvec(codes, levels_pos, levels_neg, input_bits=bits, cell_bits=cell_bits,
                                adc_bits=adc_bits, adc_shift=adc_shift, signed_inputs=True)
    np.testing.assert_array_equal(got, _tile_by_the_text(codes, levels_pos, levels_neg, bits, cell_bits,
                                                         adc_bits, adc_shift))


@pytest.mark.parametrize("input_bits", [2, 4, 7])
def test_ideal_layer_is_x_minus_zero_point_times_w(input_bits):
    for zero_point in sorted({0, 1, 2 ** (input_bits - 1), 2**input_bits - 1}):
        x = RNG.integers(0, 2**input_bits, (16, 40))
        w = RNG.integers(-7, 8, (40, 9))
        acc = reference.linear_accumulate(
            x, w, weight_bits=4, cell_bits=2, input_bits=input_bits, adc_bits=None, adc_shifts=0,
            rows_per_tile=16, cols_per_tile=4, x_zero_point=zero_point, signed_inputs=True)
        np.testing.assert_array_equal(acc, (x - zero_point) @ w)
        expected_bits = input_bits if zero_point == 2 ** (input_bits - 1) else input_bits + 1
        assert reference.signed_input_bits(zero_point, input_bits) == expected_bits


# ----------------------------------------------------------------------- designs


def _ideal_design(signed: bool, seed: int):
    model, calibration = _cnn(seed), _data(seed)
    with single_torch_thread():
        module = load_model(model, example_input=torch.from_numpy(calibration[:1]))
    calibrate_module(module, [calibration])
    return quantize_and_lower(module, [calibration], weight_bits=4, activation_bits=4, adc_bits=None,
                              rows=16, cols=16, pipeline="", signed_inputs=signed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ideal_adc_signed_design_equals_the_unsigned_one(seed):
    signed, unsigned = _ideal_design(True, seed), _ideal_design(False, seed)
    ops = list(main_function(signed).walk())
    converters = [op for op in ops if isinstance(op, spin.SignedCodesOp)]
    assert len(converters) == 1 and spin.get_int(converters[0], "zero_point") > 0  # the input layer only
    signed_tiles = [op for op in ops if isinstance(op, spin.CrossbarTileOp) and spin.reads_signed_inputs(op)]
    assert signed_tiles and all(t.layer.data == "layer0" for t in signed_tiles)
    x = _data(seed + 50, 10)
    np.testing.assert_array_equal(run_spin(signed, [x])[0], run_spin(unsigned, [x])[0])


CONFIG = CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16, adc_bits=4, signed_inputs=True)


def _compiled(config: CompileConfig, seed: int = 0):
    model, calibration = _cnn(seed), _data(seed)
    with single_torch_thread():
        design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    return model, calibration, design


@pytest.mark.parametrize("noisy", [False, True])
def test_fake_quantization_is_the_simulator(noisy):
    model, calibration, design = _compiled(CONFIG)
    x = _data(77, 12)
    spec = NoiseSpec(conductance_variation=0.15, stuck_at_zero=0.02, read_noise=0.3) if noisy else None
    simulated = design.run(x, backend="sim", noise=spec, seed=5)[0]
    with single_torch_thread():
        net = FakeQuantNetwork(model, CONFIG)
        net.calibrate(calibration)
        net.noise = NoiseSpec(seed=5, conductance_variation=0.15, stuck_at_zero=0.02, read_noise=0.3) if noisy else None
        fake = net.predict(x)
    np.testing.assert_allclose(fake, simulated, rtol=0, atol=1e-6 * float(np.abs(simulated).max()))
    assert not np.array_equal(simulated, _compiled(CONFIG.replace(signed_inputs=False))[2].run(
        x, backend="sim", noise=spec, seed=5)[0])  # signed inputs change the real-ADC result


def test_spice_ideal_devices_equal_the_simulator():
    _, _, design = _compiled(CONFIG.replace(targets=("ir", "sim", "spice")))
    x = _data(9, 2)
    np.testing.assert_array_equal(design.run(x, backend="spice", ideal=True)[0], design.run(x, backend="sim")[0])


def test_energy_prices_the_extra_read_cycle_and_the_conversion():
    from spintron_nn.backends.report.build import build_report

    layers = {l["name"]: l for l in build_report(_compiled(CONFIG)[2])["spintronic"]["layers"]}
    plain = {l["name"]: l for l in build_report(_compiled(CONFIG.replace(signed_inputs=False))[2])
             ["spintronic"]["layers"]}
    report = build_report(_compiled(CONFIG)[2])
    converter = next(name for name in layers if name.startswith("signed_codes"))
    assert layers[converter]["energy_j"]["digital"] > 0 and layers[converter]["energy_j"]["buffer"] == 0
    cmos = {l["name"]: l for l in report["cmos"]["layers"]}
    assert cmos[converter]["energy_j"]["total"] == 0  # the int8 baseline takes signed codes as they are
    # layer0 reads 5-bit codes (zero point 7 or 8 of 4-bit codes: 4 or 5 planes); layer1 is unchanged
    assert layers["layer0"]["latency_s"] >= plain["layer0"]["latency_s"]
    assert layers["layer1"]["energy_j"]["total"] == pytest.approx(plain["layer1"]["energy_j"]["total"], rel=1e-12)


@pytest.mark.parametrize("case", range(6))
def test_rtl_is_bit_exact_with_the_simulator(case):
    """Random widths, ADCs and cells: Icarus runs the bundle's RTL (spin.signed_codes as a
    spin_map table, spin_tile with SIGNED = 1) and must equal the simulator bit for bit."""
    from spintron_nn.backends.verilog import runner

    rng = np.random.default_rng(100 + case)
    config = CONFIG.replace(activation_bits=int(rng.integers(2, 8)), weight_bits=int(rng.integers(3, 7)),
                            cell_bits=int(rng.integers(1, 4)), adc_bits=int(rng.integers(3, 8)),
                            rows=int(rng.choice([16, 64])), cols=int(rng.choice([16, 32])))
    _, _, design = _compiled(config, seed=case)
    tiles = [op for op in design.spin_module.walk() if isinstance(op, spin.CrossbarTileOp)]
    assert any(spin.reads_signed_inputs(t) for t in tiles) and not all(spin.reads_signed_inputs(t) for t in tiles)
    x = _data(200 + case, 3)
    expected = run_spin(design.spin_module, [x])
    actual, _ = runner.run_rtl(design.spin_module, [x], simulator="icarus")
    for got, ref in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(got, ref)


def test_rtl_of_a_signed_design_is_lint_clean(tmp_path):
    import subprocess

    from spintron_nn.backends.verilog import bundle, tools

    _, _, design = _compiled(CONFIG)
    plan = bundle.write_rtl(design.spin_module, tmp_path)
    result = subprocess.run(tools.lint_command(tmp_path, bundle.sizes_of(plan, 2)), cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


def test_cli_compiles_and_runs_the_verilog_target(tmp_path, capsys):
    from spintron_nn.tools.spintronc import main
    from spintron_nn.training.export import export_onnx

    with single_torch_thread():
        export_onnx(_cnn(), tmp_path / "m.onnx", _data(0))
    np.save(tmp_path / "c.npy", _data(0))
    np.save(tmp_path / "x.npy", _data(5, 2))
    bundle_dir = tmp_path / "b"
    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(bundle_dir), "-q", "--signed-inputs",
                 "--activation-bits", "4", "--calibration", str(tmp_path / "c.npy"),
                 "--targets", "ir,sim,verilog"]) == 0
    from spintron_nn.backends.verilog import bundle

    synthesis = json.loads((bundle_dir / "verilog" / bundle.SIZES_JSON).read_text())["synthesis"]
    assert synthesis["status"] == "done" and synthesis["latches"] == 0  # Yosys: the signed tile is clean logic
    for backend in ("sim", "rtl"):
        assert main(["run", str(bundle_dir), "--input", str(tmp_path / "x.npy"), "--backend", backend,
                     "--output", str(tmp_path / f"{backend}.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "rtl.npy"), np.load(tmp_path / "sim.npy"))


def test_refusals():
    with pytest.raises(SpintronError, match="need 9-bit two's-complement codes"):
        _compiled(CONFIG.replace(activation_bits=8))


def test_energy_regulariser_reads_the_twos_complement_codes():
    """The regulariser's activity surrogate is the code the tiles read: rounded, it is the
    simulator's two's-complement code of every input; its gradient reaches the weights."""
    from spintron_nn.training.energy import _soft_read_codes, energy_regulariser, read_code_bits
    from spintron_nn.training.ste import codes_of

    model, calibration, _ = _compiled(CONFIG)
    with single_torch_thread():
        net = FakeQuantNetwork(model, CONFIG)
        net.calibrate(calibration)
        net(torch.from_numpy(_data(4, 8)))
        x, grid, step = net.matrix_inputs[0]
        assert read_code_bits(CONFIG, grid) == reference.signed_input_bits(grid.zero_point, 4)
        soft = _soft_read_codes(x, grid, step.layer_config(CONFIG)).detach().numpy()
        expected = reference.signed_input_codes(codes_of(x, grid.scale, grid.zero_point), grid.zero_point, 4)
        np.testing.assert_array_equal(np.rint(soft).astype(np.int64), expected)
        assert expected.min() == 0 and expected.max() == 2 ** read_code_bits(CONFIG, grid) - 1
        energy, bound = energy_regulariser(net)
        energy.backward()
    assert 0 < float(energy.detach()) < bound
    assert model[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kernel", ["c", "numpy"])
def test_dispatched_signed_tiles_are_the_reference(kernel, monkeypatch):
    """The C path (unsigned call minus twice a one-bit call of the top plane) and the
    fallbacks equal the reference, with static device effects and with read noise."""
    from spintron_nn.backends.sim import dispatch
    from spintron_nn.runtime.kernel import KERNEL_ENV

    if kernel == "c" and dispatch.active_kernel() != "c":
        pytest.skip("the C kernel is not built here")
    monkeypatch.setenv(KERNEL_ENV, kernel)
    rng = np.random.default_rng(11)
    for case in range(60):
        input_bits, cell_bits, slices = int(rng.integers(2, 9)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        rows, cols = int(rng.integers(1, 140)), int(rng.integers(1, 40))
        levels_pos = rng.integers(0, 2**cell_bits, (slices, rows, cols)).astype(np.uint8)
        levels_neg = rng.integers(0, 2**cell_bits, (slices, rows, cols)).astype(np.uint8)
        x = rng.integers(0, 2**input_bits, (int(rng.integers(1, 20)), rows))
        adc_bits = None if case % 5 == 0 else int(rng.integers(3, 9))
        adc_shift = 0 if adc_bits is None else int(rng.integers(0, 5))
        noise = [None, NoiseSpec(seed=case, tile_id=2, conductance_variation=0.2, stuck_at_zero=0.02),
                 NoiseSpec(seed=case, read_noise=0.5)][case % 3]
        options = dict(input_bits=input_bits, cell_bits=cell_bits, adc_bits=adc_bits, adc_shift=adc_shift,
                       noise=noise, signed_inputs=True)
        np.testing.assert_array_equal(dispatch.tile_matvec(x, levels_pos, levels_neg, **options),
                                      reference.tile_matvec(x, levels_pos, levels_neg, **options))


def test_zoo_tiny_vision_with_signed_inputs_is_bit_exact_with_verilator(tmp_path):
    """The network signed inputs help most (docs/training.md), its shipped weights on real
    images, through Verilator (about 10 s): the testbench checks every output word against
    the simulator."""
    import sys
    from pathlib import Path

    from spintron_nn import models
    from spintron_nn.backends.verilog import runner

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import shapes_data

    images, _ = shapes_data.make_split(40, seed=78)
    x = shapes_data.normalise(images)
    config = CompileConfig(weight_bits=4, activation_bits=4, output_bits=8, adc_bits=6, signed_inputs=True,
                           targets=("ir", "sim"))
    with single_torch_thread():
        design = compile_model(models.get("tiny_vision_cnn", pretrained=True), config, x[:32],
                               example_input=torch.from_numpy(x[:1]))
    expected = run_spin(design.spin_module, [x[32:34]])
    actual, _ = runner.run_rtl(design.spin_module, [x[32:34]], simulator="verilator", folder=tmp_path)
    for got, ref in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(got, ref)


def test_header_says_when_no_layer_reads_signed_codes(tmp_path, capsys):
    """Pixels in 0..1 have zero point 0: the option changes nothing, and the header says so."""
    from pathlib import Path

    from spintron_nn.tools.spintronc import main

    examples = Path(__file__).resolve().parents[1] / "examples"
    assert main(["compile", str(examples / "digits_mlp.onnx"), "-o", str(tmp_path / "d"), "--signed-inputs",
                 "--calibration", str(examples / "digits_calibration.npy")]) == 0
    assert "signed inputs (no layer reads a non-zero zero point: nothing changes)" in capsys.readouterr().out
