"""Energy-aware training: a differentiable regulariser from the energy model.

Inputs reach a crossbar bit-serially (semantics section 4): a row is driven,
and its cells conduct, only in the read cycles where its input bit is 1.  A
conducting cell dissipates ``V^2 * G * t``, and its conductance ``G`` is set by
its programmed level (``G_min + level * dG``, semantics section 3: weight codes
split into ``cell_bits``-bit slices on a differential pair).  So the part of a
matrix layer's energy that training can change is

    E_layer(f, L) = E_layer(0) + f * (dE_0 + c * L)

with ``f`` the fraction of input bits that are 1 and ``L`` the sum of the
layer's cell levels (``energy/cost_model.count_tile_events``: cell reads and
row drivers scale with ``f``; ADC conversions, shift-add and buffers do not;
only the cell reads depend on the levels, with the same ``c`` for every tile
of a layer since all of them read their cells ``vectors * input_bits * f``
times).

Pricing (:func:`layer_cost`, one code path for the regulariser and the
reported numbers): ``cost_model.estimate_layer`` for the layer's real tiling
(a grouped conv: its block-diagonal matrix, only the tiles ``tile-crossbars``
maps), with the cell reads of every mapped tile priced at its *actual*
levels the way ``estimate-energy`` prices a compiled ``spin.crossbar_tile``:
``cost_model.estimate_layer(..., level_sums=...)``, the tile's levels from
the compiler's own ``reference.slice_weights`` of the layer's integer
weights (:func:`layer_level_sums`).  Without levels, every cell sits at the
table's ``crossbar.mean_level_fraction`` (``estimate_layer``'s assumption).

The regulariser, per layer ``f_s * (E(1, L) - E(0))`` (straight-through
twice, as training/ste.py does: exact value forward, surrogate gradient):

* ``f_s``: the popcount of a code is not differentiable; ``q / (2**bits - 1)``
  (the code as a fraction of full scale) is its surrogate: both are 0 for a
  zero code and 1 for full scale, and pushing codes towards zero (activation
  sparsity, the ReLU floor) lowers both.  The exact one-bit fraction is
  measured separately (:func:`measured_one_fractions`).  With signed inputs
  (semantics section 4a) ``q`` is the code the tiles read, ``(x - zp) mod
  2**bits'`` on ``bits'`` bits (:func:`read_code_bits`): the same surrogate,
  exact at 0 and at the all-ones code of ``x - zp = -1``; the wrap below ``zp``
  is a constant, so the gradient is still 1 per code.
* ``L``: its value is the exact level sum of the integer weights; its
  gradient comes from ``sum |w| / w_scale * L(q_max) / q_max`` (see
  :func:`_level_sum_surrogate`).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import torch

from spintron_nn.backends.sim.reference import reads_signed, signed_input_bits, slice_weights, tile_input_codes
from spintron_nn.energy.cost_model import one_bit_fraction
from spintron_nn.config import CompileConfig
from spintron_nn.training.crossbar_matrix import block_diagonal, mapped_blocks
from spintron_nn.training.ste import codes_of, with_exact_value
from spintron_nn.tiling import diagonal_block_cells


@lru_cache(maxsize=None)
def _model_units(config: CompileConfig):
    """The config's parameter table (its --mtj-config and overrides), unit costs and cell costs."""
    from spintron_nn.energy import cost_model

    table = config.parameters()
    cell = cost_model.cell_costs(table, cost_model.default_cell_type(config.cell_bits), config.cell_bits)
    return table, cost_model.unit_costs(table), cell


# ------------------------------------------------------------------ levels


def level_sum(levels_pos: np.ndarray, levels_neg: np.ndarray) -> int:
    """Sum of the programmed levels of a tile's cells, both signs, all slices
    (what sets its summed conductance in ``estimate-energy``)."""
    return int(levels_pos.sum(dtype=np.int64) + levels_neg.sum(dtype=np.int64))


def layer_level_sums(w_int: np.ndarray, groups: int, config: CompileConfig) -> list[int]:
    """Level sum of every mapped tile of the layer with weights ``w_int [out, ...]``, in
    ``tile-crossbars`` order (its matrix, tiling and slicing); ``config`` as the layer sees it
    (``MatrixStep.layer_config``: its own weight width)."""
    matrix = block_diagonal(np.asarray(w_int, dtype=np.int64), groups)
    levels_pos, levels_neg = slice_weights(matrix, config.weight_bits, config.cell_bits)
    return [level_sum(levels_pos[:, rows, cols], levels_neg[:, rows, cols])
            for rows, cols in mapped_blocks(matrix.shape, groups, config)]


def _full_scale_level_sum(config: CompileConfig) -> int:
    """Level sum of one weight at the top code ``2**(weight_bits-1) - 1``."""
    top = 2 ** (config.weight_bits - 1) - 1
    return level_sum(*slice_weights(np.array([top]), config.weight_bits, config.cell_bits))


