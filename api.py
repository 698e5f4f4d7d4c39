"""The Python entry point: ``sn.compile(model, config, calibration)``.

The CLI's ``compile`` and the facade both call :func:`compile_model`, so the
three interfaces cannot drift apart.
"""

from __future__ import annotations

import sys

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spintron_nn.analysis import accuracy_summary, tile_statistics
from spintron_nn.config import CompileConfig
from spintron_nn.design import Design
from spintron_nn.errors import SpintronError
from spintron_nn.ir.module_info import input_names

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


CHECKPOINT_SUFFIXES = (".pt", ".pth")


def check_architecture_option(model: Any, architecture: str | Path | None) -> None:
    """``architecture`` only means something for a state_dict checkpoint; given
    with anything else it would be silently ignored, hiding a mistake."""
    if architecture is None:
        return
    if not (isinstance(model, (str, Path)) and Path(model).suffix.lower() in CHECKPOINT_SUFFIXES):
        raise SpintronError(
            "--architecture applies to .pt/.pth state_dict checkpoints only", path=str(model)
        )
    if not Path(architecture).is_file():
        raise SpintronError("no such file (--architecture)", path=str(architecture))


def _example_from_calibration(model: Any, calibration: Any) -> Any:
    """A torch module's example input for the export: the first calibration item (an array, a
    list/tuple of arrays, a dict keyed by ``forward``'s parameter names, or an .npy/.npz path),
    floats as float32 and other dtypes kept (token ids); None when there is nothing to take."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(model, torch.nn.Module) or calibration is None:
        return None
    from spintron_nn.array_files import read_array_file
    from spintron_nn.frontend.torch import forward_names

    data = read_array_file(calibration) if isinstance(calibration, (str, Path)) else calibration
    if hasattr(data, "files"):  # an .npz archive
        with data:
            data = {name: data[name] for name in data.files}
    if isinstance(data, dict) and len(data) == 1:
        data = list(data.values())
    elif isinstance(data, dict):
        names = forward_names(model, len(data))
        if set(names) != set(data):
            return None
        data = [data[name] for name in names]
    arrays = [data] if isinstance(data, np.ndarray) else list(data) if isinstance(data, (list, tuple)) else []
    if not arrays or not all(isinstance(a, np.ndarray) and a.ndim for a in arrays):
        return None
    first = [np.ascontiguousarray(a[:1], dtype=np.float32 if a.dtype.kind == "f" else a.dtype) for a in arrays]
    examples = tuple(torch.from_numpy(a) for a in first)
    return examples[0] if len(examples) == 1 else examples


def _calibration_inputs(data: Any, module) -> list[np.ndarray]:
    """``calibration`` (arrays, a dict by input name, or an .npy/.npz path)
    checked against the model's inputs."""
    from spintron_nn.array_files import as_input_list, checked_inputs, load_arrays

    names = input_names(module)
    path = None
    if isinstance(data, (str, Path)):
        path, arrays = data, load_arrays(data, names)
    else:
        arrays = as_input_list(data, names, what="calibration input")
    return checked_inputs(module, arrays, path=path, what="calibration input")


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
    check_architecture_option(model, architecture)
    needs_crossbars = any(t != "ir" for t in config.targets)
    if config.input_activity == "measured" and calibration is None and needs_crossbars:
        raise SpintronError("measured input activity needs calibration data (--calibration): the synthetic "
                            "stand-in inputs say nothing about your data's activity")
    for kind, widths in (("weight", config.layer_weight_bits), ("activation", config.layer_activation_bits),
                         ("ADC", config.layer_adc_bits)):
        if widths and not needs_crossbars:  # the names could not even be checked
            raise SpintronError(f"per-layer {kind} bits apply to mapped matrix layers; "
                                "targets 'ir' alone map nothing (add sim, or drop the per-layer widths)")
    if config.pipeline and needs_crossbars:
        from spintron_nn.passes.flows import check_float_pipeline

        check_float_pipeline(config.pipeline)  # before the import, which can take a while
    if progress:
        progress("import")
    if example_input is None:
        example_input = _example_from_calibration(model, calibration)
    float_module = load_model(model, example_input=example_input, architecture=architecture)
    design_module = _float_passes(_clone(float_module), config.pipeline, progress)
    design = Design(
        float_module=float_module,
        config=config,
        design_module=design_module,
        source=str(model) if isinstance(model, (str, Path)) else type(model).__name__,
    )
    calibration_inputs = (
        _calibration_inputs(calibration, float_module) if calibration is not None else None
    )
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
            output_bits=config.output_bits,
            input_bits=config.input_bits,
            layer_weight_bits=config.layer_weight_bits,
            layer_activation_bits=config.layer_activation_bits,
            layer_adc_bits=config.layer_adc_bits,
            signed_inputs=config.signed_inputs,
            grouped_tiling=config.grouped_tiling,
            pipeline="",  # the float passes ran above
            progress=progress,
            parameters=config.parameters(),
        )
        design.summary.update(tile_statistics(design.design_module))
    if calibration_inputs is not None:
        design.reference_inputs = [a[:64] if a.ndim else a for a in calibration_inputs]  # a 0-d input has no items
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


