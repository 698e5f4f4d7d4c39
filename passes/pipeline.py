"""The pass registry and ``-p 'pass-a,pass-b{opt=1}'`` pipelines.

Passes are xDSL ``ModulePass`` dataclasses (options are fields).  They are
registered lazily, by name, so that listing or parsing a pipeline does not
import torch or onnxruntime.  The IR is verified after every pass; a pass that
leaves invalid IR is reported by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline, get_pass_option_infos
from xdsl.utils.exceptions import DiagnosticException

from spintron_nn.entry_points import has_entry_point, load_entry_point
from spintron_nn.errors import SpintronError
from spintron_nn.ir.context import make_context
from spintron_nn.passes.pipeline_spec import coerce_options, parse_arg_specs

# name -> "module:Class"; modules are imported on first use.
_REGISTRY: dict[str, str] = {
    "canonicalize": "spintron_nn.passes.canonicalize:CanonicalizePass",
    "fold-constants": "spintron_nn.passes.fold_constants:FoldConstantsPass",
    "fold-batchnorm": "spintron_nn.passes.fold_batchnorm:FoldBatchNormPass",
    "fuse-activations": "spintron_nn.passes.fuse_activations:FuseActivationsPass",
    "shape-inference": "spintron_nn.passes.shape_inference:ShapeInferencePass",
    "calibrate": "spintron_nn.passes.calibrate:CalibratePass",
    "quantize": "spintron_nn.passes.quantize:QuantizePass",
    "lower-to-spin": "spintron_nn.passes.lower_to_spin:LowerToSpinPass",
    "tile-crossbars": "spintron_nn.passes.tile_crossbars:TileCrossbarsPass",
    "schedule": "spintron_nn.passes.schedule:SchedulePass",
    "estimate-energy": "spintron_nn.passes.estimate_energy:EstimateEnergyPass",
}


def register_pass(name: str, target: str) -> None:
    """Register ``module:Class`` under ``name`` (used by later layers)."""
    _REGISTRY[name] = target


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """The registry in the form xDSL's ``PassPipeline.parse_spec`` expects.

    Only registered passes whose module exists are offered, so a layer that
    has not landed yet is absent rather than a crash; a pass's module is
    imported when its loader is called, not when the list is made."""
    return {
        name: lambda name=name, target=target: load_entry_point(target, f"pass '{name}'")
        for name, target in sorted(_REGISTRY.items())
        if has_entry_point(target)
    }


def describe_passes() -> str:
    """One block per pass: name, first docstring line, options with defaults."""
    lines = []
    for name, loader in available_passes().items():
        cls = loader()
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        lines.append(f"{name}: {summary}")
        for info in get_pass_option_infos(cls):
            option = info.name.replace("_", "-")
            default = f" = {info.default_value}" if info.default_value is not None else ""
            lines.append(f"    {option}: {info.expected_type}{default}")
    return "\n".join(lines)


def parse_pass_pipeline(spec: str) -> tuple[ModulePass, ...]:
    passes = available_passes()
    specs = parse_arg_specs(spec)
    result = []
    for arg_spec in specs:
        if arg_spec.name not in passes:
            known = ", ".join(passes)
            raise SpintronError(f"unknown pass '{arg_spec.name}' (known: {known})")
        cls = passes[arg_spec.name]()
        arg_spec = coerce_options(cls, arg_spec)
        try:
            result.append(cls.from_pass_spec(arg_spec))
        except Exception as exc:
            raise SpintronError(f"pass '{arg_spec.name}': {exc}") from None
    return tuple(result)


def _pipeline_passes(pipeline: object) -> tuple[ModulePass, ...]:
    """A ``-p`` string or pass instances; anything else (a list of names) is
    refused here rather than failing inside xDSL with an AttributeError."""
    if isinstance(pipeline, str):
        return parse_pass_pipeline(pipeline)
    if isinstance(pipeline, (tuple, list)) and all(isinstance(p, ModulePass) for p in pipeline):
        return tuple(pipeline)
    raise SpintronError(
        "pipeline must be a string such as 'canonicalize,fold-batchnorm' or a sequence "
        f"of pass instances, got {pipeline!r}"
    )


@dataclass
class PassTiming:
    name: str
    seconds: float


def run_pipeline(
    module: ModuleOp,
    pipeline: str | tuple[ModulePass, ...] | list[ModulePass],
    *,
    ctx: Context | None = None,
    timings: list[PassTiming] | None = None,
    on_pass: Callable[[ModulePass], None] | None = None,
) -> ModuleOp:
    """Apply ``pipeline`` to ``module`` in place, verifying after each pass."""
    passes = _pipeline_passes(pipeline)
    ctx = ctx or make_context()
    for module_pass in passes:
        if on_pass is not None:
            on_pass(module_pass)
        start = time.perf_counter()
        PassPipeline((module_pass,)).apply(ctx, module)
        try:
            module.verify()
        except DiagnosticException as exc:
            raise SpintronError(
                f"IR does not verify after pass '{module_pass.name}': {exc}"
            ) from None
        if timings is not None:
            timings.append(PassTiming(module_pass.name, time.perf_counter() - start))
    return module


def pass_spec(module_pass: ModulePass) -> str:
    """The ``-p`` text that recreates ``module_pass`` (for manifests)."""
    return str(module_pass.pipeline_pass_spec(include_default=True))


__all__ = [
    "PassTiming",
    "available_passes",
    "describe_passes",
    "parse_pass_pipeline",
    "pass_spec",
    "register_pass",
    "run_pipeline",
]
