"""Quantization parameters of a network exactly as the compiler chooses them.

The fake-quantized network must compute what ``spintronc compile`` will
build, so it does not re-implement calibration: it runs the compiler's own
passes on the model (``frontend.load_model`` -> float clean-up ->
``calibrate`` -> ``quantize_and_lower``) and reads back

* the input range and the output range of every matrix layer (Gemm/Conv, the
  range recorded after its fused ReLU), from ``calibrate``'s ``spin.range``
  attributes;
* every tile's ADC shift (``spin.crossbar_tile`` ``adc_shift``), chosen by
  ``tile-crossbars`` from the calibration activations, and each layer's first
  ``tile_id`` (the device-noise streams; tiles are numbered by ``tiling.layer_tile_blocks``);
* the output range of every residual add of two activations (``nn.add``,
  lowered to ``spin.add``), in graph order.

Layers and adds are matched to the torch model by their order in the graph
(the exporter writes nodes in execution order); ``layer_channels`` lets the
caller check that match.  Pools, flatten and max keep their input's scale
(semantics section 9), and a ReLU after an add keeps the add's, so these are
all the numbers a graph of matrix layers, adds and pools needs.
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
    adc_shifts: tuple[np.ndarray, ...]  # per matrix layer: one shift per tile, in tile_id order
    add_ranges: tuple[tuple[float, float], ...] = ()  # output range per add of two activations
    first_tile_ids: tuple[int, ...] = ()  # module-wide tile_id of each matrix layer's first tile
    layer_channels: tuple[int, ...] = ()  # output channels per matrix layer (to check the match)
    # BatchNormalization ops torch's exporter left unfolded (then fold-batchnorm folds them in
    # float64, which fake quantization does not reproduce)
    unfolded_batch_norms: int = 0


def _tile_shifts(spin_module) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per layer name: the ADC shift of every tile in tile_id order, and the first tile_id."""
    from spintron_nn.ir import spin
    from spintron_nn.ir.module_info import main_function
    from spintron_nn.ir.spin import get_int

    found: dict[str, list[tuple[int, int]]] = {}
    for op in main_function(spin_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            found.setdefault(op.layer.data, []).append((get_int(op, "tile_id"), get_int(op, "adc_shift")))
    shifts = {layer: np.array([shift for _, shift in sorted(entries)], dtype=np.int64)
              for layer, entries in found.items()}
    first_ids = {layer: min(tile_id for tile_id, _ in entries) for layer, entries in found.items()}
    return shifts, first_ids


def _is_activation_add(op) -> bool:
    """An ``nn.add`` of two activations (``spin.add``), not of a constant (a bias or LUT)."""
    return op.name == "nn.add" and all(getattr(v.owner, "name", None) != "nn.constant" for v in op.operands)


def _output_channels(op) -> int:
    from spintron_nn.ir import spin

    shape = spin.shape_of(op.results[0])
    return int(shape[1] if op.name == "nn.conv" else shape[-1])


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
    unfolded_batch_norms = sum(op.name == "nn.batch_normalization" for op in main_function(module).walk())
    float_passes = default_float_pipeline()
    if float_passes:
        run_pipeline(module, float_passes)
    calibrate_module(module, [calibration])
    main = main_function(module)
    input_range = tuple(main.attributes[INPUT_RANGES_ATTR].get_values()[:2])
    layer_ranges = tuple(read_range(op) for op in main.walk() if op.name in MATRIX_OPS)
    layer_channels = tuple(_output_channels(op) for op in main.walk() if op.name in MATRIX_OPS)
    add_ranges = tuple(read_range(op) for op in main.walk() if _is_activation_add(op))
    quantize_and_lower(
        module, [calibration], weight_bits=config.weight_bits, activation_bits=config.activation_bits,
        per_channel=config.per_channel, output_bits=config.output_bits, layer_weight_bits=config.layer_weight_bits,
        layer_activation_bits=config.layer_activation_bits, input_bits=config.input_bits,
        layer_adc_bits=config.layer_adc_bits, signed_inputs=config.signed_inputs,
        grouped_tiling=config.grouped_tiling, cell_bits=config.cell_bits, adc_bits=config.adc_bits,
        rows=config.rows, cols=config.cols, pipeline="",
    )
    shifts, first_ids = _tile_shifts(module)
    if len(shifts) != len(layer_ranges):
        raise SpintronError(f"calibration: {len(layer_ranges)} matrix layers but {len(shifts)} mapped layers")
    names = [f"layer{i}" for i in range(len(layer_ranges))]
    return HardwareCalibration(
        input_range=input_range,
        layer_ranges=layer_ranges,
        adc_shifts=tuple(shifts[name] for name in names),
        add_ranges=add_ranges,
        first_tile_ids=tuple(first_ids[name] for name in names),
        layer_channels=layer_channels,
        unfolded_batch_norms=unfolded_batch_norms,
    )
