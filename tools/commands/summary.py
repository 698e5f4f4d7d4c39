"""The one-screen summary ``spintronc compile`` prints."""

from __future__ import annotations

from spintron_nn.config import adc_label, precision_label, tiling_label
from spintron_nn.design import Design
from spintron_nn.ir.module_info import count_ops


def _signed_label(design: Design) -> str:
    """``", signed inputs"``, saying so when no layer has a zero point to subtract (the option then
    changes nothing, e.g. on inputs in 0..1)."""
    if not design.config.signed_inputs:
        return ""
    from spintron_nn.ir import spin

    module = design.spin_module
    if module is not None and not any(isinstance(op, spin.SignedCodesOp) for op in module.walk()):
        return ", signed inputs (no layer reads a non-zero zero point: nothing changes)"
    return ", signed inputs"


def print_summary(design: Design, output: str) -> None:
    config = design.config
    print(f"bundle: {output}")
    print(
        f"config: {precision_label(config.weight_bits, config.activation_bits, config.output_bits, config.layer_weight_bits, config.input_bits, config.layer_activation_bits)}, "
        f"{config.cell_bits}-bit cells, "
        f"{adc_label(config.adc_bits, config.layer_adc_bits)}, {config.crossbar} crossbars{tiling_label(config.grouped_tiling)}"
        f"{', input activity measured' if config.input_activity == 'measured' else ''}"
        f"{_signed_label(design)}"
    )
    float_ops = count_ops(design.float_module)
    layers = sum(n for name, n in float_ops.items() if name.startswith("nn.") and name != "nn.constant")
    print(f"float graph: {layers} ops")
    for key, value in design.summary.items():
        print(f"{key}: {value}")
