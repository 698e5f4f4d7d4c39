"""Loader of the C crossbar kernel (``spintron_nn.runtime._crossbar``).

The extension is optional: a machine without a C compiler installs the package
without it and the simulator falls back to the numpy reference.  This module
only finds out whether it is there; ``backends/sim/dispatch.py`` decides.
"""

from __future__ import annotations

import importlib

_module = None
_load_error: str | None = None
_tried = False


def _load():
    global _module, _load_error, _tried
    if not _tried:
        _tried = True
        try:
            _module = importlib.import_module("spintron_nn.runtime._crossbar")
        except ImportError as error:
            _load_error = str(error)
    return _module


def is_built() -> bool:
    """True if the compiled extension imports."""
    return _load() is not None


def load_error() -> str:
    """Why the extension is unavailable (empty if it loaded)."""
    _load()
    return _load_error or ""


def tile_matvec(x, levels_pos, levels_neg, *, input_bits, cell_bits, adc_bits, adc_shift, noise=None):
    """The tile contract, computed by the C kernel."""
    raise NotImplementedError("C kernel not built yet")
