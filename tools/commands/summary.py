"""The one-screen summary ``spintronc compile`` prints."""

from __future__ import annotations

from spintron_nn.config import adc_label, precision_label, tiling_label
from spintron_nn.design import Design
from spintron_nn.ir.module_info import count_ops


def print_summary(design: Design, output: str) -> None:
    config = design.config
    print(f"bundle: {output}")
    print(
        f"config: {precision_label(config.weight_bits, config.activation_bits, config.output_bits, config.layer_weight_bits, config.input_bits, config.layer_activation_bits)}, "
        f"{config.cell_bits}-bit cells, "
        f"{adc_label(config.adc_bits, config.layer_adc_bits)}, {config.crossbar} crossbars{tiling_label(config.grouped_tiling)}"
        f"{', input activity measured' if config.input_activity == 'measured' else ''}"
        f"{', signed inputs' if config.signed_inputs else ''}"
    )
    float_ops = count_ops(design.float_module)
    layers = sum(n for name, n in float_ops.items() if name.startswith("nn.") and name != "nn.constant")
    print(f"float graph: {layers} ops")
    for key, value in design.summary.items():
        print(f"{key}: {value}")
