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


def _agreement(reference: np.ndarray, actual: np.ndarray) -> float | None:
    if reference.ndim == 2 and reference.shape[1] > 1 and reference.dtype.kind == "f":
        return float(np.mean(np.argmax(reference, 1) == np.argmax(actual, 1)))
    return None


def _relative_rms(reference: np.ndarray, actual: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    scale = float(np.sqrt(np.mean(reference**2))) or 1.0
    return float(np.sqrt(np.mean((actual.astype(np.float64) - reference) ** 2))) / scale


def accuracy_summary(float_module: ModuleOp, spin_module: ModuleOp, inputs: Sequence[np.ndarray]) -> dict:
    """Sim vs float on ``inputs``, with the real ADC and with an ideal one."""
    from spintron_nn.backends.float_exec import run_float
    from spintron_nn.backends.sim.executor import run_spin

    reference = run_float(float_module, list(inputs))[0]
    real = run_spin(spin_module, list(inputs))[0]
    ideal = run_spin(ideal_adc_variant(spin_module), list(inputs))[0]
    summary = {
        "evaluated on": f"{len(inputs[0])} calibration inputs",
        "relative RMS error vs float": round(_relative_rms(reference, real), 6),
        "relative RMS error vs float, ideal ADC": round(_relative_rms(reference, ideal), 6),
    }
    agree_real, agree_ideal = _agreement(reference, real), _agreement(reference, ideal)
    if agree_real is not None and agree_ideal is not None:
        summary["top-1 agreement with float"] = round(agree_real, 4)
        summary["top-1 agreement with float, ideal ADC"] = round(agree_ideal, 4)
        summary["ADC cost (agreement points)"] = round(100 * (agree_ideal - agree_real), 2)
    return summary
