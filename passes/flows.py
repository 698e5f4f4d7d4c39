"""End-to-end flows over the pass registry (the API and CLI call these).

    quantize_and_lower(module, calibration_inputs, **options) -> module

runs the float clean-up passes, ``calibrate`` on ``calibration_inputs`` (a list
of arrays in input order, or None for the documented synthetic fallback),
then ``quantize``, ``lower-to-spin``, ``tile-crossbars`` and ``schedule``.
The module is rewritten in place and returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from spintron_nn.config import check_layer_bits, check_layer_weight_bits
from spintron_nn.passes.calibrate import calibrate_module
from spintron_nn.passes.pipeline import PassTiming, available_passes, run_pipeline
from spintron_nn.passes.schedule import schedule_module

FLOAT_PASSES = ("canonicalize", "fold-constants", "fold-batchnorm", "fuse-activations")


def default_float_pipeline() -> str:
    """The float clean-up passes of FLOAT_PASSES that this build has."""
    available = available_passes()
    return ",".join(name for name in FLOAT_PASSES if name in available)


# Passes quantize_and_lower runs itself, with the compile's own options.
LOWERING_PASSES = ("calibrate", "quantize", "lower-to-spin", "tile-crossbars", "schedule", "estimate-energy")


def check_float_pipeline(spec: str) -> None:
    """A user's replacement for the float clean-up passes: valid, and free of
    the lowering passes, which would otherwise run twice (once without the
    compile's options)."""
    from spintron_nn.errors import SpintronError
    from spintron_nn.passes.pipeline import parse_pass_pipeline

    misplaced = [p.name for p in parse_pass_pipeline(spec) if p.name in LOWERING_PASSES]
    if misplaced:
        raise SpintronError(
            f"--pipeline replaces the float clean-up passes; {', '.join(misplaced)} run after it "
            "with this compile's options (for a custom lowering use spintron-opt on the ir target)"
        )


def quantize_and_lower(
    module: ModuleOp,
    calibration_inputs: Sequence[np.ndarray] | None,
    *,
    weight_bits: int = 8,
    activation_bits: int = 8,
    per_channel: bool = True,
    output_bits: int | None = None,
    input_bits: int | None = None,
    layer_weight_bits=(),
    layer_activation_bits=(),
    layer_adc_bits=(),
    signed_inputs: bool = False,
    cell_bits: int = 2,
    adc_bits: int | None = 6,
    rows: int = 128,
    cols: int = 128,
    percentile: float = 100.0,
    max_saturation: float | None = None,
    grouped_tiling: str = "aligned",
    pipeline: str | None = None,
    progress: Callable[[str], None] | None = None,
    timings: list[PassTiming] | None = None,
    parameters=None,
) -> ModuleOp:
    """Quantize ``module`` (an ``nn`` graph) and map it onto crossbar tiles.

    ``adc_bits=None`` (or 0) is an ideal ADC; ``pipeline`` replaces the float
    clean-up passes (default: canonicalize, fold-constants, fold-batchnorm,
    fuse-activations, those present).  ``timings`` collects seconds per pass.
    ``grouped_tiling``: ``"aligned"`` or ``"grid"`` for grouped convs (tiling.py).
    ``output_bits``: code width of the network's outputs when a matrix layer
    produces them (None = ``activation_bits``; the ``quantize`` pass's ``output-bits``).
    ``input_bits``: code width of the network's inputs (None = ``activation_bits``;
    the pass's ``input-bits``).
    ``layer_weight_bits``: ``{layer name: bits}`` (or pairs) for single matrix
    layers (``layer0``, ... as the report names them; the pass's ``layer-weight-bits``);
    ``layer_activation_bits`` likewise for their results' code widths (``layer-activation-bits``),
    ``layer_adc_bits`` for their tiles' ADC resolutions (lower-to-spin's ``layer-adc-bits``).
    ``signed_inputs``: layers whose inputs have a non-zero zero point read two's-complement
    codes of ``x - zp`` (lower-to-spin's ``signed-inputs``; docs/semantics.md section 4a).
    ``parameters``: the compile's parameter table (its --mtj-config and
    overrides) for ``schedule``'s float-unit latencies; default: the shipped table.
    """
    def run(spec: str) -> None:
        if spec:
            run_pipeline(module, spec, timings=timings,
                         on_pass=(lambda p: progress(p.name)) if progress else None)

    def timed(name: str, step: Callable[[], None]) -> None:
        if progress:
            progress(name)
        start = time.perf_counter()
        step()
        if timings is not None:
            timings.append(PassTiming(name, time.perf_counter() - start))

    run(default_float_pipeline() if pipeline is None else pipeline)
    timed("calibrate", lambda: calibrate_module(module, calibration_inputs, percentile=percentile))
    tile_options = [f"grouped-tiling={grouped_tiling}"]
    if max_saturation is not None:
        tile_options.append(f"max-saturation={float(max_saturation)}")
    layer_bits = ",".join(f"{name}={bits}" for name, bits in check_layer_weight_bits(layer_weight_bits))
    layer_codes = ",".join(f"{name}={bits}" for name, bits in check_layer_bits(layer_activation_bits, "activation"))
    layer_adcs = ",".join(f"{name}={bits}" for name, bits in check_layer_bits(layer_adc_bits, "ADC"))
    run(
        f"quantize{{weight-bits={weight_bits} activation-bits={activation_bits} "
        f"per-channel={'true' if per_channel else 'false'} output-bits={output_bits or 0} "
        f"input-bits={input_bits or 0} layer-weight-bits={json.dumps(layer_bits)} "
        f"layer-activation-bits={json.dumps(layer_codes)}}},"
        f"lower-to-spin{{rows={rows} cols={cols} cell-bits={cell_bits} adc-bits={adc_bits or 0} "
        f"signed-inputs={'true' if signed_inputs else 'false'} layer-adc-bits={json.dumps(layer_adcs)}}},"
        f"tile-crossbars{{{' '.join(tile_options)}}}"
    )
    # called directly, not through the pass text: the table may hold overrides given as values
    timed("schedule", lambda: schedule_module(module, table=parameters))
    return module
