"""Loader and Python face of the C crossbar kernel (``spintron_nn.runtime._crossbar``).

The extension is optional: a machine without a C compiler installs the package
without it and ``backends/sim/dispatch.py`` falls back to the numpy reference.
:func:`tile_matvec` here has the signature and results of
``backends/sim/reference.tile_matvec`` (the contract of ``docs/semantics.md``).

The kernel checks the parameters itself and the data (activation range, level
range) in C while it packs them, so a call does not pay for extra numpy passes.
Environment:

* ``SPINTRON_KERNEL_ISA=auto|avx512-vnni|avx2|portable`` picks the micro-kernel
  (default: the best the CPU runs).
* ``SPINTRON_THREADS`` (else ``OMP_NUM_THREADS``) sets the default thread count,
  else the CPUs this process may run on; :func:`set_threads` overrides it.
"""

from __future__ import annotations

import contextlib
import importlib
import os

import numpy as np

from spintron_nn.errors import SpintronError
from spintron_nn.runtime.tile_args import check_tile_parameters

KERNEL_ENV = "SPINTRON_KERNEL"
KERNEL_CHOICES = ("auto", "c", "numpy")
ISA_ENV = "SPINTRON_KERNEL_ISA"
THREADS_ENVS = ("SPINTRON_THREADS", "OMP_NUM_THREADS")
#: Fraction bits of the noisy currents (``backends/sim/noise.py``: ``Q``).
NOISE_Q = 16
#: Largest left shift of the int64 shift-add.
MAX_OUTPUT_SHIFT = 62
#: The int8 micro-kernels add currents in int32: taller tiles take the int64 path.
MAX_INT32_CURRENT = 2**30

_module = None
_load_error: str | None = None
_isa_error: str | None = None
_tried = False
_threads = 0  # 0 = default_threads()


def _load():
    global _module, _load_error, _isa_error, _tried
    if not _tried:
        _tried = True
        try:
            _module = importlib.import_module("spintron_nn.runtime._crossbar")
        except ImportError as error:
            _load_error = str(error)
        else:
            isa = os.environ.get(ISA_ENV, "auto").strip().lower() or "auto"
            try:
                _module.select_isa(isa)
            except ValueError as error:
                _isa_error = f"{ISA_ENV}={isa}: {error}"
    return _module


def is_built() -> bool:
    """True if the compiled extension imports."""
    return _load() is not None


def load_error() -> str:
    """Why the extension is unavailable (empty if it loaded)."""
    _load()
    return _load_error or ""


def requested_kernel() -> str:
    """The value of ``SPINTRON_KERNEL`` (``auto`` when unset), validated."""
    value = os.environ.get(KERNEL_ENV, "auto").strip().lower() or "auto"
    if value not in KERNEL_CHOICES:
        raise SpintronError(f"{KERNEL_ENV}={value!r} is not one of {', '.join(KERNEL_CHOICES)}")
    return value


def active_kernel() -> str:
    """``"c"`` or ``"numpy"``: what ``SPINTRON_KERNEL`` and the build select now.

    Read on every call (a dictionary lookup) so that tests and tools can switch
    without reloading modules.
    """
    requested = requested_kernel()
    if requested == "numpy":
        return "numpy"
    if is_built() and _isa_error:
        raise SpintronError(_isa_error)
    if is_built():
        return "c"
    if requested == "c":
        raise SpintronError(
            f"{KERNEL_ENV}=c but the C kernel is not available ({load_error()}); "
            f"reinstall with a C compiler (pip install -e .) or set {KERNEL_ENV}=numpy")
    return "numpy"


def _built_module():
    module = _load()
    if module is None:
        raise SpintronError(f"the C crossbar kernel is not available: {_load_error}")
    if _isa_error:
        raise SpintronError(_isa_error)
    return module


def isa() -> str:
    """The micro-kernel in use: ``avx512-vnni``, ``avx2`` or ``portable``."""
    return _built_module().isa()


def supported_isas() -> list[str]:
    """Micro-kernels this CPU can run, best first."""
    return _built_module().supported_isas()


@contextlib.contextmanager
def use_isa(name: str):
    """Run the block with micro-kernel ``name`` (tests and benchmarks compare them)."""
    module = _built_module()
    previous = module.isa()
    module.select_isa(name)
    try:
        yield
    finally:
        module.select_isa(previous)


