"""``spintronc verify``: rtl vs sim, bit for bit, on the bundle's reference inputs.

Runs only when the design was compiled with ``--targets verilog``; the RTL is regenerated from ``design.mlir`` and
built in a scratch folder, so the check does not trust the written files.
"""

from __future__ import annotations

import numpy as np

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.verilog.runner import run_rtl


def check_design(design) -> list:
    from spintron_nn.verification import CheckResult

    if "verilog" not in design.config.targets or design.spin_module is None or design.reference_inputs is None:
        return []
    expected = run_spin(design.spin_module, design.reference_inputs)
    actual, _ = run_rtl(design.spin_module, design.reference_inputs)
    results = []
    for name, ref, got in zip(design.output_names, expected, actual, strict=True):
        equal = ref.shape == got.shape and ref.dtype == got.dtype and np.array_equal(ref, got)
        fraction = float(np.mean(ref == got)) if ref.shape == got.shape else 0.0
        results.append(CheckResult(f"rtl vs sim '{name}' equal elements (bit-exact)", equal, fraction, 1.0, ">="))
    return results
