"""Which implementation of the tile contract runs: the C kernel or the numpy reference.

Everything outside ``runtime/`` calls :func:`tile_matvec` from here, never the C
module directly, so that one environment variable switches every caller:

* ``SPINTRON_KERNEL=c``     the C kernel; an error if it was not built.
* ``SPINTRON_KERNEL=numpy`` the numpy reference (``backends/sim/reference.py``).
* unset / ``auto``          the C kernel when built, else the reference.

The variable is read on every call (a dictionary lookup) so tests and tools can
change it without reloading modules.
"""

from __future__ import annotations

import os

import numpy as np

from spintron_nn.errors import SpintronError

KERNEL_ENV = "SPINTRON_KERNEL"
_CHOICES = ("auto", "c", "numpy")


def requested_kernel() -> str:
    """The value of ``SPINTRON_KERNEL`` (``auto`` when unset), validated."""
    value = os.environ.get(KERNEL_ENV, "auto").strip().lower() or "auto"
    if value not in _CHOICES:
        raise SpintronError(
            f"{KERNEL_ENV}={value!r} is not one of {', '.join(_CHOICES)}"
        )
    return value


def active_kernel() -> str:
    """``"c"`` or ``"numpy"``: the implementation :func:`tile_matvec` uses now."""
    from spintron_nn.runtime import kernel

    requested = requested_kernel()
    if requested == "numpy":
        return "numpy"
    if kernel.is_built():
        return "c"
    if requested == "c":
        raise SpintronError(
            f"{KERNEL_ENV}=c but the C kernel is not built ({kernel.load_error()}); "
            "reinstall with a C compiler (pip install -e .) or set "
            f"{KERNEL_ENV}=numpy"
        )
    return "numpy"


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
) -> np.ndarray:
    """The tile contract of ``docs/semantics.md``; see ``reference.tile_matvec``."""
    if active_kernel() == "c":
        from spintron_nn.runtime import kernel as implementation
    else:
        from spintron_nn.backends.sim import reference as implementation
    return implementation.tile_matvec(
        x, levels_pos, levels_neg,
        input_bits=input_bits, cell_bits=cell_bits,
        adc_bits=adc_bits, adc_shift=adc_shift, noise=noise,
    )