def default_threads() -> int:
    """``SPINTRON_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs available to us."""
    for name in THREADS_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                count = int(value.split(",")[0])
            except ValueError:
                raise SpintronError(f"{name}={value!r} is not a thread count") from None
            if count < 1:
                raise SpintronError(f"{name}={value!r} must be at least 1")
            return count
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads() -> int:
    """Threads one kernel call may use (small calls use fewer)."""
    if not _built_module().has_threads():
        return 1
    return _threads or default_threads()


def set_threads(count: int) -> None:
    """Threads per kernel call; 0 restores :func:`default_threads`."""
    global _threads
    if count < 0:
        raise SpintronError(f"thread count must be >= 0, got {count}")
    _threads = count


def _check_parameters(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift):
    check_tile_parameters(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift)
    if not (np.issubdtype(levels_pos.dtype, np.integer)
            and np.issubdtype(levels_neg.dtype, np.integer)):
        raise SpintronError("levels must be integers")
    slices = levels_pos.shape[0]
    if slices and adc_shift + input_bits - 1 + (slices - 1) * cell_bits > MAX_OUTPUT_SHIFT:
        raise SpintronError(f"shift-add of {slices} slices x {input_bits} input bits "
                            f"overflows int64")


def _as_levels(levels: np.ndarray, cell_bits: int) -> np.ndarray:
    """uint8 C-contiguous levels; values the cast would wrap are refused first."""
    if levels.dtype != np.uint8:
        if levels.size and (int(levels.min()) < 0 or int(levels.max()) >= 2**cell_bits):
            raise SpintronError(f"levels must be in 0..2**{cell_bits}-1")
        levels = levels.astype(np.uint8)
    return np.ascontiguousarray(levels)


def _noise_arguments(noise) -> tuple[int, ...] | None:
    """The integers of a ``NoiseSpec`` the C code needs, or None if it is off."""
    if noise is None or noise.is_off:
        return None
    stuck_zero, stuck_one = noise.stuck_thresholds
    return (1, int(noise.seed), int(noise.tile_id), int(noise.sample_offset),
            int(noise.conductance_variation_q16), int(noise.read_noise_q16),
            int(stuck_zero), int(stuck_one))


def tile_matvec(x, levels_pos, levels_neg, *, input_bits: int, cell_bits: int,
                adc_bits: int | None, adc_shift: int, noise=None) -> np.ndarray:
    """The tile contract computed by the C kernel (see ``reference.tile_matvec``)."""
    module = _built_module()
    x = np.asarray(x)
    levels_pos = np.asarray(levels_pos)
    levels_neg = np.asarray(levels_neg)
    _check_parameters(x, levels_pos, levels_neg, input_bits, cell_bits, adc_bits, adc_shift)
    levels_pos = _as_levels(levels_pos, cell_bits)
    levels_neg = _as_levels(levels_neg, cell_bits)
    x = np.ascontiguousarray(x)
    if x.dtype.byteorder not in "=|":
        x = x.astype(x.dtype.newbyteorder("="))
    slices, rows, cols = levels_pos.shape
    batch = x.shape[0]
    out = np.empty((batch, cols), dtype=np.int64)
    noise_arguments = _noise_arguments(noise)
    try:
        if noise_arguments is None and rows * (2**cell_bits - 1) < MAX_INT32_CURRENT:
            packed = module.pack(levels_pos, levels_neg, slices, rows, cols, cell_bits)
            module.matvec(x, x.itemsize, int(np.issubdtype(x.dtype, np.signedinteger)), batch,
                          packed, module.isa(), slices, rows, cols, cell_bits, input_bits,
                          adc_bits or 0, adc_shift, out, threads())
        else:
            module.matvec_wide(x, x.itemsize, int(np.issubdtype(x.dtype, np.signedinteger)),
                               batch, levels_pos, levels_neg, slices, rows, cols, cell_bits,
                               input_bits, adc_bits or 0, adc_shift,
                               noise_arguments or (0, 0, 0, 0, 0, 0, 0, 0), out, threads())
    except ValueError as error:
        raise SpintronError(str(error)) from None
    return out
