"""``OUT/spice/``: ngspice decks of the design's crossbar tiles, a script that
runs them, the nodal solver's currents for the same decks, and the IR-drop
analysis.

    tile_<id>.cir                 .tran: the tile's bit-serial read of one input
                                  vector (one period per input bit, LSB first)
    tile_<id>_corner_<c>.cir      .op at corners tt/ff/ss of the input bit with
                                  the most active rows (the largest IR drop),
                                  smallest selected tile only
    tile_<id>_mc_<seed>.cir       .op with seeded device-to-device variation,
                                  smallest selected tile only
    expected.json                 nodal solver's column currents for every deck
    analysis.json                 IR-drop error per tile, accuracy loss (analysis.py)
    run_all.sh                    runs every deck with ngspice in batch mode
    README.txt                    which tiles, which input, how to run

The input vector is the first of the bundle's reference inputs, as the tile
receives it in the integer run.  Decks are large (a 64x48 tile of 2-bit cells
and 8-bit weights is ~7 MB), so by default a bounded set of tiles is written
(``select_tiles``); ``--spice-tiles all`` writes every tile.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import Q
from spintron_nn.backends.spice.analysis import default_analysis
from spintron_nn.backends.spice.circuit import build_tile_circuit
from spintron_nn.backends.spice.netlist import op_deck, sample_times, tran_deck
from spintron_nn.backends.spice.nodal import NodalSolver
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.backends.spice.runner import design_params
from spintron_nn.devices.corners import Corner
from spintron_nn.errors import SpintronError
from spintron_nn.ir.spin import CrossbarTileOp, get_int

FOLDER = "spice"
CORNERS = ("tt", "ff", "ss")
MONTE_CARLO_SEEDS = (1, 2)
# Default selection: every tile while the decks stay this small in cells
# (~300 bytes of deck per cell), else the first tile of each layer within
# the same budget (at least one tile).  Corner and Monte Carlo decks are
# written for the smallest selected tile only (small decks, quick ngspice runs).
DEFAULT_CELL_BUDGET = 30_000
TILE_SELECTION_HELP = ("all | first (first tile of each layer) | comma-separated tile ids "
                       f"(default: all tiles up to {DEFAULT_CELL_BUDGET} cells, else the first of each layer)")


def check_tile_selection(text: str | None) -> None:
    """A SpintronError unless ``text`` is None, ``all``, ``first`` or tile ids."""
    if text is None or text in ("all", "first") or re.fullmatch(r"\d+(,\d+)*", text):
        return
    raise SpintronError(f"--spice-tiles must be all, first or comma-separated tile ids, got {text!r}")


def _cells(op: CrossbarTileOp) -> int:
    return 2 * op.levels_pos.array.size  # differential pair


def _first_of_each_layer(tiles: list[CrossbarTileOp]) -> list[CrossbarTileOp]:
    seen: dict[str, CrossbarTileOp] = {}
    for op in tiles:
        seen.setdefault(op.layer.data, op)
    return list(seen.values())


def _within_budget(tiles: list[CrossbarTileOp], budget: int) -> list[CrossbarTileOp]:
    chosen, cells = [], 0
    for op in tiles:
        if chosen and cells + _cells(op) > budget:
            break
        chosen.append(op)
        cells += _cells(op)
    return chosen


def select_tiles(tiles: list[CrossbarTileOp], selection: str | None) -> tuple[list[CrossbarTileOp], str]:
    """The tiles to write decks for, and a sentence saying which and why."""
    check_tile_selection(selection)
    if selection == "all":
        return tiles, f"all {len(tiles)} tiles (--spice-tiles all)"
    if selection == "first":
        chosen = _first_of_each_layer(tiles)
        return chosen, f"the first tile of each of the {len(chosen)} crossbar layers (--spice-tiles first)"
    if selection is not None:
        by_id = {get_int(op, "tile_id"): op for op in tiles}
        wanted = [int(t) for t in selection.split(",")]
        missing = [t for t in wanted if t not in by_id]
        if missing:
            raise SpintronError(f"--spice-tiles: no tile {missing[0]} (the design has tile ids "
                                f"{min(by_id)}..{max(by_id)})" if by_id else "the design has no crossbar tiles")
        return [by_id[t] for t in dict.fromkeys(wanted)], f"tiles {selection} (--spice-tiles)"
    if sum(_cells(op) for op in tiles) <= DEFAULT_CELL_BUDGET:
        return tiles, f"all {len(tiles)} tiles"
    chosen = _within_budget(_first_of_each_layer(tiles), DEFAULT_CELL_BUDGET)
    return chosen, (f"{len(chosen)} of {len(tiles)} tiles: the first tile of each layer while the decks "
                    f"stay under {DEFAULT_CELL_BUDGET} cells (all tiles: --spice-tiles all)")


def tile_input_codes(module, inputs: list[np.ndarray]) -> dict[int, np.ndarray]:
    """The input codes [B, rows] each tile receives in the integer run."""
    seen: dict[int, np.ndarray] = {}

    def exact_currents(op: CrossbarTileOp, codes: np.ndarray) -> np.ndarray:
        tile_id = get_int(op, "tile_id")   # called once per chunk of a large batch
        seen[tile_id] = np.concatenate([seen[tile_id], codes]) if tile_id in seen else np.asarray(codes)
        currents = reference.column_currents(codes, op.levels_pos.array, op.levels_neg.array,
                                             input_bits=get_int(op, "input_bits"))
        return currents << Q

    run_spin(module, inputs, tile_currents=exact_currents)
    return seen


def _busiest_row(codes: np.ndarray) -> np.ndarray:
    """The row of ``codes`` [N, R] with the most set bits (N > 1 for convolutions)."""
    planes = reference._input_bit_planes(codes.astype(np.int64), reference.MAX_INPUT_BITS)
    return codes[int(np.argmax(planes.sum(axis=(1, 2))))]


def _representative_codes(design: Any) -> tuple[dict[int, np.ndarray], str]:
    module = design.spin_module
    if design.reference_inputs is not None:
        first = [a[:1] for a in design.reference_inputs]
        return {t: _busiest_row(c) for t, c in tile_input_codes(module, first).items()}, \
            ("the first of the bundle's reference inputs, as each tile receives it in the integer run "
             "(convolutions: its im2col row with the most set input bits)")
    tiles = [op for op in module.walk() if isinstance(op, CrossbarTileOp)]
    return {get_int(op, "tile_id"): np.full(get_int(op, "rows"), 2 ** get_int(op, "input_bits") - 1)
            for op in tiles}, "every row at full scale (the bundle has no reference inputs)"


def _sense_names(circuit) -> list[str]:
    names = circuit.node_names()
    return [f"i(vsense_{names[node]})" for node in circuit.sense_nodes.ravel()]


def _expected(circuit, bits: np.ndarray) -> dict:
    """The nodal solver's sense-source currents (A) for the vectors ``bits``
    [K, R], by the names ngspice saves (same sign convention)."""
    currents = NodalSolver(circuit).column_currents(bits).reshape(len(bits), -1)
    return {name: currents[:, k].tolist() for k, name in enumerate(_sense_names(circuit))}


def write_tile(folder: Path, op: CrossbarTileOp, codes: np.ndarray, params: CrossbarParams,
               variants: list[tuple[str, CrossbarParams]]) -> dict:
    """The decks of one tile (``params`` for the .tran deck, ``variants`` for
    the .op decks); returns their expected currents by deck name."""
    levels_pos, levels_neg = op.levels_pos.array, op.levels_neg.array
    tile_id, input_bits = get_int(op, "tile_id"), get_int(op, "input_bits")
    bits = reference._input_bit_planes(codes.reshape(1, -1).astype(np.int64), input_bits)[0]  # [nb, R]
    circuit = build_tile_circuit(levels_pos, levels_neg, params)
    stem = f"tile_{tile_id}"
    title = f"layer {op.layer.data}, tile {tile_id}, input bits 0..{input_bits - 1} (LSB first)"
    (folder / f"{stem}.cir").write_text(tran_deck(circuit, bits, title=title))
    expected = {stem: {"analysis": "tran", "times": sample_times(input_bits).tolist(),
                       "currents": _expected(circuit, bits)}}
    densest = bits[int(np.argmax(bits.sum(axis=1)))][None, :]
    for name, variant in variants:
        variant_circuit = build_tile_circuit(levels_pos, levels_neg, variant)
        (folder / f"{stem}_{name}.cir").write_text(
            op_deck(variant_circuit, densest[0], f"layer {op.layer.data}, tile {tile_id}, {name}"))
        expected[f"{stem}_{name}"] = {"analysis": "op", "currents": _expected(variant_circuit, densest)}
    return expected


def deck_variants(params: CrossbarParams, parameters=None) -> list[tuple[str, CrossbarParams]]:
    """(name, parameters) of the corner and Monte Carlo decks: corners with
    nominal devices, Monte Carlo at ``params``' corner with seeded variation."""
    corners = [(f"corner_{name}", replace(params, corner=Corner.named(name, parameters), variation_seed=None))
               for name in CORNERS]
    return corners + [(f"mc_{seed}", replace(params, variation_seed=seed)) for seed in MONTE_CARLO_SEEDS]


