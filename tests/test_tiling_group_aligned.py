"""Group-aligned tiles of grouped/depthwise convs (``tiling.layer_tile_blocks``).

Expected blocks are worked out by hand from the rule (a tile holds
``min(array_rows // K_g, array_cols // N_g)`` whole consecutive groups when a
group fits an array, else the grid blocks that meet a diagonal block; dense
layers keep the row-major grid).  The compiled design is checked across
backends: the numpy reference and the C kernel simulators, the RTL (Icarus),
SPICE with ideal devices, and fake quantization (with device noise too).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.ir import spin
from spintron_nn.runtime import kernel
from spintron_nn.tiling import column_blocks, layer_tile_blocks
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.threads import single_torch_thread

sys.path.insert(0, str(Path(__file__).parent))
from test_training_fake_quant import _assert_same_dequantized  # noqa: E402
from test_verilog_rtl import assert_bit_exact  # noqa: E402


def _spans(blocks):
    return [((r.start, r.stop), (c.start, c.stop)) for r, c in blocks]


# --- the rule, by hand ----------------------------------------------------------


def test_depthwise_3x3_on_128x128_tiles_of_14_channels():
    # 32 channels: K_g = 9, N_g = 1, 128 // 9 = 14 channels per tile (126 rows x 14 columns)
    assert _spans(layer_tile_blocks((288, 32), 32, 128, 128)) == [
        ((0, 126), (0, 14)), ((126, 252), (14, 28)), ((252, 288), (28, 32))]


def test_grouped_conv_tiles_limited_by_rows_or_by_columns():
    # 4 groups of 2 input channels x 3x3 = 18 rows, 6 outputs, on 40x16: min(40 // 18, 16 // 6) = 2 groups
    assert _spans(layer_tile_blocks((72, 24), 4, 40, 16)) == [((0, 36), (0, 12)), ((36, 72), (12, 24))]
    # 6 groups of 4 x 5 on 32x12: rows would allow 8 groups, columns only 12 // 5 = 2
    assert _spans(layer_tile_blocks((24, 30), 6, 32, 12)) == [
        ((0, 8), (0, 10)), ((8, 16), (10, 20)), ((16, 24), (20, 30))]


def test_group_larger_than_an_array_keeps_the_grid_without_off_diagonal_blocks():
    # 2 groups of 20 x 20 on 16x16: the 3x3 grid minus the two blocks no group meets
    # (rows 0-16 x columns 32-40 and rows 32-40 x columns 0-16), row-major
    assert _spans(layer_tile_blocks((40, 40), 2, 16, 16)) == [
        ((0, 16), (0, 16)), ((0, 16), (16, 32)),
        ((16, 32), (0, 16)), ((16, 32), (16, 32)), ((16, 32), (32, 40)),
        ((32, 40), (16, 32)), ((32, 40), (32, 40))]


def test_dense_layers_keep_the_row_major_grid():
    # the tile-crossbars filecheck's Gemm [40, 32] on 16x16: 3 row blocks x 2 column blocks
    assert _spans(layer_tile_blocks((40, 32), 1, 16, 16)) == [
        ((0, 16), (0, 16)), ((0, 16), (16, 32)), ((16, 32), (0, 16)), ((16, 32), (16, 32)),
        ((32, 40), (0, 16)), ((32, 40), (16, 32))]
    assert _spans(layer_tile_blocks((300, 70), 1, 128, 32)) == [
        ((r, min(r + 128, 300)), (c, min(c + 32, 70))) for r in (0, 128, 256) for c in (0, 32, 64)]


def test_shift_add_partition_column_blocks_of_row_tiles():
    dense = layer_tile_blocks((40, 32), 1, 16, 16)
    assert column_blocks(dense) == [[0, 2, 4], [1, 3, 5]]
    assert column_blocks(layer_tile_blocks((288, 32), 32, 128, 128)) == [[0], [1], [2]]
    assert column_blocks(layer_tile_blocks((40, 40), 2, 16, 16)) == [[0, 2], [1, 3, 5], [4, 6]]


@pytest.mark.parametrize("seed", range(6))
def test_every_weight_in_exactly_one_tile_and_every_column_once(seed):
    rng = np.random.default_rng(seed)
    groups = int(rng.integers(2, 40))
    k_group, n_group = int(rng.integers(1, 30)), int(rng.integers(1, 6))
    array_rows, array_cols = int(rng.integers(8, 64)), int(rng.integers(4, 32))
    shape = (groups * k_group, groups * n_group)
    blocks = layer_tile_blocks(shape, groups, array_rows, array_cols)
    weights = np.zeros(shape, dtype=bool)
    for g in range(groups):
        weights[g * k_group:(g + 1) * k_group, g * n_group:(g + 1) * n_group] = True
    cover = np.zeros(shape, dtype=np.int64)
    for rows, cols in blocks:
        assert 0 < rows.stop - rows.start <= array_rows and 0 < cols.stop - cols.start <= array_cols
        cover[rows, cols] += 1
    assert (cover <= 1).all() and (cover[weights] == 1).all()
    assert all(weights[rows, cols].any() for rows, cols in blocks)  # no tile without a weight
    if k_group <= array_rows and n_group <= array_cols:  # group-aligned: each column from one tile
        columns = np.concatenate([np.arange(cols.start, cols.stop) for _, cols in blocks])
        assert sorted(columns) == list(range(shape[1]))


# --- one compiled network through every backend ---------------------------------------

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, output_bits=8, rows=32, cols=16, adc_bits=2)
SHAPE = (3, 6, 6)


def _network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 12, 1), nn.ReLU(),
        nn.Conv2d(12, 12, 3, padding=1, groups=12), nn.ReLU(),  # depthwise: 9 x 1 per group
        nn.Conv2d(12, 24, 1, groups=3), nn.ReLU(),  # grouped 1x1: 4 x 8 per group
        nn.Flatten(), nn.Linear(24 * 6 * 6, 5)).eval()


@pytest.fixture(scope="module")
def compiled():
    rng = np.random.default_rng(7)
    calibration = rng.uniform(0, 1, size=(16, *SHAPE)).astype(np.float32)
    x = rng.uniform(0, 1, size=(4, *SHAPE)).astype(np.float32)
    design = compile_model(_network(0), CONFIG, calibration, example_input=torch.from_numpy(calibration[:1]))
    with single_torch_thread():
        net = FakeQuantNetwork(_network(0), CONFIG)
        net.calibrate(calibration)
    return design, net, x


def _tiles(design, layer):
    return [op for op in design.spin_module.walk() if isinstance(op, spin.CrossbarTileOp) and op.layer.data == layer]


def test_compiled_tiles_are_group_aligned(compiled):
    design, _, _ = compiled
    offsets = {layer: [(spin.get_int(t, "row_offset"), spin.get_int(t, "col_offset"),
                        spin.get_int(t, "rows"), spin.get_int(t, "cols")) for t in _tiles(design, layer)]
               for layer in ("layer1", "layer2")}
    # depthwise on 32x16: min(32 // 9, 16 // 1) = 3 channels per tile, 27 x 3
    assert offsets["layer1"] == [(0, 0, 27, 3), (27, 3, 27, 3), (54, 6, 27, 3), (81, 9, 27, 3)]
    # grouped 1x1 on 32x16: min(32 // 4, 16 // 8) = 2 groups per tile, 8 x 16; the last group 4 x 8
    assert offsets["layer2"] == [(0, 0, 8, 16), (8, 16, 4, 8)]
    ids = [spin.get_int(t, "tile_id") for t in _tiles(design, "layer1") + _tiles(design, "layer2")]
    assert ids == list(range(ids[0], ids[0] + 6))
    # every output column from one tile: the shift_adds only concatenate
    blocks = [spin.get_ints(op, "blocks") for op in design.spin_module.walk() if isinstance(op, spin.ShiftAddOp)]
    assert (1, 1, 1, 1) in blocks and (1, 1) in blocks
    # tiles of one layer with different ADC shifts: a tile reading another's shift would show
    assert len({spin.get_int(t, "adc_shift") for t in _tiles(design, "layer1")}) > 1


def test_numpy_reference_and_c_kernel_agree(compiled, monkeypatch):
    design, _, x = compiled
    if not kernel.is_built():
        pytest.skip("C kernel not built")
    monkeypatch.setenv("SPINTRON_KERNEL", "numpy")
    reference = design.run(x, backend="sim")[0]
    monkeypatch.setenv("SPINTRON_KERNEL", "c")
    np.testing.assert_array_equal(design.run(x, backend="sim")[0], reference)
    assert len(np.unique(reference)) > 3


def test_fake_quantization_is_the_simulator(compiled):
    design, net, x = compiled
    with single_torch_thread():
        _assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])


def test_fake_quantization_with_device_noise_is_the_simulator(compiled):
    design, net, x = compiled
    spec = NoiseSpec(conductance_variation=0.15, stuck_at_zero=0.02, stuck_at_one=0.01)
    noisy = design.run(x, backend="sim", noise=spec, seed=11)[0]
    assert not np.array_equal(noisy, design.run(x, backend="sim")[0])
    net.noise = NoiseSpec(seed=11, conductance_variation=0.15, stuck_at_zero=0.02, stuck_at_one=0.01)
    try:
        with single_torch_thread():
            _assert_same_dequantized(net.predict(x), noisy)
    finally:
        net.noise = None


def test_rtl_is_bit_exact_with_icarus(compiled, tmp_path):
    design, _, x = compiled
    assert_bit_exact(design.spin_module, [x[:2]], "icarus", tmp_path)


def test_spice_with_ideal_devices_is_the_simulator(compiled):
    design, _, x = compiled
    np.testing.assert_array_equal(design.run(x[:2], backend="spice", ideal=True)[0],
                                  design.run(x[:2], backend="sim")[0])


# --- the grid choice (fewest arrays) ---------------------------------------------


def test_grid_choice_keeps_the_array_grid_for_grouped_layers():
    # depthwise 32 channels on 128x128: the grid's 3 row blocks x 1 column block (all meet the
    # diagonal); aligned would also be 3 tiles, but each 14 columns wide
    assert _spans(layer_tile_blocks((288, 32), 32, 128, 128, "grid")) == [
        ((0, 128), (0, 32)), ((128, 256), (0, 32)), ((256, 288), (0, 32))]
    # K_g = 65 on 128 rows, 64 groups of one output: aligned needs a tile per group, the grid 33
    shape = (65 * 64, 64)
    assert len(layer_tile_blocks(shape, 64, 128, 128)) == 64
    assert len(layer_tile_blocks(shape, 64, 128, 128, "grid")) == 33
    assert layer_tile_blocks((40, 40), 1, 16, 16, "grid") == layer_tile_blocks((40, 40), 1, 16, 16)


def test_bad_groups_and_tiling_choices_are_errors():
    from spintron_nn.errors import SpintronError

    with pytest.raises(SpintronError, match="groups = 3 must divide the 10x7 matrix"):
        layer_tile_blocks((10, 7), 3, 16, 16)
    with pytest.raises(SpintronError, match="grouped tiling must be one of aligned, grid"):
        layer_tile_blocks((9, 3), 3, 16, 16, "dense")
    with pytest.raises(SpintronError, match="grouped tiling"):
        CompileConfig(grouped_tiling="packed")


def test_grid_choice_compiles_bit_exact_with_fake_quantization():
    """The choice reaches tile-crossbars and fake quantization alike (same tiles, same shifts)."""
    config = CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=3, grouped_tiling="grid")
    rng = np.random.default_rng(8)
    calibration = rng.uniform(0, 1, size=(16, *SHAPE)).astype(np.float32)
    x = rng.uniform(0, 1, size=(4, *SHAPE)).astype(np.float32)
    design = compile_model(_network(1), config, calibration, example_input=torch.from_numpy(calibration[:1]))
    # depthwise 108 x 12 on 32x16: the grid's 4 row blocks x 1 column block, 12 columns each
    assert [(spin.get_int(t, "row_offset"), spin.get_int(t, "cols")) for t in _tiles(design, "layer1")] == [
        (0, 12), (32, 12), (64, 12), (96, 12)]
    with single_torch_thread():
        net = FakeQuantNetwork(_network(1), config)
        net.calibrate(calibration)
        _assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])


@pytest.mark.parametrize("grouped", ["aligned", "grid"])
def test_estimate_energy_prices_an_untiled_layer_as_tile_crossbars_would_tile_it(grouped):
    """ADC conversions and MACs do not depend on the weights' levels: an untiled layer priced
    with a tiling choice has the tiled layer's ADC energy and MACs under the same choice."""
    import copy

    from spintron_nn.frontend import load_model
    from spintron_nn.passes.calibrate import calibrate_module
    from spintron_nn.passes.estimate_energy import estimate_module
    from spintron_nn.passes.flows import default_float_pipeline
    from spintron_nn.passes.pipeline import run_pipeline

    calibration = np.random.default_rng(3).uniform(0, 1, size=(8, *SHAPE)).astype(np.float32)
    module = load_model(_network(2), example_input=torch.from_numpy(calibration[:1]))
    run_pipeline(module, default_float_pipeline())
    calibrate_module(module, [calibration])
    run_pipeline(module, "quantize{weight-bits=4 activation-bits=4},lower-to-spin{rows=32 cols=16}")
    tiled = copy.deepcopy(module)
    run_pipeline(tiled, f"tile-crossbars{{grouped-tiling={grouped}}}")

    def layer(report, name):
        return next(entry for entry in report["spintronic"]["layers"] if entry["name"] == name)

    untiled_report, tiled_report = estimate_module(module, grouped_tiling=grouped), estimate_module(tiled)
    for name in ("layer1", "layer2"):  # the depthwise and the grouped 1x1 conv
        assert layer(untiled_report, name)["macs"] == layer(tiled_report, name)["macs"]
        assert layer(untiled_report, name)["energy_j"]["adc"] == pytest.approx(
            layer(tiled_report, name)["energy_j"]["adc"], rel=1e-12)
