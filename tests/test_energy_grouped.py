"""MACs of grouped and depthwise convolutions (issue 7).

A grouped conv is mapped as one block-diagonal matrix; its zero blocks are
not MACs of the network, on the crossbars or on the CMOS baseline.  The
expected counts come from torch forward hooks (conv formula on the shapes
torch itself produces), never from the compiler.  The physical energy still
reads every cell of a mapped tile, zeros included.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.devices.cells import make_cell
from spintron_nn.energy.cmos_baseline import CmosArray, cmos_layer_cost
from spintron_nn.energy.cost_model import cell_costs, estimate_layer, unit_costs
from spintron_nn.energy.params import load_parameters
from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model
from spintron_nn.ir import spin
from spintron_nn.passes.calibrate import calibrate_module
from spintron_nn.passes.estimate_energy import estimate_module
from spintron_nn.passes.flows import default_float_pipeline, quantize_and_lower
from spintron_nn.passes.pipeline import run_pipeline

INPUT = (1, 8, 10, 10)
ARRAY = 16  # small arrays, so that tiles span several groups
CONVS = {  # in 8 channels: the kinds of convolution a CNN uses
    "dense": dict(out_channels=8, kernel_size=3, padding=1),
    "grouped": dict(out_channels=8, kernel_size=3, padding=1, groups=4),
    "depthwise": dict(out_channels=8, kernel_size=3, padding=1, groups=8),
    "depthwise_x2_stride2": dict(out_channels=16, kernel_size=3, stride=2, groups=8),
}


def _conv_net(kind: str) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(INPUT[1], **CONVS[kind]), nn.ReLU()).eval()


def _hook_macs(net: nn.Module, example: torch.Tensor) -> int:
    """N*Cout*Hout*Wout * Cin/groups*kh*kw from the output torch produces."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        total += output.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)

    handles = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(example)
    for handle in handles:
        handle.remove()
    return total


def _calibration() -> list[np.ndarray]:
    return [np.random.default_rng(0).random((8, *INPUT[1:])).astype(np.float32)]


def _example() -> torch.Tensor:
    return torch.rand(*INPUT, generator=torch.Generator().manual_seed(1))


def _tiled(kind: str):
    module = load_model(_conv_net(kind), example_input=_example())
    return quantize_and_lower(module, _calibration(), rows=ARRAY, cols=ARRAY)


@pytest.fixture(scope="module", params=list(CONVS))
def case(request):
    kind = request.param
    return kind, _tiled(kind), _hook_macs(_conv_net(kind), _example())


def test_macs_match_the_torch_count(case):
    kind, module, expected = case
    report = estimate_module(module)
    assert report["spintronic"]["total"]["macs"] == expected, kind
    assert report["cmos"]["total"]["macs"] == expected, kind


#: Whether a case's tiles hold structural zeros, by hand from the tiling rule on
#: 16x16 arrays: "grouped" has 2 input channels x 3x3 = 18 rows per group > 16,
#: so it keeps the grid (blocks spanning several groups); a depthwise group
#: (9 x 1, or 9 x 2 with 2 outputs per channel) fits, 16 // 9 = 1 group per
#: tile, so its group-aligned tiles are exactly the diagonal blocks.
HAS_ZERO_CELLS = {"dense": False, "grouped": True, "depthwise": False, "depthwise_x2_stride2": False}


def test_grouped_tiles_read_more_cells_than_they_have_weights(case):
    """The grid-tiled grouped case exercises the structural zeros: its mapped
    tiles cover more positions than the layer has weights."""
    kind, module, _expected = case
    tiles = [op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)]
    positions = sum(spin.get_int(t, "rows") * spin.get_int(t, "cols") for t in tiles)
    weights = _conv_net(kind)[0].weight.numel()
    assert positions >= weights
    assert (positions > weights) == HAS_ZERO_CELLS[kind], (kind, positions, weights)


def test_cell_reads_count_the_zero_cells_of_a_tile(case):
    """Cell-read energy: every cell of every mapped tile conducts when its
    row is driven, the zero positions between groups included (real
    energy), with conductances from the device model (devices/cells.py)."""
    _kind, module, _expected = case
    table = load_parameters()
    cell = make_cell("dw", 4)  # 2-bit cells (quantize_and_lower's default)
    volts, read_time = table.value("read.v_read"), table.value("crossbar.read_time")
    g_max, g_min = 1.0 / cell.mtj.r_parallel, 1.0 / float(cell.mtj.r_antiparallel(volts))
    expected = 0.0
    for tile in (op for op in module.walk() if isinstance(op, spin.CrossbarTileOp)):
        levels = np.concatenate([tile.levels_pos.array.ravel(), tile.levels_neg.array.ravel()]).astype(float)
        assert levels.size == 2 * spin.get_int(tile, "slices") * spin.get_int(tile, "rows") * spin.get_int(tile, "cols")
        conductance = np.sum(g_min + levels * (g_max - g_min) / 3)
        vectors = _output_pixels(tile)
        expected += vectors * 0.5 * spin.get_int(tile, "input_bits") * volts**2 * conductance * read_time
    modelled = sum(layer["energy_j"]["cell_read"] for layer in estimate_module(module, table)["spintronic"]["layers"])
    assert modelled == pytest.approx(expected, rel=1e-9)


