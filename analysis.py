"""Facts about a compiled design for the compile summary and the manifest:
how many layers, tiles and arrays it uses, how full the arrays are, and what
quantization and the ADC cost in agreement with the float graph."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, ModuleOp

from spintron_nn.ir.nn import read_float, read_int


def tile_statistics(spin_module: ModuleOp) -> dict:
    from spintron_nn.ir.spin import CrossbarTileOp

    tiles = [op for op in spin_module.walk() if isinstance(op, CrossbarTileOp)]
    if not tiles:
        return {"crossbar layers": 0, "tiles": 0}
    layers = {op.layer.data for op in tiles}
    arrays = {read_int(op.array_id) for op in tiles if op.array_id is not None}
    utilisation = [read_float(op.utilisation) for op in tiles]
    cells = sum(2 * op.levels_pos.array.size for op in tiles)  # differential pair
    return {
        "crossbar layers": len(layers),
        "tiles": len(tiles),
        "arrays": len(arrays) if arrays else len(tiles),
        "mean utilisation": round(float(np.mean(utilisation)), 4),
        "cells (incl. differential pair and slices)": int(cells),
    }


def ideal_adc_variant(spin_module: ModuleOp) -> ModuleOp:
    """The same design with every tile's ADC made lossless (no clamp, shift 0):
    the difference to the real design is the ADC's accuracy cost."""
    from spintron_nn.ir.spin import CrossbarTileOp

    clone = spin_module.clone()
    for op in clone.walk():
        if isinstance(op, CrossbarTileOp):
            op.properties.pop("adc_bits", None)
            op.properties["adc_shift"] = IntegerAttr(0, op.adc_shift.type)
    return clone


def is_classifier_output(y: np.ndarray) -> bool:
    """Class scores: 2-D float, more than one column, and a decision in most rows (a unique
    maximum in at least half of them; docs/cli.md, verify).  An output whose rows mostly tie
    at the top (a constant, saturated tanh units) decides nothing, so it is held to its
    values' error instead."""
    if not (y.ndim == 2 and y.shape[1] > 1 and y.dtype.kind == "f" and len(y)):
        return False
    unique_top = np.sum(y == y.max(axis=1, keepdims=True), axis=1) == 1
    return bool(np.mean(unique_top) >= 0.5)


def top1_agreement(reference: np.ndarray, actual: np.ndarray) -> float:
    """Fraction of rows whose ``actual`` arg-max (the first on ties, as spin.argmax decides)
    is a maximal class of ``reference``: where the float scores tie at the top, either class
    is the float model's answer."""
    chosen = np.argmax(actual, axis=1)
    return float(np.mean(reference[np.arange(len(reference)), chosen] == reference.max(axis=1)))


def relative_rms(reference: np.ndarray, actual: np.ndarray) -> float:
    """RMS of the difference over the RMS of the reference (1 if that is 0)."""
    reference = reference.astype(np.float64)
    scale = float(np.sqrt(np.mean(reference**2))) or 1.0
    return float(np.sqrt(np.mean((actual.astype(np.float64) - reference) ** 2))) / scale


def _agreement(reference: np.ndarray, actual: np.ndarray) -> float | None:
    """Top-1 agreement, or None when ``reference`` is not class scores
    (backends/spice/analysis.py imports this name)."""
    return top1_agreement(reference, actual) if is_classifier_output(reference) else None


_relative_rms = relative_rms  # the name backends/spice/analysis.py imports


def primary_output(outputs: Sequence[np.ndarray]) -> int:
    """The output the summary speaks of: the first float one (an sklearn
    classifier's first output is its integer label, its second the scores)."""
    return next((i for i, y in enumerate(outputs) if np.asarray(y).dtype.kind == "f"), 0)


def accuracy_summary(float_module: ModuleOp, spin_module: ModuleOp, inputs: Sequence[np.ndarray]) -> dict:
    """Sim vs float on ``inputs``, with the real ADC and with an ideal one."""
    from spintron_nn.backends.float_exec import run_float
    from spintron_nn.backends.sim.executor import run_spin
    from spintron_nn.ir.module_info import output_names

    expected = run_float(float_module, list(inputs))
    index = primary_output(expected)
    reference = expected[index]
    real = run_spin(spin_module, list(inputs))[index]
    ideal = run_spin(ideal_adc_variant(spin_module), list(inputs))[index]
    summary = {
        "evaluated on": f"{len(inputs[0])} calibration inputs",
        "relative RMS error vs float": round(relative_rms(reference, real), 6),
        "relative RMS error vs float, ideal ADC": round(relative_rms(reference, ideal), 6),
    }
    if len(expected) > 1:
        summary["evaluated output"] = output_names(float_module)[index]
    if is_classifier_output(reference):
        agree_real, agree_ideal = top1_agreement(reference, real), top1_agreement(reference, ideal)
        summary["top-1 agreement with float"] = round(agree_real, 4)
        summary["top-1 agreement with float, ideal ADC"] = round(agree_ideal, 4)
        summary["ADC cost (agreement points)"] = round(100 * (agree_ideal - agree_real), 2)
    return summary
