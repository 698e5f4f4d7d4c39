"""``Design.run(x, backend="spice")``: the whole network with every crossbar
tile's column currents taken from the nodal solver (``nodal.py``) instead of
the exact integer sums.

The analog currents go through the simulator's own ADC and shift-add
(``run_spin(..., tile_currents=...)``, docs/semantics.md section 10): each
current is held in Q16 level units, so with ideal devices
(``CrossbarParams.ideal``: no wires, no access transistor, linear cells) the
result equals ``--backend sim`` bit for bit, and with real devices every
difference is the analog circuit's (IR drop, bias roll-off, corner,
variation).

The device parameters come from the design's parameter table (with the
user's ``--mtj-config``): binary cells are STT MTJs, multi-level cells
domain-wall cells with ``2**cell_bits`` levels (``energy.cost_model.
default_cell_type``, the choice the energy estimate makes).
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Callable
from typing import Any

import numpy as np

from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import ONE_Q, stream_key
from spintron_nn.backends.spice.nodal import column_currents_levels
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.energy.cost_model import default_cell_type
from spintron_nn.errors import SpintronError
from spintron_nn.ir.spin import CrossbarTileOp, get_int

# Input bit vectors per nodal solve: larger batches cost more per vector
# (measured: 64 -> 512 vectors on a 64x48 two-bit tile, 13x the time).
SOLVE_CHUNK = 64
# Counter-based stream (noise.stream_key) of the per-tile device-variation
# seed; 1..5 are the integer noise model's streams.
STREAM_DEVICE_VARIATION = 6


def design_params(design: Any, *, corner: str = "tt", ideal: bool = False,
                  wire_resistance: float | None = None) -> CrossbarParams:
    """The circuit parameters of ``design``'s tiles.  ``ideal``: no wires, no
    access transistor, linear cells (the exact integer result);
    ``wire_resistance`` (ohm per segment) overrides the wire geometry."""
    cell_bits = design.config.cell_bits
    kind = default_cell_type(cell_bits)
    n_levels = 2**cell_bits if kind == "dw" else None
    if ideal:
        if wire_resistance not in (None, 0, 0.0) or corner != "tt":
            raise SpintronError("ideal spice devices have no wires and the TT corner")
        return CrossbarParams.ideal(kind, n_levels=n_levels)
    return CrossbarParams.default(kind, n_levels=n_levels, corner=corner, wire_resistance=wire_resistance,
                                  parameters=design.config.parameters())


def level_gain(params: CrossbarParams) -> float:
    """One level of an isolated cell (no wires, no variation, ``params``'
    corner), read at v_read, in nominal level steps ``v_read dG``.

    The ADC's reference is trimmed on such a reference cell, as a real
    macro's is (otherwise the access transistor, ~1.4 kOhm in series with
    2-6 kOhm MTJs, and the roll-off would shrink every level step, to 0.46
    of nominal for the table's 2-bit domain-wall cell): the analog run
    then shows what a trim cannot remove, IR drop, the cells' nonlinearity
    in level and bias, corner shifts and variation.  Two-point: the full-scale
    level against level 0.  Exactly 1 for ideal devices."""
    reference_cell = replace(params, r_wordline=0.0, r_bitline=0.0, variation_seed=None)
    top = params.cell.n_levels - 1
    levels_pos = np.full((1, 1, 1), top, dtype=np.uint8)
    current = column_currents_levels(levels_pos, np.zeros_like(levels_pos), np.ones((1, 1), np.uint8),
                                     reference_cell)
    return float(current[0, 0, 0]) / top


def tile_level_currents(op: CrossbarTileOp, codes: np.ndarray, params: CrossbarParams) -> np.ndarray:
    """Column currents [B, input_bits, S, C] of tile ``op`` for input codes
    [B, rows], in trimmed level units (:func:`level_gain`).  Identical bit
    vectors (frequent: high input bits are often all zero) are solved once."""
    levels_pos, levels_neg = op.levels_pos.array, op.levels_neg.array
    slices, rows, cols = levels_pos.shape
    input_bits = get_int(op, "input_bits")
    planes = reference._input_bit_planes(np.asarray(codes, dtype=np.int64), input_bits)
    vectors, inverse = np.unique(planes.reshape(-1, rows).astype(np.uint8), axis=0, return_inverse=True)
    solved = [column_currents_levels(levels_pos, levels_neg, vectors[start:start + SOLVE_CHUNK], params)
              for start in range(0, len(vectors), SOLVE_CHUNK)]
    currents = np.concatenate(solved) if solved else np.zeros((0, slices, cols))
    currents = currents[inverse.reshape(-1)] / level_gain(params)
    return currents.reshape(planes.shape[0], input_bits, slices, cols)


class AnalogTileCurrents:
    """``run_spin``'s ``tile_currents``: Q16 column currents of a tile from the
    nodal solver (:func:`tile_level_currents`).  ``variation_seed`` gives every tile its own
    seeded device-to-device variation; ``record`` collects
    ``(op, codes, currents_q16)`` of every call for the IR-drop analysis."""

    def __init__(self, params: CrossbarParams, *, variation_seed: int | None = None,
                 record: list | None = None, progress: Callable[[str], None] | None = None):
        self.params = params
        self.variation_seed = variation_seed
        self.record = record
        self.progress = progress  # told about every tile before its (slow) nodal solves

    def tile_params(self, op: CrossbarTileOp) -> CrossbarParams:
        if self.variation_seed is None:
            return self.params
        key = stream_key(self.variation_seed, get_int(op, "tile_id"), STREAM_DEVICE_VARIATION)
        return replace(self.params, variation_seed=int(key))

    def __call__(self, op: CrossbarTileOp, codes: np.ndarray) -> np.ndarray:
        if self.progress:
            self.progress(f"tile {get_int(op, 'tile_id')} ({op.layer.data}): {len(codes)} input vectors")
        currents = tile_level_currents(op, codes, self.tile_params(op))
        q16 = np.rint(currents * ONE_Q).astype(np.int64)
        if self.record is not None:
            self.record.append((op, np.asarray(codes), q16))
        return q16


def run_analog(design: Any, inputs: list[np.ndarray], currents: AnalogTileCurrents) -> list[np.ndarray]:
    return run_spin(design.spin_module, inputs, tile_currents=currents)


def run_design(design: Any, inputs: list[np.ndarray], *, noise: Any = None, seed: int = 0,
               corner: str = "tt", ideal: bool = False, wire_resistance: float | None = None,
               variation: bool = False, progress: Callable[[str], None] | None = None,
               **options: Any) -> list[np.ndarray]:
    """The spice backend as ``Design.run`` calls it.  ``variation``: seeded
    device-to-device variation (``seed``), its own model of what the sim
    backend's ``noise`` approximates in fixed point; ``progress``: told about each tile."""
    if options:
        raise SpintronError(f"the spice backend takes no option(s) {', '.join(options)}")
    if noise is not None and not getattr(noise, "is_off", False):
        raise SpintronError("the spice backend models the devices themselves; noise is a sim-backend option "
                            "(use variation=True for seeded device variation)")
    params = design_params(design, corner=corner, ideal=ideal, wire_resistance=wire_resistance)
    currents = AnalogTileCurrents(params, variation_seed=seed if variation else None, progress=progress)
    return run_analog(design, inputs, currents)
