"""Quantization parameters of a network exactly as the compiler chooses them.

The fake-quantized network must compute what ``spintronc compile`` will
build, so it does not re-implement calibration: it runs the compiler's own
passes on the model (``frontend.load_model`` -> float clean-up ->
``calibrate`` -> ``quantize_and_lower``) and reads back

* the input range and the output range of every matrix layer (Gemm/Conv, the
  range recorded after its fused ReLU), from ``calibrate``'s ``spin.range``
  attributes;
* every tile's ADC shift (``spin.crossbar_tile`` ``adc_shift``), chosen by
  ``tile-crossbars`` from the calibration activations.

Pools, flatten and max keep their input's scale (semantics section 9), so
these are all the numbers a chain of matrix layers and pools needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError

#: The ops that become crossbar layers (lower-to-spin), in graph order.
MATRIX_OPS = ("nn.conv", "nn.gemm", "nn.matmul")


@dataclass(frozen=True)
class HardwareCalibration:
    """Ranges and ADC shifts of one network on one calibration set."""

    input_range: tuple[float, float]
    layer_ranges: tuple[tuple[float, float], ...]  # output range per matrix layer
    adc_shifts: tuple[np.ndarray, ...]  # [row tiles, col tiles] per matrix layer


def _tile_shifts(spin_module) -> dict[str, np.ndarray]:
    from spintron_nn.ir import spin
    from spintron_nn.ir.module_info import main_function
    from spintron_nn.ir.spin import get_int

    found: dict[str, list[tuple[int, int, int]]] = {}
    for op in main_function(spin_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            row = get_int(op, "row_offset") // get_int(op, "array_rows")
            col = get_int(op, "col_offset") // get_int(op, "array_cols")
            found.setdefault(op.layer.data, []).append((row, col, get_int(op, "adc_shift")))
    shifts = {}
    for layer, entries in found.items():
        grid = np.zeros((max(e[0] for e in entries) + 1, max(e[1] for e in entries) + 1), dtype=np.int64)
        for row, col, shift in entries:
            grid[row, col] = shift
        shifts[layer] = grid
    return shifts


def compiler_calibration(model: torch.nn.Module, calibration: np.ndarray,
                         config: CompileConfig) -> HardwareCalibration:
    """Run the compiler's calibration and tiling on ``model`` (left unchanged)."""
    from spintron_nn.frontend import load_model
    from spintron_nn.ir.module_info import main_function
    from spintron_nn.passes.calibrate import INPUT_RANGES_ATTR, calibrate_module, read_range
    from spintron_nn.passes.flows import default_float_pipeline, quantize_and_lower
    from spintron_nn.passes.pipeline import run_pipeline

    calibration = np.asarray(calibration, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        module = load_model(model, example_input=torch.from_numpy(calibration[:1]))
    finally:
        model.train(was_training)
    float_passes = default_float_pipeline()
    if float_passes:
        run_pipeline(module, float_passes)
    calibrate_module(module, [calibration])
    main = main_function(module)
    input_range = tuple(main.attributes[INPUT_RANGES_ATTR].get_values()[:2])
    layer_ranges = tuple(read_range(op) for op in main.walk() if op.name in MATRIX_OPS)
    quantize_and_lower(
        module, [calibration], weight_bits=config.weight_bits, activation_bits=config.activation_bits,
        per_channel=config.per_channel, output_bits=config.output_bits, cell_bits=config.cell_bits, adc_bits=config.adc_bits,
        rows=config.rows, cols=config.cols, pipeline="",
    )
    shifts = _tile_shifts(module)
    if len(shifts) != len(layer_ranges):
        raise SpintronError(f"calibration: {len(layer_ranges)} matrix layers but {len(shifts)} mapped layers")
    return HardwareCalibration(
        input_range=input_range,
        layer_ranges=layer_ranges,
        adc_shifts=tuple(shifts[f"layer{i}"] for i in range(len(layer_ranges))),
    )