RUN_ALL = """#!/bin/sh
# Runs every deck of this folder with ngspice in batch mode: <deck>.raw
# (binary raw file) and <deck>.log; exits 1 on the first deck that fails or
# whose output mentions a warning or an error (such a deck is no oracle).
# expected.json holds the nodal solver's currents for the same decks.
cd "$(dirname "$0")" || exit 2
command -v ngspice >/dev/null || { echo "ngspice is not installed" >&2; exit 2; }
for deck in *.cir; do
    stem="${deck%.cir}"
    if ! ngspice -b -r "$stem.raw" "$deck" >"$stem.log" 2>&1 || grep -qi -e warning -e error "$stem.log"; then
        echo "FAIL $deck (see $stem.log)" >&2
        exit 1
    fi
    echo "ok   $deck"
done
"""


def _readme(selection_note: str, input_note: str, params: CrossbarParams, written: list[str]) -> str:
    return "\n".join([
        "SPICE decks of this design's crossbar tiles (docs/spice.md).",
        "",
        f"tiles: {selection_note}",
        f"input: {input_note}",
        f"devices: {params.cell.kind} cells with {params.cell.n_levels} levels, v_read {params.v_read:g} V, "
        f"{params.r_wordline:g} ohm per word-line segment, {params.r_bitline:g} ohm per bit-line segment, "
        f"access transistor {'on' if params.access_device else 'off'}, corner {params.corner.name}",
        f"corner decks ({', '.join(CORNERS)}) and Monte Carlo decks (seeds "
        f"{', '.join(map(str, MONTE_CARLO_SEEDS))}) of the smallest tile above",
        "",
        "run:  sh run_all.sh        (ngspice -b per deck; any warning or error fails)",
        "expected.json: the nodal solver's sense-source currents (A) per deck,",
        "  for .tran decks at the mid-period sample times.",
        "",
        "decks:",
        *(f"  {name}" for name in written),
        "",
    ])


