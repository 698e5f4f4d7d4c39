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
    """The tile contract of ``docs/semantics.md``; see ``reference.tile_matvec``.

    Signed (two's-complement) inputs: the C kernel has no sign, but every bit plane is
    converted on its own, so the signed result is the unsigned one minus twice the top
    plane's share, which a one-bit call of the same tile gives with the same ADC codes.
    That holds while the reads are a function of the cells alone; read noise is
    numbered by bit plane (section 10), so with it the numpy reference runs instead."""
    if signed_inputs:
        from spintron_nn.backends.sim import reference

        if active_kernel() != "c" or (noise is not None and noise.read_noise_q16):
            return reference.tile_matvec(x, levels_pos, levels_neg, input_bits=input_bits, cell_bits=cell_bits,
                                         adc_bits=adc_bits, adc_shift=adc_shift, noise=noise, signed_inputs=True)
        options = dict(cell_bits=cell_bits, adc_bits=adc_bits, adc_shift=adc_shift, noise=noise)
        codes = np.asarray(x)
        top = input_bits - 1
        unsigned = kernel.tile_matvec(codes, levels_pos, levels_neg, input_bits=input_bits, **options)
        top_plane = kernel.tile_matvec((codes >> top) & 1, levels_pos, levels_neg, input_bits=1, **options)
        return unsigned - (top_plane << np.int64(top + 1))
    if active_kernel() == "c":
        implementation = kernel
    else:
        from spintron_nn.backends.sim import reference as implementation
    return implementation.tile_matvec(
        x, levels_pos, levels_neg,
        input_bits=input_bits, cell_bits=cell_bits,
        adc_bits=adc_bits, adc_shift=adc_shift, noise=noise,
    )
