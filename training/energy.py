"""Energy-aware training: a differentiable regulariser from the energy model.

Inputs reach a crossbar bit-serially (semantics section 4): a row is driven,
and its cells conduct, only in the read cycles where its input bit is 1.  So
the part of a layer's energy that the network can change by training is

    E_layer(f) = E_layer(0) + f * dE_layer,     f = fraction of input bits that are 1

(``energy/cost_model.count_tile_events``: cell reads and row drivers scale with
``f``; ADC conversions, shift-add and buffers do not).  ``dE_layer`` is taken from
the cost model itself, ``estimate_layer`` at ``f = 1`` minus at ``f = 0``, per
inference, for the layer's real tiling (a grouped conv: its block-diagonal
matrix, only the tiles ``tile-crossbars`` maps).

The popcount of a code is not differentiable; the regulariser uses
``q / (2**bits - 1)`` (the code as a fraction of full scale) as its surrogate
for ``f``: both are 0 for a zero code and 1 for full scale, and pushing codes
towards zero (activation sparsity, the ReLU floor) lowers both.  The exact
one-bit fraction is measured separately (:func:`measured_one_fractions`).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import torch

from spintron_nn.config import CompileConfig
from spintron_nn.training.ste import codes_of


@lru_cache(maxsize=None)
def _model_units(config: CompileConfig):
    """The config's parameter table (its --mtj-config and overrides) and unit costs."""
    from spintron_nn.energy import cost_model

    table = config.parameters()
    return table, cost_model.unit_costs(table)


def layer_energy(rows: int, cols: int, vectors: int, config: CompileConfig, one_fraction: float,
                 groups: int = 1) -> float:
    """Energy (J) of one matrix layer per inference at input one-bit fraction ``one_fraction``
    (``groups`` > 1: a grouped conv's ``rows x cols`` block-diagonal matrix)."""
    from spintron_nn.energy import cost_model

    table, units = _model_units(config)
    cell = cost_model.cell_costs(table, cost_model.default_cell_type(config.cell_bits), config.cell_bits)
    units = dataclasses.replace(units, input_one_fraction=float(one_fraction))
    cost = cost_model.estimate_layer(
        rows, cols, units=units, cell=cell, vectors=vectors, weight_bits=config.weight_bits,
        input_bits=config.activation_bits, cell_bits=config.cell_bits, adc_bits=config.adc_bits,
        array_rows=config.rows, array_cols=config.cols, groups=groups)
    return cost.total_energy


def _layers(net) -> list[tuple[torch.Tensor, object, tuple[int, int, int, int]]]:
    """``(input, grid, (rows, cols, vectors, groups))`` of every matrix layer in ``net``'s last forward."""
    if not net.matrix_inputs:
        raise RuntimeError("run the network forward before asking for its energy")
    return [(x, grid, step.crossbar_shape(tuple(x.shape)) + (step.groups,)) for x, grid, step in net.matrix_inputs]


def _energy(shape: tuple[int, int, int, int], config: CompileConfig, one_fraction: float) -> float:
    rows, cols, vectors, groups = shape
    return layer_energy(rows, cols, vectors, config, one_fraction, groups)


def energy_regulariser(net) -> tuple[torch.Tensor, float]:
    """``(sum_l dE_l * surrogate f_l, sum_l dE_l)`` in joules, for the last forward of ``net``.

    The second number is the largest value the first can take; the trainer
    divides by it so that the weight of the term does not depend on units."""
    bits = net.config.activation_bits
    total, bound = 0.0, 0.0
    for x, grid, shape in _layers(net):
        slope = _energy(shape, net.config, 1.0) - _energy(shape, net.config, 0.0)
        soft_codes = x / grid.scale + grid.zero_point
        total = total + slope * torch.mean(soft_codes) / (2**bits - 1)
        bound += slope
    return total, bound


def popcount_fraction(codes: np.ndarray, bits: int) -> float:
    """Fraction of the ``bits`` input bits of ``codes`` that are 1."""
    codes = np.asarray(codes, dtype=np.int64)
    ones = sum(((codes >> b) & 1).sum() for b in range(bits))
    return float(ones) / max(codes.size * bits, 1)


@torch.no_grad()
def measured_one_fractions(net, x: np.ndarray) -> list[float]:
    """Exact input one-bit fraction of every matrix layer on ``x`` (zero-padding rows included)."""
    net(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    fractions = []
    for x_in, grid, step in net.matrix_inputs:
        rows = step.rows_of(codes_of(x_in, grid.scale, grid.zero_point), grid.zero_point)
        fractions.append(popcount_fraction(rows, net.config.activation_bits))
    return fractions


@torch.no_grad()
def crossbar_energy(net, x: np.ndarray) -> dict:
    """Crossbar-layer energy per inference (J) with the measured one-bit fractions.

    Matrix layers only (tiles, ADCs, shift-add, requant); pools and other
    digital ops are left out.  ``assumed``: the same with the parameter
    table's fixed ``input_one_fraction``, as ``estimate-energy`` assumes it."""
    fractions = measured_one_fractions(net, x)
    _, units = _model_units(net.config)
    shapes = [shape for _, _, shape in _layers(net)]
    measured = [_energy(s, net.config, f) for s, f in zip(shapes, fractions)]
    assumed = [_energy(s, net.config, units.input_one_fraction) for s in shapes]
    return {"one_fractions": fractions, "energy_j": float(sum(measured)),
            "energy_j_assumed_fraction": float(sum(assumed)), "per_layer_j": measured}