def write_target(design: Any, folder: Path) -> None:
    """The ``spice`` target of ``spintronc compile``."""
    module = design.spin_module
    if module is None:
        raise SpintronError("the spice target needs a crossbar design (add sim to --targets)")
    tiles = [op for op in module.walk() if isinstance(op, CrossbarTileOp)]
    chosen, selection_note = select_tiles(tiles, getattr(design.config, "spice_tiles", None))
    codes, input_note = _representative_codes(design)
    params = design_params(design)
    variants = deck_variants(params, design.config.parameters())
    out = Path(folder) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    expected: dict = {}
    smallest = min(chosen, key=_cells)
    for op in chosen:
        expected.update(write_tile(out, op, codes[get_int(op, "tile_id")], params,
                                   variants if op is smallest else []))
    (out / "expected.json").write_text(json.dumps(expected, sort_keys=True) + "\n")
    run_all = out / "run_all.sh"
    run_all.write_text(RUN_ALL)
    run_all.chmod(0o755)
    (out / "README.txt").write_text(_readme(selection_note, input_note, params,
                                            sorted(f"{name}.cir" for name in expected)))
    analysis = default_analysis(design)
    if analysis is not None:
        from spintron_nn.backends.spice.analysis import one_line

        (out / "analysis.json").write_text(json.dumps(analysis, indent=2) + "\n")
        design.summary["spice analysis"] = one_line(analysis)