def _full_scale_level_sums(rows: int, cols: int, groups: int, config: CompileConfig) -> list[int]:
    """Per mapped tile: every weight of the layer at the top code (the largest level sums)."""

    top = _full_scale_level_sum(config)
    return [top * diagonal_block_cells(r, c, (rows, cols), groups)
            for r, c in mapped_blocks((rows, cols), groups, config)]


# ------------------------------------------------------------------- costs


def read_code_bits(config: CompileConfig, grid) -> int:
    """Bits of the codes a matrix layer with input grid ``grid`` reads, one read cycle each: the
    input codes' (``Grid.code_bits``), or with signed inputs and a zero point other than 0 those
    of ``x - zp`` (semantics section 4a)."""
    bits = grid.code_bits(config)
    if reads_signed(config.signed_inputs, grid.zero_point):
        return signed_input_bits(grid.zero_point, bits)
    return bits


def layer_cost(rows: int, cols: int, vectors: int, config: CompileConfig, one_fraction: float, groups: int = 1,
               level_sums: list[int] | None = None, input_bits: int | None = None):
    """``cost_model.Cost`` of one matrix layer per inference at input one-bit fraction ``one_fraction``
    (``groups`` > 1: a grouped conv's ``rows x cols`` block-diagonal matrix): tiles, shift-add of
    the row tiles, requant.  ``level_sums`` (one per mapped tile, :func:`layer_level_sums`): the
    cell reads at those levels; None: at the table's mean level.  ``config`` as the layer sees
    it (``MatrixStep.layer_config``: its own weight width).  ``input_bits``: the read cycles
    per vector (:func:`read_code_bits`); None: the activation width."""
    from spintron_nn.energy import cost_model

    _, units, cell = _model_units(config)
    units = dataclasses.replace(units, input_one_fraction=float(one_fraction))
    return cost_model.estimate_layer(
        rows, cols, units=units, cell=cell, vectors=vectors, weight_bits=config.weight_bits,
        input_bits=config.activation_bits if input_bits is None else input_bits,
        cell_bits=config.cell_bits, adc_bits=config.adc_bits,
        array_rows=config.rows, array_cols=config.cols, groups=groups, grouped_tiling=config.grouped_tiling,
        level_sums=level_sums)


def layer_energy(rows: int, cols: int, vectors: int, config: CompileConfig, one_fraction: float,
                 groups: int = 1, level_sums: list[int] | None = None, input_bits: int | None = None) -> float:
    """Total of :func:`layer_cost` (J)."""
    return layer_cost(rows, cols, vectors, config, one_fraction, groups, level_sums, input_bits).total_energy


# ------------------------------------------------------------ the network


def _layers(net) -> list[tuple[torch.Tensor, object, object, tuple[int, int, int, int]]]:
    """``(input, grid, step, (rows, cols, vectors, groups))`` of every matrix layer in ``net``'s last forward."""
    if not net.matrix_inputs:
        raise RuntimeError("run the network forward before asking for its energy")
    return [(x, grid, step, step.crossbar_shape(tuple(x.shape)) + (step.groups,))
            for x, grid, step in net.matrix_inputs]


def _energy(shape: tuple[int, int, int, int], config: CompileConfig, one_fraction: float,
            level_sums: list[int] | None, input_bits: int) -> float:
    rows, cols, vectors, groups = shape
    return layer_energy(rows, cols, vectors, config, one_fraction, groups, level_sums, input_bits)


def _level_sum_surrogate(step, w_scale: np.ndarray, config: CompileConfig) -> torch.Tensor:
    """A differentiable stand-in for the layer's level sum, in terms of its float weights.

    A code's level sum is the digit sum of ``|q|`` in base ``2**cell_bits``: a
    staircase (W4, 2-bit cells: 0 1 2 3 1 2 3 4 for |q| = 0..7) with no useful
    gradient and not even monotone.  Its surrogate is the straight line
    ``|q| * L(q_max) / q_max`` through both ends, as the activations' ``q / q_max``
    is for the popcount: exact for a zero code (the cheapest, G_min only) and for
    full scale, equal on average for uniformly spread codes, and lowered by
    moving codes towards zero.  ``|q| = |w| / w_scale`` with the per-channel
    scale's value and the gradient of ``max |w| / q_max`` (the compiler's rule):
    codes are relative to their channel's largest weight, so shrinking a whole
    channel saves nothing, and the gradient says so."""
    top_code = 2 ** (config.weight_bits - 1) - 1
    magnitudes = step.weight().abs().flatten(1)
    channel_max = magnitudes.max(dim=1).values
    ratio = torch.where(channel_max > 0, channel_max / channel_max.detach().clamp_min(1e-30),
                        torch.ones_like(channel_max))
    scale = torch.as_tensor(w_scale, dtype=magnitudes.dtype, device=magnitudes.device) * ratio
    codes = magnitudes / scale.clamp_min(1e-30)[:, None]
    return codes.sum() * (_full_scale_level_sum(config) / top_code)


