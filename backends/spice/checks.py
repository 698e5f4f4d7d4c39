"""``spintronc verify`` lines of the spice backend (bundles compiled with the
spice target; none otherwise).

* exact: with ideal devices (no wires, no access transistor, linear cells)
  the analog run must equal the integer run bit for bit: the oracle check of
  the plumbing (nodal solver -> Q16 currents -> the simulator's ADC).
* measured: the analog run with the design's devices against the integer run
  and the float graph, held to the same acceptance bounds as sim vs float
  (``verification.default_bounds``): an analog design that loses more than
  quantization may is reported as failing, with the number.
* oracle: the nodal solver against ngspice on the smallest tile's .tran deck
  (the bundle's representative input), relative error <= 1e-6 per physical
  column current; only when ngspice is installed and the tile has at most
  ``NGSPICE_CHECK_MAX_CELLS`` cells (a 64x64 deck takes ngspice ~20 s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spintron_nn.backends.spice.analysis import analyse_design
from spintron_nn.backends.spice.runner import design_params, run_design
from spintron_nn.ir.spin import CrossbarTileOp, get_int

NGSPICE_TOLERANCE = 1e-6
NGSPICE_CHECK_MAX_CELLS = 8192


def _equal_fraction(expected: list[np.ndarray], actual: list[np.ndarray]) -> float:
    equal = sum(int(np.sum(np.asarray(e) == np.asarray(a))) for e, a in zip(expected, actual, strict=True))
    total = sum(np.asarray(e).size for e in expected)
    return equal / total if total else 1.0


def ideal_equality(design: Any, inputs: list[np.ndarray]):
    from spintron_nn.verification import CheckResult

    sim = design.run(inputs, backend="sim")
    ideal = run_design(design, inputs, ideal=True)
    equal = _equal_fraction(sim, ideal)
    return CheckResult("spice (ideal devices, no wires) vs sim: outputs bit-identical", equal == 1.0,
                       equal, 1.0, ">=")


def analog_accuracy(design: Any) -> list:
    from spintron_nn.verification import CheckResult, default_bounds

    agreement_bound, rms_bound = default_bounds(design)
    analysis = analyse_design(design)
    accuracy, where = analysis["accuracy"], f"on {analysis['evaluated_on']} inputs"
    worst = max((tile["max_error_lsb"] for tile in analysis["tiles"]), default=0.0)
    results = []
    if accuracy["top1_agreement_with_sim"] is not None:
        for name, key in (("sim", "top1_agreement_with_sim"), ("float", "top1_agreement_with_float")):
            value = accuracy[key]
            results.append(CheckResult(f"spice vs {name} top-1 agreement {where} (max tile error {worst:.3g} LSB)",
                                       value >= agreement_bound, value, agreement_bound, ">="))
    elif accuracy["relative_rms_error_vs_sim"] is not None:
        value = accuracy["relative_rms_error_vs_sim"]
        results.append(CheckResult(f"spice vs sim relative RMS error {where} (max tile error {worst:.3g} LSB)",
                                   value <= rms_bound, value, rms_bound, "<="))
    return results


def _smallest_tile(module) -> CrossbarTileOp | None:
    tiles = [op for op in module.walk() if isinstance(op, CrossbarTileOp)]
    return min(tiles, key=lambda op: op.levels_pos.array.size, default=None)


def nodal_vs_ngspice(design: Any) -> list:
    from spintron_nn.backends.spice.bundle import tile_input_codes
    from spintron_nn.backends.spice.circuit import build_tile_circuit
    from spintron_nn.backends.spice.netlist import sample_times, tran_deck
    from spintron_nn.backends.spice.ngspice import ngspice_available, run_ngspice
    from spintron_nn.backends.spice.nodal import NodalSolver
    from spintron_nn.backends.sim import reference
    from spintron_nn.verification import CheckResult

    op = _smallest_tile(design.spin_module)
    if op is None:
        return []
    # said, not silently left out: the user may think the circuit oracle ran
    if not ngspice_available():
        return [CheckResult("spice nodal solver vs ngspice: not run, ngspice is not installed", True, 0.0, 0.0, "skip")]
    if 2 * op.levels_pos.array.size > NGSPICE_CHECK_MAX_CELLS:
        return [CheckResult(f"spice nodal solver vs ngspice: not run, the smallest tile has more than "
                            f"{NGSPICE_CHECK_MAX_CELLS} cells (docs/spice.md)", True, 0.0, 0.0, "skip")]
    codes = tile_input_codes(design.spin_module, [a[:1] for a in design.reference_inputs])[get_int(op, "tile_id")]
    bits = reference._input_bit_planes(codes.astype(np.int64), get_int(op, "input_bits"))[0]
    circuit = build_tile_circuit(op.levels_pos.array, op.levels_neg.array, design_params(design))
    nodal = NodalSolver(circuit).column_currents(bits).reshape(len(bits), -1)
    vectors = run_ngspice(tran_deck(circuit, bits))
    names = circuit.node_names()
    times = sample_times(len(bits))
    spice = np.stack([np.interp(times, vectors["time"], vectors[f"i(vsense_{names[node]})"])
                      for node in circuit.sense_nodes.ravel()], axis=1)
    scale = np.maximum(np.abs(spice), 1e-6 * max(float(np.max(np.abs(spice))), 1e-30))
    error = float(np.max(np.abs(nodal - spice) / scale))
    return [CheckResult(f"spice nodal solver vs ngspice, tile {get_int(op, 'tile_id')} .tran "
                        f"({len(bits)} input bits): max relative column-current error",
                        error <= NGSPICE_TOLERANCE, error, NGSPICE_TOLERANCE, "<=")]


def check_design(design: Any) -> list:
    """The spice lines of ``spintronc verify``; empty without the spice target."""
    if "spice" not in design.config.targets or design.spin_module is None or design.reference_inputs is None:
        return []
    return [ideal_equality(design, design.reference_inputs), *analog_accuracy(design), *nodal_vs_ngspice(design)]