def _output_pixels(tile: spin.CrossbarTileOp) -> int:
    """Input vectors of a tile: the output pixels of its im2col (batch 1)."""
    im2col = tile.input.owner
    assert isinstance(im2col, spin.Im2ColOp)
    _b, _c, h, w = spin.shape_of(im2col.input)
    kernel = spin.get_ints(im2col, "kernel_shape")
    pads, strides = spin.get_ints(im2col, "pads"), spin.get_ints(im2col, "strides")
    return ((h + pads[0] + pads[2] - kernel[0]) // strides[0] + 1) * ((w + pads[1] + pads[3] - kernel[1]) // strides[1] + 1)


def test_untiled_layer_costs_what_its_tiles_cost(case):
    """estimate-energy before tile-crossbars (one spin.crossbar_layer with
    ``groups``) counts what the tiles count, and prices every component alike
    but the cell reads (mean-level conductances before the levels are known)."""
    kind, tiled, expected = case
    module = load_model(_conv_net(kind), example_input=_example())
    run_pipeline(module, default_float_pipeline())
    calibrate_module(module, _calibration())
    run_pipeline(module, f"quantize,lower-to-spin{{rows={ARRAY} cols={ARRAY}}}")
    assert any(isinstance(op, spin.CrossbarLayerOp) for op in module.walk())
    report = estimate_module(module)
    assert report["spintronic"]["total"]["macs"] == expected, kind
    assert report["cmos"]["total"]["macs"] == expected, kind
    before, after = report["spintronic"]["layers"], estimate_module(tiled)["spintronic"]["layers"]
    assert [layer["name"].split("_")[0] for layer in before] == [layer["name"].split("_")[0] for layer in after]
    for untiled_layer, tiled_layer in zip(before, after):
        for component, energy in untiled_layer["energy_j"].items():
            if component not in ("cell_read", "total"):
                assert energy == pytest.approx(tiled_layer["energy_j"][component], rel=1e-12, abs=0), \
                    (kind, untiled_layer["name"], component)
        assert untiled_layer["latency_s"] == pytest.approx(tiled_layer["latency_s"], rel=1e-12)


def test_a_concatenation_of_lone_tiles_moves_no_bytes():
    """Group-aligned depthwise tiles each hold whole output channels: the shift-add only
    places their sums side by side, which is addressing, not a copy (no adds, no bytes)."""
    module = _tiled("depthwise")
    run_pipeline(module, "estimate-energy")
    shift_adds = [op for op in module.walk() if isinstance(op, spin.ShiftAddOp)]
    assert shift_adds and all(set(spin.get_ints(op, "blocks")) == {1} for op in shift_adds)
    for op in shift_adds:
        assert op.attributes["spin.cost"].data["energy_pj"].value.data == 0


# ------------------------------------------------- the cost model without IR


@pytest.fixture(scope="module")
def units():
    return unit_costs(load_parameters())


def test_depthwise_layer_by_hand(units):
    """3x3 depthwise conv, 64 channels, 14x14 outputs on 128x128 arrays: the
    576 x 64 block-diagonal matrix gets group-aligned tiles of 128 // 9 = 14
    channels (126 x 14; the last one 8 channels, 72 x 8), 5 tiles like the
    grid's 5 row tiles of one column block, but each output column is
    converted once instead of once per row tile; MACs are 9 per output, not 576."""
    cell = cell_costs(load_parameters(), "dw", 2)
    grouped = estimate_layer(576, 64, units=units, cell=cell, vectors=196, groups=64)
    dense = estimate_layer(576, 64, units=units, cell=cell, vectors=196)
    assert grouped.macs == 64 * 9 * 196
    assert dense.macs == 576 * 64 * 196
    # the dense grid converts 5 row tiles x 64 columns, the group-aligned tiles 64 columns
    assert grouped.energy["adc"] == pytest.approx(dense.energy["adc"] / 5)
    # nothing to merge (every column comes from one tile): one add per conversion
    # (196 vectors x 8 input bits x 4 slices of 2-bit cells per column)
    assert grouped.energy["shift_add"] == pytest.approx(64 * 196 * 8 * 4 * units.add32_energy)
    # 4 x 126 x 14 + 72 x 8 cells per slice and sign read, instead of 576 x 64
    assert 0 < grouped.energy["cell_read"] < dense.energy["cell_read"] * (4 * 126 * 14 + 72 * 8) / (576 * 64)


def test_grouped_grid_blocks_off_the_diagonal_get_no_tile(units):
    """4 groups of 64 x 64 on 64x64 arrays: only the 4 diagonal tiles of the
    4x4 grid are mapped, so a quarter of the dense layer's ADC conversions."""
    cell = cell_costs(load_parameters(), "dw", 2)
    grouped = estimate_layer(256, 256, units=units, cell=cell, groups=4, array_rows=64, array_cols=64)
    dense = estimate_layer(256, 256, units=units, cell=cell, array_rows=64, array_cols=64)
    assert grouped.macs == 256 * 256 // 4
    assert grouped.energy["adc"] == pytest.approx(dense.energy["adc"] / 4)
    # one row tile per column block: nothing to merge, one add per conversion
    # (8 input bits x 4 slices of 2-bit cells per column)
    assert grouped.energy["shift_add"] == pytest.approx(4 * 64 * 8 * 4 * units.add32_energy)


def test_cmos_baseline_skips_the_structural_zeros(units):
    array = CmosArray(mac_units=256, clock_frequency=1e9, weight_reuse=1)
    depthwise = cmos_layer_cost(576, 64, units=units, array=array, vectors=196, groups=64)
    assert depthwise.macs == 64 * 9 * 196
    assert depthwise.energy["mac"] == pytest.approx(depthwise.macs * (units.mult8_energy + units.add32_energy))


def test_groups_must_divide_the_matrix(units):
    cell = cell_costs(load_parameters(), "dw", 2)
    with pytest.raises(SpintronError, match="groups = 3"):
        estimate_layer(576, 64, units=units, cell=cell, groups=3)
    with pytest.raises(SpintronError, match="groups = 0"):
        cmos_layer_cost(576, 64, units=units, array=CmosArray(256, 1e9, 1), groups=0)