def _soft_read_codes(x: torch.Tensor, grid, config: CompileConfig) -> torch.Tensor:
    """The codes the tiles read, as a differentiable function of the layer input ``x``."""
    soft = x / grid.scale + grid.zero_point
    if not reads_signed(config.signed_inputs, grid.zero_point):
        return soft
    # two's complement: x - zp, and codes below zp wrap to the top of the range
    wrapped = (torch.round(soft) < grid.zero_point).to(soft.dtype).detach()
    return soft - grid.zero_point + wrapped * 2 ** read_code_bits(config, grid)


def energy_regulariser(net) -> tuple[torch.Tensor, float]:
    """``(sum_l f_l * (E_l(1, L_l) - E_l(0)), sum_l (E_l(1, L_max) - E_l(0)))`` in joules, for the
    last forward of ``net``: ``f_l`` the input one-bit fraction (surrogate: the code fraction),
    ``L_l`` the exact level sums (surrogate: :func:`_level_sum_surrogate`).

    The second number is the largest value the first can take (every input bit 1, every
    weight at full scale); the trainer divides by it so that the weight of the term does not
    depend on units."""
    total, bound = 0.0, 0.0
    for x, grid, step, shape in _layers(net):
        rows, cols, _, groups = shape
        config = step.layer_config(net.config)
        bits = read_code_bits(config, grid)
        w_int, w_scale = step.integer_weights(config, grid.scale, grid.code_bits(config))
        levels = layer_level_sums(w_int, groups, config)
        full = _full_scale_level_sums(rows, cols, groups, config)
        off = _energy(shape, config, 0.0, levels, bits)  # no input bit is 1: no cell conducts
        unprogrammed = _energy(shape, config, 1.0, [0] * len(levels), bits) - off  # every cell at G_min
        level_part = _energy(shape, config, 1.0, levels, bits) - off - unprogrammed
        full_part = _energy(shape, config, 1.0, full, bits) - off - unprogrammed
        # E is linear in L (one c per layer): the gradient's slope is full_part / sum(full)
        surrogate = _level_sum_surrogate(step, w_scale, config) * (full_part / sum(full))
        slope = unprogrammed + with_exact_value(surrogate, np.float64(level_part))
        total = total + slope * torch.mean(_soft_read_codes(x, grid, config)) / (2**bits - 1)
        bound += unprogrammed + full_part
    return total, bound


@torch.no_grad()
def measured_one_fractions(net, x: np.ndarray) -> list[float]:
    """Exact input one-bit fraction of every matrix layer on ``x`` (zero-padding rows included),
    of the codes its tiles read (with signed inputs: the two's-complement codes)."""
    net(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    fractions = []
    for x_in, grid, step in net.matrix_inputs:
        rows = step.rows_of(codes_of(x_in, grid.scale, grid.zero_point), grid.zero_point)
        codes, bits = tile_input_codes(rows, grid.zero_point, grid.code_bits(net.config), net.config.signed_inputs)
        fractions.append(one_bit_fraction(codes, bits))
    return fractions


def network_level_sums(net) -> list[list[int]]:
    """Per matrix layer of ``net``'s last forward, the level sums of its mapped tiles."""
    return [layer_level_sums(step.integer_weights(net.config, grid.scale, grid.code_bits(net.config))[0],
                             step.groups, step.layer_config(net.config))
            for _, grid, step in net.matrix_inputs]


@torch.no_grad()
def crossbar_energy(net, x: np.ndarray) -> dict:
    """Crossbar-layer energy per inference (J) with the measured one-bit fractions and
    the weights' actual cell levels.

    Matrix layers only (tiles, ADCs, shift-add, requant); pools and other
    digital ops are left out.  ``energy_j_assumed_fraction``: the same with the
    parameter table's fixed ``input_one_fraction``, as ``estimate-energy``
    assumes it; ``energy_j_mean_level``: measured fractions, every cell at the
    table's ``mean_level_fraction`` (the figure before levels were priced)."""
    fractions = measured_one_fractions(net, x)
    _, units, _ = _model_units(net.config)
    layers = _layers(net)
    shapes = [shape for *_, shape in layers]
    configs = [step.layer_config(net.config) for *_, step, _ in layers]
    bits = [read_code_bits(c, grid) for c, (_, grid, _, _) in zip(configs, layers)]
    levels = network_level_sums(net)
    measured = [_energy(*args) for args in zip(shapes, configs, fractions, levels, bits)]
    assumed = [_energy(s, c, units.input_one_fraction, l, b) for s, c, l, b in zip(shapes, configs, levels, bits)]
    mean_level = [_energy(s, c, f, None, b) for s, c, f, b in zip(shapes, configs, fractions, bits)]
    return {"one_fractions": fractions, "energy_j": float(sum(measured)),
            "energy_j_assumed_fraction": float(sum(assumed)), "energy_j_mean_level": float(sum(mean_level)),
            "per_layer_j": measured, "level_sums": [int(sum(l)) for l in levels]}
