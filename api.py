"""The Python entry point: ``sn.compile(model, config, calibration)``.

The CLI's ``compile`` and the facade both call :func:`compile_model`, so the
three interfaces cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spintron_nn.analysis import accuracy_summary, tile_statistics
from spintron_nn.config import CompileConfig
from spintron_nn.design import Design
from spintron_nn.errors import SpintronError

def _clone(module):
    return module.clone()


def _float_passes(module, pipeline: str | None, progress: Callable[[str], None] | None):
    """The float clean-up (or the user's ``--pipeline``), done once: the
    quantizer then starts from its result."""
    from spintron_nn.passes.flows import default_float_pipeline
    from spintron_nn.passes.pipeline import run_pipeline

    spec = default_float_pipeline() if pipeline is None else pipeline
    if spec:
        run_pipeline(module, spec, on_pass=(lambda p: progress(f"pass {p.name}")) if progress else None)
    return module


def _as_input_list(data: Any, names: list[str]) -> list[np.ndarray]:
    if isinstance(data, (str, Path)):
        from spintron_nn.array_files import load_arrays

        return load_arrays(data, names)
    if isinstance(data, dict):
        return [np.asarray(data[n], dtype=np.float32) for n in names]
    if isinstance(data, np.ndarray):
        return [data.astype(np.float32, copy=False)]
    return [np.asarray(a, dtype=np.float32) for a in data]


def compile_model(
    model: Any,
    config: CompileConfig | None = None,
    calibration: Any = None,
    *,
    example_input: Any = None,
    architecture: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Design:
    """Import ``model`` (ONNX path/proto, torch module, .py), run the float
    passes and, unless only the ``ir`` target is asked for, quantize and lower
    it onto crossbars.  ``calibration``: array(s) or an .npy/.npz path;
    ``architecture``: the .py that builds the network for a .pt/.pth state_dict."""
    from spintron_nn.frontend import load_model

    config = config or CompileConfig()
    if progress:
        progress("import")
    float_module = load_model(model, example_input=example_input, architecture=architecture)
    design_module = _float_passes(_clone(float_module), config.pipeline, progress)
    design = Design(
        float_module=float_module,
        config=config,
        design_module=design_module,
        source=str(model) if isinstance(model, (str, Path)) else type(model).__name__,
    )
    calibration_inputs = (
        _as_input_list(calibration, design.input_names) if calibration is not None else None
    )
    needs_crossbars = any(t != "ir" for t in config.targets)
    if needs_crossbars:
        try:
            from spintron_nn.passes.flows import quantize_and_lower
        except ImportError:
            raise SpintronError(
                "targets other than 'ir' need the quantizer, which this build does not have"
            ) from None
        design.design_module = quantize_and_lower(
            _clone(design_module),
            calibration_inputs,
            weight_bits=config.weight_bits,
            activation_bits=config.activation_bits,
            cell_bits=config.cell_bits,
            adc_bits=config.adc_bits,
            rows=config.rows,
            cols=config.cols,
            per_channel=config.per_channel,
            pipeline="",  # the float passes ran above
            progress=progress,
        )
        design.summary.update(tile_statistics(design.design_module))
    if calibration_inputs is not None:
        design.reference_inputs = [a[:64] for a in calibration_inputs]
        if design.spin_module is not None:
            if progress:
                progress("measuring accuracy vs float (real and ideal ADC)")
            design.summary.update(
                accuracy_summary(float_module, design.spin_module, design.reference_inputs)
            )
    return design


def compile(  # noqa: A001 - mirrors the documented `sn.compile`
    model: Any,
    config: CompileConfig | dict | None = None,
    calibration: Any = None,
    **kwargs: Any,
) -> Design:
    if isinstance(config, dict):
        config = CompileConfig(**config)
    return compile_model(model, config, calibration, **kwargs)


