"""SPICE backend benchmark.

1. Speed: the nodal solver vs ngspice on the same 64x64 tile (wires, access
   transistors, bias-dependent MTJs, one input vector), both from the same
   ``TileCircuit``; ngspice's time includes writing the deck and its process.
2. IR drop: a sweep of square crossbar sizes, relative column-current error
   of the wired array vs the same array with ideal (zero-resistance) wires,
   and the same error in ADC level units (LSB) of the differential pair.

    python benchmarks/bench_spice.py                 # print both
    python benchmarks/bench_spice.py --write-docs    # also update docs/spice.md
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from spintron_nn.backends.spice.circuit import build_tile_circuit
from spintron_nn.backends.spice.netlist import op_deck
from spintron_nn.backends.spice.ngspice import run_ngspice
from spintron_nn.backends.spice.nodal import NodalSolver
from spintron_nn.backends.spice.params import CrossbarParams

DOC = Path(__file__).resolve().parent.parent / "docs" / "spice.md"
BEGIN, END = "<!-- bench_spice:begin -->", "<!-- bench_spice:end -->"


def random_tile(seed: int, rows: int, cols: int, n_levels: int):
    rng = np.random.default_rng(seed)
    shape = (1, rows, cols)
    return (rng.integers(0, n_levels, shape).astype(np.uint8),
            rng.integers(0, n_levels, shape).astype(np.uint8), rng)


def best_time(function, repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def speed(size: int = 64, repeat: int = 3) -> list[str]:
    levels_pos, levels_neg, rng = random_tile(0, size, size, 2)
    x_bits = rng.integers(0, 2, (1, size))
    x_bits[0, 0] = 1
    params = CrossbarParams.default("mtj")
    circuit = build_tile_circuit(levels_pos, levels_neg, params)

    def nodal():
        return NodalSolver(build_tile_circuit(levels_pos, levels_neg, params)).column_currents(x_bits)

    def ngspice():
        vectors = run_ngspice(op_deck(circuit, x_bits[0]))
        names = circuit.node_names()
        return np.array([vectors[f"i(vsense_{names[n]})"][0] for n in circuit.sense_nodes.ravel()])

    nodal_time, nodal_currents = best_time(nodal, repeat)
    spice_time, spice_currents = best_time(ngspice, max(1, repeat - 1))
    error = np.max(np.abs(nodal_currents.ravel() - spice_currents) / np.abs(spice_currents))
    batch = rng.integers(0, 2, (64, size))
    batch_time, _ = best_time(lambda: NodalSolver(circuit).column_currents(batch), repeat)
    return [
        f"{size}x{size} tile ({2 * size} physical columns), mtj cells, "
        f"{params.r_wordline:.3g} ohm per wire segment, one input vector:",
        f"  ngspice (deck + batch run): {spice_time:.3f} s",
        f"  nodal solver (build + solve): {nodal_time * 1e3:.1f} ms",
        f"  speed-up: {spice_time / nodal_time:.0f}x; max relative column-current difference {error:.1e}",
        f"  nodal, 64 vectors in one batch: {batch_time * 1e3 / 64:.2f} ms per vector",
    ]


def ir_drop_sweep(sizes, cell: str = "mtj", batch: int = 16, wire_resistance: float | None = None):
    """Markdown table rows: size, wire R, relative error (max, mean), LSB error (max), solve time."""
    wired = CrossbarParams.default(cell, wire_resistance=wire_resistance)
    ideal_wires = replace(wired, r_wordline=0.0, r_bitline=0.0)
    rows = ["| size | ohm/segment | max rel. error | mean rel. error | max error (LSB) | "
            "mean error (LSB) | nodal time (s) |",
            "|---|---|---|---|---|---|---|"]
    for size in sizes:
        levels_pos, levels_neg, rng = random_tile(size, size, size, wired.cell.n_levels)
        x_bits = rng.integers(0, 2, (batch, size))
        start = time.perf_counter()
        with_wires = NodalSolver(build_tile_circuit(levels_pos, levels_neg, wired)).column_currents(x_bits)
        seconds = time.perf_counter() - start
        no_wires = NodalSolver(build_tile_circuit(levels_pos, levels_neg, ideal_wires)).column_currents(x_bits)
        active = no_wires != 0
        relative = np.abs(with_wires - no_wires)[active] / np.abs(no_wires[active])
        lsb = wired.v_read * wired.level_step
        differential = lambda i: (i[..., 0::2] - i[..., 1::2]) / lsb
        lsb_error = np.abs(differential(with_wires) - differential(no_wires))
        rows.append(f"| {size}x{size} | {wired.r_wordline:.3g} | {relative.max():.2e} | {relative.mean():.2e} | "
                    f"{lsb_error.max():.3f} | {lsb_error.mean():.3f} | {seconds:.2f} |")
    return rows


def write_docs(text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace what lies between the markers ``begin`` and ``end`` of docs/spice.md."""
    doc = DOC.read_text()
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,32,64,128,256", help="square crossbar sizes of the IR-drop sweep")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true", help=f"update the table in {DOC}")
    args = parser.parse_args(argv)
    speed_lines = speed(repeat=args.repeat)
    print("\n".join(speed_lines))
    sizes = [int(s) for s in args.sizes.split(",")]
    sections = []
    for wire in (None, 5.0):
        label = "table wire geometry" if wire is None else f"{wire:g} ohm per segment"
        table = ir_drop_sweep(sizes, wire_resistance=wire)
        sections.append(f"IR drop, binary MTJ cells, {label}, 16 random input vectors:\n\n" + "\n".join(table))
        print("\n" + sections[-1])
    if args.write_docs:
        write_docs("Measured by `python benchmarks/bench_spice.py --write-docs`:\n\n```\n"
                   + "\n".join(speed_lines) + "\n```\n\n" + "\n\n".join(sections))


if __name__ == "__main__":
    main()
