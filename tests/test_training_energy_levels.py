"""Training prices each matrix layer at its weights' actual cell levels, as the compiler does.

Oracle: the compiled design's report (``build_report``: ``estimate-energy`` over
the ``spin`` module, each ``spin.crossbar_tile`` priced at its programmed
levels) with the table's input one-bit fraction set to ``F0`` and its mean
level fraction to a value nothing may use.  Like with like: a compiled
layer's energy is its tiles, the shift-add op merging its row tiles and its
requant; training's ``layer_cost`` has the same tiles, adds and requant.  Every
component agrees for every layer: the tiles' (cell reads, row drivers, ADC,
their leakage), the merge adds and requant, and the buffer traffic of all of
them (once not compared: ``estimate_layer`` did not price the partial sums that
the shift-add and requant ops read and write, and the compiled shift-add of a
concatenation-only grouped layer priced a copy).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.sim.reference import tile_grid
from spintron_nn.config import CompileConfig
from spintron_nn.energy import cost_model
from spintron_nn.ir import spin
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.energy import (
    crossbar_energy, energy_regulariser, layer_cost, layer_energy, layer_level_sums, level_sum, network_level_sums,
    read_code_bits)
from spintron_nn.training.steps import MatrixStep
from spintron_nn.training.threads import single_torch_thread

sys.path.insert(0, str(Path(__file__).parent))
import test_training_fake_quant as chain_cases  # noqa: E402  (compile + calibrate helpers)
import test_training_graph_fake_quant as graph_cases  # noqa: E402

F0 = 0.3
OVERRIDES = (("crossbar.input_one_fraction", F0), ("crossbar.mean_level_fraction", 0.9))
TILE_COMPONENTS = ("cell_read", "row_driver", "adc", "leakage", "mac")
LAYER_COMPONENTS = ("shift_add", "digital", "buffer")  # row-tile merges, requant, and the bytes moved


@pytest.fixture(autouse=True)
def one_thread():
    with single_torch_thread():
        yield


def _with_overrides(config: CompileConfig) -> CompileConfig:
    return config.replace(parameter_overrides=OVERRIDES)


CASES = {
    "mlp-w4": (chain_cases._mlp, (70,), CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=4)),
    "mlp-w4-layer0-w8": (chain_cases._mlp, (70,), CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16,
                                                                 adc_bits=4, layer_weight_bits={"layer0": 8})),
    "mlp-w8": (chain_cases._mlp, (70,), CompileConfig(weight_bits=8, activation_bits=8, cell_bits=2, rows=64,
                                                      cols=32, adc_bits=6)),
    "cnn-w6-3bit-cells": (chain_cases._cnn, (3, 16, 16), CompileConfig(weight_bits=6, activation_bits=5,
                                                                       cell_bits=3, rows=128, cols=128, adc_bits=5)),
    # layer1 reads layer0's 8-bit codes; the network's inputs are 6-bit codes
    "mlp-w4-layer0-a8-inputs6": (chain_cases._mlp, (70,), CompileConfig(
        weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=4, layer_activation_bits={"layer0": 8},
        input_bits=6)),
    # single layers' ADC resolutions
    "cnn-w6-layer-adcs": (chain_cases._cnn, (3, 16, 16), CompileConfig(
        weight_bits=6, activation_bits=5, adc_bits=5, layer_adc_bits={"layer0": 3, "layer2": 9})),
    # the input layer reads x - zp as two's-complement codes: one more read cycle per vector
    "mlp-w4-signed-inputs": (chain_cases._mlp, (70,), CompileConfig(weight_bits=4, activation_bits=4, rows=32,
                                                                     cols=16, adc_bits=4, signed_inputs=True)),
    "cnn-w6-signed-inputs": (chain_cases._cnn, (3, 16, 16), CompileConfig(weight_bits=6, activation_bits=5,
                                                                          adc_bits=5, signed_inputs=True)),
}


def _compiled_layers(design) -> dict[str, dict]:
    return {layer["name"]: layer for layer in build_report(design)["spintronic"]["layers"]}


def _compiled_level_sums(design) -> dict[str, list[int]]:
    sums: dict[str, list[int]] = {}
    for op in design.spin_module.walk():
        if isinstance(op, spin.CrossbarTileOp):
            sums.setdefault(op.layer.data, []).append(level_sum(op.levels_pos.array, op.levels_neg.array))
    return sums


def _training_costs(net, x, one_fraction):
    """Per matrix step: (step, level sums, level-exact Cost, mean-level Cost) at ``one_fraction``."""
    net(torch.from_numpy(x))
    rows = []
    for x_in, grid, step in net.matrix_inputs:
        k, n, vectors = step.crossbar_shape(tuple(x_in.shape))
        config = step.layer_config(net.config)  # the layer's own weight width
        levels = layer_level_sums(step.integer_weights(config, grid.scale, grid.code_bits(config))[0], step.groups, config)
        bits = read_code_bits(config, grid)  # signed inputs: the two's-complement width
        rows.append((step, levels, layer_cost(k, n, vectors, config, one_fraction, step.groups, levels, bits),
                     layer_cost(k, n, vectors, config, one_fraction, step.groups, input_bits=bits)))
    return rows


def _assert_like_the_compiled_report(design, net, x):
    compiled, compiled_levels = _compiled_layers(design), _compiled_level_sums(design)
    rows = _training_costs(net, x, F0)
    assert len(rows) == len(compiled_levels)
    tiles = [op for op in design.spin_module.walk() if isinstance(op, spin.CrossbarTileOp)]
    assert any(spin.reads_signed_inputs(t) for t in tiles) == design.config.signed_inputs
    read_bits = {t.layer.data: spin.get_int(t, "input_bits") for t in tiles}
    assert [read_code_bits(step.layer_config(net.config), grid) for _, grid, step in net.matrix_inputs] \
        == [read_bits[f"layer{step.index}"] for _, _, step in net.matrix_inputs]
    for step, levels, cost, mean_cost in rows:
        name = f"layer{step.index}"
        assert levels == compiled_levels[name]
        for component in TILE_COMPONENTS + LAYER_COMPONENTS:
            assert cost.energy[component] == pytest.approx(compiled[name]["energy_j"][component], rel=1e-9, abs=0), \
                (name, component)
        # the mean-level assumption (here 0.9 of full scale) is not what the compiler prices
        assert mean_cost.energy["cell_read"] > 1.01 * cost.energy["cell_read"]
    return rows


@pytest.mark.parametrize("case", list(CASES))
def test_layer_energy_is_the_compiled_reports(case):
    build, shape, config = CASES[case]
    design, net, x = chain_cases._compiled_and_fake(build, shape, _with_overrides(config), 0)
    _assert_like_the_compiled_report(design, net, x[:4])


def test_grouped_conv_energy_is_the_compiled_reports_on_its_mapped_tiles():
    design, net, x = graph_cases._compiled_and_fake("depthwise-w4", 0, _with_overrides(graph_cases.W4_TINY))
    rows = _assert_like_the_compiled_report(design, net, x[:4])
    step, levels, cost, _ = next(r for r in rows if r[0].groups == 24)
    k, n, vectors = step.crossbar_shape((1, 24, 8, 8))
    assert (k, n) == (24 * 9, 24)  # the block-diagonal matrix over all channels
    grid = (-(-k // net.config.rows)) * (-(-n // net.config.cols))
    assert len(levels) < grid  # tiles off the diagonal blocks are not mapped, and not priced
    # a dense matrix of that size, even with every cell unprogrammed, costs more
    dense = layer_energy(k, n, vectors, net.config, F0, 1, [0] * grid)
    assert cost.total_energy < 0.5 * dense


def test_crossbar_energy_at_the_table_fraction_is_the_compiled_crossbar_energy():
    build, shape, config = CASES["cnn-w6-3bit-cells"]
    design, net, x = chain_cases._compiled_and_fake(build, shape, _with_overrides(config), 1)
    report = crossbar_energy(net, x[:4])
    compiled = _compiled_layers(design)
    names = [f"layer{s.index}" for s in net.steps if isinstance(s, MatrixStep)]
    like = sum(compiled[n]["energy_j"][c] for n in names for c in TILE_COMPONENTS)
    training = sum(c.energy[k] for _, _, c, _ in _training_costs(net, x[:4], F0) for k in TILE_COMPONENTS)
    assert training == pytest.approx(like, rel=1e-9)
    assert report["energy_j_assumed_fraction"] == pytest.approx(
        sum(c.total_energy for _, _, c, _ in _training_costs(net, x[:4], F0)), rel=1e-12)
    assert report["level_sums"] == [sum(v) for v in _compiled_level_sums(design).values()]
    assert report["energy_j_mean_level"] > report["energy_j"]  # mean level 0.9 overstates these weights


def test_zero_weights_read_at_g_min_only():
    config = CompileConfig(weight_bits=4, activation_bits=4, rows=32, cols=16, adc_bits=4)
    rows, cols, vectors, f = 70, 40, 3, 0.6
    table = config.parameters()
    cell = cost_model.cell_costs(table, cost_model.default_cell_type(config.cell_bits), config.cell_bits)
    slices = 2  # ceil((4 - 1) / 2)
    # every driven row reads its 2 * slices * cols cells at G_min for one read time, per input bit
    reads = vectors * config.activation_bits * f * rows * 2 * slices * cols
    by_hand = reads * table.value("read.v_read") ** 2 * cell.conductance_min * table.value("crossbar.read_time")
    tiles = (-(-rows // 32)) * (-(-cols // 16))
    zero = layer_cost(rows, cols, vectors, config, f, level_sums=[0] * tiles)
    assert zero.energy["cell_read"] == pytest.approx(by_hand, rel=1e-12)
    assert layer_level_sums(np.zeros((cols, rows), dtype=np.int64), 1, config) == [0] * tiles


def _toy_network(seed: int):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(40, 20))
    config = CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16, adc_bits=4)
    x = np.clip(np.random.default_rng(seed).standard_normal((32, 40)), -1.5, 1.5).astype(np.float32)
    net = FakeQuantNetwork(model, config)
    net.calibrate(x)
    return net, x


def test_level_term_gradient_lowers_the_level_sum():
    net, x = _toy_network(0)
    net(torch.from_numpy(x))
    before = sum(network_level_sums(net)[0])
    energy, bound = energy_regulariser(net)
    energy.backward()
    grad = net.model[0].weight.grad
    assert grad.abs().sum() > 0
    # the term pushes weights towards zero relative to their channel's largest one
    w = net.model[0].weight.detach()
    top = w.abs().argmax(dim=1)
    others = torch.ones_like(w, dtype=torch.bool)
    others[torch.arange(len(w)), top] = False
    nonzero = others & (w != 0)
    assert torch.all(torch.sign(grad[nonzero]) == torch.sign(w[nonzero]))
    # ... and the largest one up: codes are relative to it (per-channel scale)
    rows = torch.arange(len(w))
    assert torch.all(torch.sign(grad[rows, top]) == -torch.sign(w[rows, top]))
    optimiser = torch.optim.Adam(net.model.parameters(), lr=1e-2)
    for _ in range(5):
        optimiser.zero_grad()
        net(torch.from_numpy(x))
        energy, bound = energy_regulariser(net)
        (energy / bound).backward()
        optimiser.step()
    net(torch.from_numpy(x))
    after = sum(network_level_sums(net)[0])
    assert after < 0.9 * before, (before, after)


def test_regulariser_value_is_the_level_exact_energy_slope():
    net, x = _toy_network(1)
    net(torch.from_numpy(x))
    energy, bound = energy_regulariser(net)
    (x_in, grid, step), = net.matrix_inputs
    k, n, vectors = step.crossbar_shape(tuple(x_in.shape))
    levels = network_level_sums(net)[0]
    slope = layer_energy(k, n, vectors, net.config, 1.0, 1, levels) - layer_energy(k, n, vectors, net.config, 0.0,
                                                                                     1, levels)
    code_fraction = float(torch.mean(x_in / grid.scale + grid.zero_point)) / 15
    assert float(energy.detach()) == pytest.approx(slope * code_fraction, rel=1e-5)  # float32
    # every weight at code 7, on 2-bit cells the levels 3 + 1
    full = [4 * (r.stop - r.start) * (c.stop - c.start) for r, c in tile_grid(k, n, 16, 16)]
    assert bound == pytest.approx(layer_energy(k, n, vectors, net.config, 1.0, 1, full)
                                  - layer_energy(k, n, vectors, net.config, 0.0, 1, full), rel=1e-12)
    assert 0 < float(energy.detach()) < bound


def test_compiled_conv_requant_counts_every_pixel():
    """Found by this file: estimate-energy priced a conv's requant and merge adds for one
    output pixel (the '?' rows of [?, N] taken as 1 item); now traced to the im2col."""
    build, shape, config = CASES["cnn-w6-3bit-cells"]
    design, net, x = chain_cases._compiled_and_fake(build, shape, _with_overrides(config), 0)
    compiled = _compiled_layers(design)
    step, _, cost, _ = _training_costs(net, x[:4], F0)[0]
    assert step.is_conv and step.crossbar_shape((1,) + shape)[2] == 256  # 16 x 16 output pixels
    assert compiled["layer0"]["energy_j"]["digital"] == pytest.approx(cost.energy["digital"], rel=1e-9)
