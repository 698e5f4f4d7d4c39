"""ngspice decks of a tile circuit (``circuit.py``): ``.op`` for one input
vector, ``.tran`` for a sequence of input bit vectors.

Every value is printed with ``%.17g`` so that the deck holds the same doubles
as the nodal solver.  The MTJ is a behavioural current source implementing
``I = V G(V)`` with the TMR roll-off (``devices/mtj.py``); linear cells are
plain resistors.  The tolerances are tightened far below ngspice's defaults
so that its operating point agrees with the nodal solver to ~1e-9.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spintron_nn.backends.spice.circuit import TileCircuit, build_tile_circuit, check_bits
from spintron_nn.devices.corners import Corner

OPTIONS = ".options reltol=1e-11 abstol=1e-18 vntol=1e-14 itl1=500"


def _g(value: float) -> str:
    return "%.17g" % value


def _mtj_expression(node_a: str, node_b: str, fraction, r_parallel, tmr, v_half) -> str:
    v = f"V({node_a},{node_b})"
    return (f"I = {v} * ({_g(fraction)} / {_g(r_parallel)} + {_g(1.0 - fraction)} / "
            f"({_g(r_parallel)} * (1 + {_g(tmr)} / (1 + ({v} / {_g(v_half)})**2))))")


def _linear_cell_resistance(fraction, r_parallel, tmr) -> float:
    return 1.0 / (fraction / r_parallel + (1.0 - fraction) / (r_parallel * (1.0 + tmr)))


def _body(circuit: TileCircuit, names: list[str]) -> list[str]:
    """Wires, cells and sense sources (everything but the row drivers)."""
    lines = [f"* wire segments: {len(circuit.res_ohm)}"]
    for k, (a, b, ohm) in enumerate(zip(circuit.res_from, circuit.res_to, circuit.res_ohm)):
        lines.append(f"rw{k} {names[a]} {names[b]} {_g(ohm)}")
    lines.append(f"* cells: {len(circuit.cell_from)}")
    for k in range(len(circuit.cell_from)):
        a, b = names[circuit.cell_from[k]], names[circuit.cell_to[k]]
        fraction, r_parallel, tmr = circuit.parallel_fraction[k], circuit.r_parallel[k], circuit.tmr[k]
        if circuit.r_access[k] > 0.0:
            lines.append(f"ra{k} {a} m{k} {_g(circuit.r_access[k])}")
            a = f"m{k}"
        if np.isinf(circuit.v_half[k]):
            lines.append(f"rc{k} {a} {b} {_g(_linear_cell_resistance(fraction, r_parallel, tmr))}")
        else:
            lines.append(f"bc{k} {a} {b} {_mtj_expression(a, b, fraction, r_parallel, tmr, circuit.v_half[k])}")
    lines.append("* virtual grounds: one 0 V source per physical column")
    for node in circuit.sense_nodes.ravel():
        lines.append(f"vsense_{names[node]} {names[node]} 0 0")
    return lines


def _save_line(circuit: TileCircuit, names: list[str]) -> str:
    return ".save " + " ".join(f"i(vsense_{names[node]})" for node in circuit.sense_nodes.ravel())


def _header(circuit: TileCircuit, title: str) -> list[str]:
    slices, rows, cols = circuit.shape
    return [f"* {title}",
            f"* spintron-nn tile: {slices} slice(s) x {rows} rows x {cols} physical columns, "
            f"{circuit.temperature:.2f} K",
            OPTIONS,
            # documentation only: every temperature effect is already in the values
            f".temp {circuit.temperature - 273.15:.10g}"]


def op_deck(circuit: TileCircuit, x_bits, title: str = "crossbar tile .op") -> str:
    """Operating point of the tile for one input bit vector [R]."""
    x_bits = check_bits(x_bits, circuit.shape[1])
    if x_bits.shape[0] != 1:
        raise ValueError("op_deck takes one input vector; use tran_deck for a sequence")
    names = circuit.node_names()
    voltages = circuit.driver_voltages(x_bits)[0]
    lines = _header(circuit, title) + ["* row drivers: input bit * v_read"]
    lines += [f"vd_{names[node]} {names[node]} 0 {_g(v)}"
              for node, v in zip(circuit.driver_nodes.ravel(), voltages)]
    lines += _body(circuit, names) + [".op", _save_line(circuit, names), ".end", ""]
    return "\n".join(lines)


def tran_deck(circuit: TileCircuit, x_sequence, period: float = 1e-9,
              title: str = "crossbar tile .tran") -> str:
    """Transient of the tile for input bit vectors [K, R], one per ``period``
    seconds; edges take period/100.  The circuit is resistive, so each flat
    part of the waveform is the operating point of that vector."""
    x_sequence = check_bits(x_sequence, circuit.shape[1])
    names = circuit.node_names()
    steps = x_sequence.shape[0]
    edge = period / 100.0
    voltages = circuit.driver_voltages(x_sequence)        # [K, S*R]
    lines = _header(circuit, title) + ["* row drivers: PWL of input bit * v_read"]
    for column, node in enumerate(circuit.driver_nodes.ravel()):
        points = [f"0 {_g(voltages[0, column])}"]
        for k in range(1, steps):
            points.append(f"{_g(k * period)} {_g(voltages[k - 1, column])}")
            points.append(f"{_g(k * period + edge)} {_g(voltages[k, column])}")
        lines.append(f"vd_{names[node]} {names[node]} 0 pwl({' '.join(points)})")
    lines += _body(circuit, names)
    lines += [f".tran {_g(period / 4)} {_g(steps * period)} 0 {_g(period / 4)}",
              _save_line(circuit, names), ".end", ""]
    return "\n".join(lines)


def sample_times(steps: int, period: float = 1e-9) -> np.ndarray:
    """Mid-period times at which a ``tran_deck`` run holds each vector's operating point."""
    return (np.arange(steps) + 0.5) * period


def tile_decks(levels_pos, levels_neg, x_bits, params, *, corners=("tt", "ff", "ss"),
               monte_carlo_seeds=()) -> dict[str, str]:
    """``.op`` decks of one tile and input vector: one per corner (nominal
    devices) and one per Monte Carlo seed (``params``' corner, per-device
    values drawn from that seed and written into the deck), by file stem."""
    decks = {}
    for name in corners:
        corner_params = replace(params, corner=Corner.named(name), variation_seed=None)
        decks[f"corner_{name}"] = op_deck(build_tile_circuit(levels_pos, levels_neg, corner_params),
                                          x_bits, f"crossbar tile, corner {name}")
    for seed in monte_carlo_seeds:
        mc_params = replace(params, variation_seed=int(seed))
        decks[f"mc_{seed}"] = op_deck(build_tile_circuit(levels_pos, levels_neg, mc_params),
                                      x_bits, f"crossbar tile, Monte Carlo seed {seed}")
    return decks
