"""Which implementation of the tile contract runs: the C kernel or the numpy reference.

Everything outside ``runtime/`` calls :func:`tile_matvec` from here, never the C
module directly, so that one environment variable switches every caller:

* ``SPINTRON_KERNEL=c``     the C kernel; an error if it was not built.
* ``SPINTRON_KERNEL=numpy`` the numpy reference (``backends/sim/reference.py``).
* unset / ``auto``          the C kernel when built, else the reference.

The choice itself lives in ``runtime.kernel.active_kernel`` so that
``runtime.kernel_info()`` reports the same answer without importing backends.
"""

from __future__ import annotations

import numpy as np

from spintron_nn.runtime import kernel
from spintron_nn.runtime.kernel import KERNEL_ENV, active_kernel, requested_kernel

__all__ = ["KERNEL_ENV", "active_kernel", "requested_kernel", "tile_matvec"]


def tile_matvec(
    x,
    levels_pos,
    levels_neg,
    *,
    input_bits: int,
    cell_bits: int,
    adc_bits: int | None,
    adc_shift: int,
    noise=None,
    signed_inputs: bool = False,
) -> np.ndarray:
    """The tile contract of ``docs/semantics.md``; see ``reference.tile_matvec``.  Tiles with
    signed (two's-complement) inputs run on the numpy reference: the C kernel has no sign."""
    if signed_inputs:
        from spintron_nn.backends.sim import reference

        return reference.tile_matvec(x, levels_pos, levels_neg, input_bits=input_bits, cell_bits=cell_bits,
                                     adc_bits=adc_bits, adc_shift=adc_shift, noise=noise, signed_inputs=True)
    if active_kernel() == "c":
        implementation = kernel
    else:
        from spintron_nn.backends.sim import reference as implementation
    return implementation.tile_matvec(
        x, levels_pos, levels_neg,
        input_bits=input_bits, cell_bits=cell_bits,
        adc_bits=adc_bits, adc_shift=adc_shift, noise=noise,
    )
