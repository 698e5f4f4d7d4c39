"""The circuit of one crossbar tile, built once and read by both the ngspice
deck writer (``netlist.py``) and the nodal solver (``nodal.py``), so that both
simulate exactly the same devices and values.

Layout (docs/spice.md has a drawing).  Each slice ``s`` of the tile is its own
array of ``R`` rows and ``P = 2 C`` physical columns; logical column ``c`` is
the differential pair of physical columns ``2c`` (positive levels) and
``2c + 1`` (negative levels).  Row ``r`` is driven at its left end by a
voltage source ``bit_r * v_read``; the word line runs through one wire segment
per cell.  Cell ``(r, j)`` connects word-line node ``w[r, j]`` through the
access transistor (a series resistance) and the MTJ to bit-line node
``b[r, j]``; the bit line runs down one segment per cell to a sense node held
at 0 V by a source whose current is the column current.  A zero wire
resistance merges the wire's nodes (word line -> driver, bit line -> sense).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.errors import SpintronError


@dataclass(frozen=True)
class TileCircuit:
    """Nodes ``0 .. n_unknown-1`` are free: the word-line nodes [S, R, P] if
    the word line is wired, then the bit-line nodes [S, R, P] if the bit line
    is; the nodes after them are fixed: the row drivers (``driver_nodes``,
    [S, R]) then the sense nodes (``sense_nodes``, [S, P]).  Element arrays are flat; a cell's current
    flows from ``cell_from`` (word line) to ``cell_to`` (bit line)."""

    shape: tuple[int, int, int]          # S, R, P
    n_unknown: int
    driver_nodes: np.ndarray
    sense_nodes: np.ndarray
    n_nodes: int
    node_blocks: tuple[tuple[str, tuple[int, ...]], ...]   # (prefix, shape) in node order
    res_from: np.ndarray
    res_to: np.ndarray
    res_ohm: np.ndarray
    cell_from: np.ndarray
    cell_to: np.ndarray
    parallel_fraction: np.ndarray
    r_parallel: np.ndarray
    tmr: np.ndarray
    v_half: np.ndarray                   # inf for linear cells
    r_access: np.ndarray                 # 0 without access device
    v_read: float
    temperature: float
    r_wordline: float                    # ohm per segment, 0 = merged nodes
    r_bitline: float

    def node_names(self) -> list[str]:
        """SPICE node names, ``<prefix>_<index>_<index>...`` in node order."""
        names: list[str] = []
        for prefix, shape in self.node_blocks:
            names.extend(f"{prefix}_" + "_".join(map(str, pos)) for pos in np.ndindex(*shape))
        return names

    def driver_voltages(self, x_bits: np.ndarray) -> np.ndarray:
        """[B, S*R] row-driver voltages for input bits [B, R]."""
        slices = self.shape[0]
        return np.tile(x_bits.astype(np.float64) * self.v_read, (1, slices))


def check_tile(levels_pos: np.ndarray, levels_neg: np.ndarray) -> None:
    if levels_pos.ndim != 3 or levels_pos.shape != levels_neg.shape:
        raise SpintronError(
            f"tile levels must be two [S, R, C] arrays of one shape, got "
            f"{levels_pos.shape} and {levels_neg.shape}"
        )


def check_bits(x_bits: np.ndarray, rows: int) -> np.ndarray:
    """Input bits as a [B, R] array of 0/1."""
    x_bits = np.atleast_2d(np.asarray(x_bits))
    if x_bits.ndim != 2 or x_bits.shape[1] != rows:
        raise SpintronError(f"input bits must be [B, {rows}], got shape {x_bits.shape}")
    if not np.isin(x_bits, (0, 1)).all():
        raise SpintronError("input bits must be 0 or 1 (one bit-serial read cycle)")
    return x_bits


def interleave_pairs(levels_pos: np.ndarray, levels_neg: np.ndarray) -> np.ndarray:
    """[S, R, 2C] physical levels: positive at even, negative at odd columns."""
    slices, rows, cols = levels_pos.shape
    physical = np.empty((slices, rows, 2 * cols), dtype=levels_pos.dtype)
    physical[..., 0::2] = levels_pos
    physical[..., 1::2] = levels_neg
    return physical


def _cell_values(physical_levels: np.ndarray, params: CrossbarParams):
    """Per-device parallel fraction, R_P, TMR, v_half and access resistance."""
    cell, corner = params.cell, params.corner
    shape = physical_levels.shape
    fraction = cell.parallel_fraction(physical_levels)
    r_parallel = np.full(shape, cell.mtj.r_parallel_at(corner.temperature) * corner.r_scale)
    tmr = np.full(shape, cell.mtj.tmr_at(corner.temperature))
    if params.variation is not None:
        r_mult, tmr_mult = params.variation.multipliers(shape)
        r_parallel = r_parallel * r_mult
        tmr = tmr * tmr_mult
    v_half = np.full(shape, cell.mtj.v_half if params.bias_dependent else np.inf)
    r_access = np.full(shape, cell.access.on_resistance(corner.temperature) * corner.r_scale
                       if params.access_device else 0.0)
    return fraction, r_parallel, tmr, v_half, r_access


def build_tile_circuit(levels_pos, levels_neg, params: CrossbarParams) -> TileCircuit:
    """The circuit of tile (levels_pos, levels_neg) [S, R, C] under ``params``."""
    levels_pos, levels_neg = np.asarray(levels_pos), np.asarray(levels_neg)
    check_tile(levels_pos, levels_neg)
    physical = interleave_pairs(levels_pos, levels_neg)
    slices, rows, cols = physical.shape
    grid = (slices, rows, cols)
    blocks: list[tuple[str, tuple[int, ...]]] = []
    count = 0

    def allocate(prefix: str, shape) -> np.ndarray:
        nonlocal count
        index = np.arange(count, count + int(np.prod(shape))).reshape(shape)
        blocks.append((prefix, tuple(shape)))
        count += index.size
        return index

    wired_wordline, wired_bitline = params.r_wordline > 0.0, params.r_bitline > 0.0
    wordline = allocate("w", grid) if wired_wordline else None
    bitline = allocate("b", grid) if wired_bitline else None
    n_unknown = count
    drivers = allocate("d", (slices, rows))
    senses = allocate("c", (slices, cols))
    if wordline is None:
        wordline = np.broadcast_to(drivers[:, :, None], grid)
    if bitline is None:
        bitline = np.broadcast_to(senses[:, None, :], grid)

    res_from, res_to, res_ohm = [], [], []
    if wired_wordline:
        # driver -> first cell, then cell to cell along the row
        left = np.concatenate([drivers[:, :, None], wordline[:, :, :-1]], axis=2)
        res_from.append(left.ravel()), res_to.append(wordline.ravel())
        res_ohm.append(np.full(left.size, params.r_wordline))
    if wired_bitline:
        # cell to cell down the column, last cell -> sense node
        below = np.concatenate([bitline[:, 1:, :], senses[:, None, :]], axis=1)
        res_from.append(bitline.ravel()), res_to.append(below.ravel())
        res_ohm.append(np.full(below.size, params.r_bitline))
    empty = np.zeros(0, dtype=np.int64)
    fraction, r_parallel, tmr, v_half, r_access = _cell_values(physical, params)
    return TileCircuit(
        shape=grid, n_unknown=n_unknown, driver_nodes=drivers, sense_nodes=senses,
        n_nodes=count, node_blocks=tuple(blocks),
        res_from=np.concatenate(res_from) if res_from else empty,
        res_to=np.concatenate(res_to) if res_to else empty,
        res_ohm=np.concatenate(res_ohm) if res_ohm else np.zeros(0),
        cell_from=np.ascontiguousarray(wordline).ravel(), cell_to=np.ascontiguousarray(bitline).ravel(),
        parallel_fraction=fraction.ravel(), r_parallel=r_parallel.ravel(), tmr=tmr.ravel(),
        v_half=v_half.ravel(), r_access=r_access.ravel(), v_read=params.v_read,
        temperature=params.corner.temperature, r_wordline=params.r_wordline, r_bitline=params.r_bitline,
    )
