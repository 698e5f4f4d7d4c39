"""Checks of a design against its oracles (used by ``spintronc verify`` and tests).

* sim vs float: the crossbar design against the float graph it came from.
  Quantization makes them differ; the bound is stated, not hidden.  For a
  classifier-shaped output (2-D float, more than one class) the criterion is
  top-1 agreement: its logits' relative RMS error is printed for information,
  because a coarse ADC can scale logits by several per cent (measured: 15 %
  on the zoo's resnet_style at a 6-bit ADC) while every decision stays the
  same.  Any other float output is held to a relative RMS bound.  Both bounds
  derive from the bit widths (below) and are printed with the measured value.
* Further oracle pairs (rtl vs sim, spice vs sim) are exact and appear when
  their backends are part of the bundle.
"""

from __future__ import annotations

import functools

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spintron_nn.analysis import is_classifier_output, relative_rms, top1_agreement
from spintron_nn.design import Design
from spintron_nn.entry_points import find_entry_point


@dataclass
class CheckResult:
    name: str
    passed: bool
    measured: float
    bound: float
    relation: str  # ">=", "<=", "info" (reported, not a criterion) or "skip" (name says why)

    def line(self) -> str:
        if self.relation == "skip":
            return f"skip {self.name}"
        if self.relation == "info":
            return f"info {self.name}: {self.measured:.6g} (reported; not a pass criterion)"
        status = "ok  " if self.passed else "FAIL"
        return f"{status} {self.name}: {self.measured:.6g} (bound {self.relation} {self.bound:.6g})"


def _weight_widths(design: Design) -> list[int]:
    """The weight widths the mapped matrix layers use (the config's for every layer when
    there is no mapping): the global width only if some layer kept it."""
    from spintron_nn.ir import spin

    module = getattr(design, "spin_module", None)
    layers = {op.layer.data for op in module.walk() if isinstance(op, spin.CrossbarTileOp)} if module else set()
    if not layers:
        return [design.config.weight_bits]
    return [design.config.weight_bits_of(layer) for layer in layers]


def default_bounds(design: Design) -> tuple[float, float]:
    """(min top-1 agreement, max relative RMS error) for sim vs float.

    Each bit removed from the narrowest of weights (any layer's), activations and inputs roughly doubles
    the quantization noise, so the RMS bound doubles per bit below 8 (5 % at
    8 bits); agreement is held at 95 % for 8 bits, relaxed by 5 points a bit.
    These are acceptance bounds for a working design, not accuracy claims.
    """
    config = design.config
    code_widths = [bits for _, bits in config.layer_activation_bits]
    bits = min(config.activation_bits, config.graph_input_bits, *code_widths, *_weight_widths(design))
    rms = min(1.0, 0.05 * 2 ** (8 - bits))
    agreement = max(0.5, 0.95 - 0.05 * (8 - bits))
    return agreement, rms


def sim_vs_float(design: Design, min_agreement: float | None = None) -> list[CheckResult]:
    agreement_bound, rms_bound = default_bounds(design)
    if min_agreement is not None:
        agreement_bound = min_agreement
    inputs = design.reference_inputs
    expected = design.run(inputs, backend="float")
    actual = design.run(inputs, backend="sim")
    results = []
    for name, ref, got in zip(design.output_names, expected, actual, strict=True):
        ref = np.asarray(ref)
        got = np.asarray(got)
        if ref.dtype.kind == "f":
            rms = relative_rms(ref, got)
            rms_name = f"sim vs float '{name}' relative RMS error"
            if is_classifier_output(ref):
                results.append(CheckResult(rms_name, True, rms, rms_bound, "info"))
            else:
                results.append(CheckResult(rms_name, rms <= rms_bound, rms, rms_bound, "<="))
        if is_classifier_output(ref):
            agree = top1_agreement(ref, got)
            results.append(CheckResult(f"sim vs float '{name}' top-1 agreement", agree >= agreement_bound, agree, agreement_bound, ">="))
        elif ref.dtype.kind in "iu":
            agree = float(np.mean(ref == got))
            results.append(CheckResult(f"sim vs float '{name}' equal labels", agree >= agreement_bound, agree, agreement_bound, ">="))
    return results


# Checks of other backends: "module:function", function(design) -> list of
# CheckResult, empty when the bundle holds nothing for it (e.g. no verilog/).
EXTRA_CHECKS = (
    "spintron_nn.backends.verilog.checks:check_design",
    "spintron_nn.backends.spice.checks:check_design",
)


def _available_checks() -> list[Callable[[Design], list[CheckResult]]]:
    return [check for check in map(find_entry_point, EXTRA_CHECKS) if check is not None]


def run_checks(design: Design, *, min_agreement: float | None = None,
               on_results: Callable[[list[CheckResult]], None] | None = None) -> list[CheckResult]:
    """Every check's results, in order; ``on_results`` gets each group as soon as it is
    measured (the RTL and SPICE checks take a while)."""
    groups = [functools.partial(sim_vs_float, design, min_agreement)]
    groups += [functools.partial(check, design) for check in _available_checks()]
    results = []
    for group in groups:
        found = group()
        if on_results:
            on_results(found)
        results.extend(found)
    return results
