"""What the analog circuit costs a design: IR-drop error per tile and the
accuracy of the analog run (``--backend spice``) against the ideal integer
run (``--backend sim``) and the float graph.

Per tile, on the inputs the tile receives during the analog run, the analog
column currents (nodal solver, trimmed level units, ``runner.level_gain``)
are compared with the contract's exact integers (``reference.column_currents``)
of the same inputs:

* ``max_error_lsb`` / ``mean_error_lsb``: |I_analog - I_exact| in levels,
  i.e. in ADC LSBs before the ADC's shift: everything analog;
* ``max_ir_drop_lsb`` / ``mean_ir_drop_lsb``: the wires' share, |I_analog -
  I_no_wires| with the same devices and zero wire resistance;
* ``relative_rms_error``: RMS(I_analog - I_exact) / RMS(I_exact);
* ``code_mismatch_rate`` / ``max_code_error``: how often, and by how much,
  the tile's ADC (its bits and shift) reads a different code than it would
  from the exact current: the part of the error the digital side sees.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any

import numpy as np

from spintron_nn.analysis import _agreement, _relative_rms
from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.noise import ONE_Q, Q
from spintron_nn.backends.spice.params import CrossbarParams
from spintron_nn.backends.spice.runner import (AnalogTileCurrents, design_params, run_analog,
                                                tile_level_currents)
from spintron_nn.ir.spin import get_int

# The nodal solver costs ~10-100 ms per input bit vector of a 64-row tile,
# so the analysis runs on the first reference inputs only.
DEFAULT_ANALYSIS_INPUTS = 32


def circuit_summary(params: CrossbarParams) -> dict:
    return {
        "cell_type": params.cell.kind,
        "cell_levels": params.cell.n_levels,
        "v_read_v": params.v_read,
        "wordline_ohm_per_segment": params.r_wordline,
        "bitline_ohm_per_segment": params.r_bitline,
        "access_device": params.access_device,
        "bias_dependent": params.bias_dependent,
        "corner": params.corner.name,
    }


def _mean_abs(values: np.ndarray) -> float:
    return float(np.mean(np.abs(values))) if values.size else 0.0


def _tile_error(op, codes: np.ndarray, currents_q16: np.ndarray, params: CrossbarParams) -> dict:
    levels_pos, levels_neg = op.levels_pos.array, op.levels_neg.array
    exact = reference.column_currents(codes, levels_pos, levels_neg, input_bits=get_int(op, "input_bits"))
    error = currents_q16 / ONE_Q - exact
    no_wires = tile_level_currents(op, codes, replace(params, r_wordline=0.0, r_bitline=0.0))
    ir_drop = currents_q16 / ONE_Q - no_wires
    adc_bits, adc_shift = get_int(op, "adc_bits"), get_int(op, "adc_shift")
    code_error = (reference.adc_convert(currents_q16, adc_bits, adc_shift + Q)
                  - reference.adc_convert(exact, adc_bits, adc_shift))
    exact_rms = float(np.sqrt(np.mean(np.square(exact, dtype=np.float64)))) if exact.size else 0.0
    error_rms = float(np.sqrt(np.mean(np.square(error)))) if error.size else 0.0
    return {
        "layer": op.layer.data,
        "tile_id": get_int(op, "tile_id"),
        "rows": get_int(op, "rows"),
        "cols": get_int(op, "cols"),
        "slices": get_int(op, "slices"),
        "max_error_lsb": float(np.max(np.abs(error), initial=0.0)),
        "mean_error_lsb": _mean_abs(error),
        "max_ir_drop_lsb": float(np.max(np.abs(ir_drop), initial=0.0)),
        "mean_ir_drop_lsb": _mean_abs(ir_drop),
        "relative_rms_error": error_rms / exact_rms if exact_rms else None,
        "code_mismatch_rate": float(np.mean(code_error != 0)) if code_error.size else 0.0,
        "max_code_error": int(np.max(np.abs(code_error), initial=0)),
    }


def tile_errors(record: list, params: CrossbarParams) -> list[dict]:
    """One entry per tile from ``AnalogTileCurrents.record``, by tile id (the
    simulator calls a tile once per chunk of a large batch)."""
    by_tile: dict[int, tuple] = {}
    for op, codes, currents_q16 in record:
        tile_id = get_int(op, "tile_id")
        if tile_id in by_tile:
            _, seen_codes, seen_currents = by_tile[tile_id]
            codes, currents_q16 = np.concatenate([seen_codes, codes]), np.concatenate([seen_currents, currents_q16])
        by_tile[tile_id] = (op, codes, currents_q16)
    return [_tile_error(*by_tile[tile_id], params) for tile_id in sorted(by_tile)]


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def accuracy_loss(float_outputs, sim_outputs, spice_outputs) -> dict:
    """The first output of the analog run against the integer run and float."""
    reference_float = np.asarray(float_outputs[0])
    sim, spice = np.asarray(sim_outputs[0]), np.asarray(spice_outputs[0])
    agree_sim_float = _agreement(reference_float, sim)
    agree_spice_float = _agreement(reference_float, spice)
    agree_spice_sim = _agreement(sim, spice)
    loss = None
    if agree_sim_float is not None and agree_spice_float is not None:
        loss = round(100.0 * (agree_sim_float - agree_spice_float), 2)
    return {
        "outputs_equal_to_sim": float(np.mean(sim == spice)) if sim.size else 1.0,
        "relative_rms_error_vs_sim": _rounded(_relative_rms(sim, spice)) if sim.dtype.kind == "f" else None,
        "top1_agreement_with_sim": _rounded(agree_spice_sim),
        "top1_agreement_with_float": _rounded(agree_spice_float),
        "sim_top1_agreement_with_float": _rounded(agree_sim_float),
        "accuracy_loss_points": loss,
    }


def analyse_design(design: Any, inputs: list[np.ndarray] | None = None, *,
                   params: CrossbarParams | None = None,
                   max_inputs: int | None = None) -> dict:
    """IR-drop error per tile and accuracy loss of ``design`` on ``inputs``
    (default: its first ``max_inputs`` reference inputs, default
    ``DEFAULT_ANALYSIS_INPUTS``)."""
    if inputs is None:
        count = DEFAULT_ANALYSIS_INPUTS if max_inputs is None else max_inputs
        inputs = [a[:count] for a in design.reference_inputs]
    params = params if params is not None else design_params(design)
    record: list = []
    spice = run_analog(design, inputs, AnalogTileCurrents(params, record=record))
    sim = design.run(inputs, backend="sim")
    float_outputs = design.run(inputs, backend="float")
    return {
        "circuit": circuit_summary(params),
        "evaluated_on": len(inputs[0]),
        "tiles": tile_errors(record, params),
        "accuracy": accuracy_loss(float_outputs, sim, spice),
    }


# One analysis per design object and compile: the spice target and the report
# both show it, and it costs seconds to minutes.
_DEFAULT_ANALYSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def default_analysis(design: Any) -> dict | None:
    """``analyse_design`` with the design's own parameters, computed once per
    design; None without reference inputs (nothing to run)."""
    if design.spin_module is None or design.reference_inputs is None:
        return None
    if design.spin_module not in _DEFAULT_ANALYSES:
        _DEFAULT_ANALYSES[design.spin_module] = analyse_design(design)
    return _DEFAULT_ANALYSES[design.spin_module]


def one_line(analysis: dict) -> str:
    """The compile summary's line for the analysis."""
    tiles, accuracy = analysis["tiles"], analysis["accuracy"]
    worst = max((tile["max_error_lsb"] for tile in tiles), default=0.0)
    mismatch = max((tile["code_mismatch_rate"] for tile in tiles), default=0.0)
    agreement = accuracy["top1_agreement_with_sim"]
    shown = f"top-1 agreement with sim {100 * agreement:.1f} %" if agreement is not None else (
        f"{100 * accuracy['outputs_equal_to_sim']:.1f} % of outputs equal to sim")
    return (f"max analog column-current error {worst:.3g} LSB, up to {100 * mismatch:.1f} % of ADC codes changed; "
            f"{shown} on {analysis['evaluated_on']} inputs")
