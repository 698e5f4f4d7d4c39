"""ONNX Cast on numpy arrays, for every element type the ``nn`` dialect carries.

numpy's ``astype`` is ONNX's rule for most pairs (float -> int truncates
toward zero, int -> narrower int wraps); the exceptions are handled here:

* float8 targets with ``saturate`` (ONNX's default): values beyond the
  largest finite value, infinities included, clamp to it instead of becoming
  inf/NaN (onnx's reference ``saturate_cast``);
* float8e8m0 (a power of two): ONNX's default ``round_mode = "up"`` rounds any
  value with a fraction to the next power, saturating at the largest one;
* bool targets: nonzero is true (NaN included).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from spintron_nn.ir import dtypes

_SATURATING = {
    np.dtype(t)
    for t in (
        ml_dtypes.float8_e4m3fn,
        ml_dtypes.float8_e4m3fnuz,
        ml_dtypes.float8_e5m2,
        ml_dtypes.float8_e5m2fnuz,
    )
}
_E8M0 = np.dtype(ml_dtypes.float8_e8m0fnu)


def cast_array(x: np.ndarray, to: np.dtype, *, saturate: bool = True) -> np.ndarray:
    to = np.dtype(to)
    if to == np.bool_:
        return x != np.zeros((), x.dtype)
    if x.dtype in dtypes.EXTENSION_DTYPES.values() or x.dtype == np.float16:
        if to in dtypes.EXTENSION_DTYPES.values():
            # ml_dtypes converts between its own types through float32
            x = x.astype(np.float32)
    if to == _E8M0:
        return _to_e8m0(x, saturate)
    if to in _SATURATING and saturate and not dtypes.is_integer_dtype(x.dtype):
        info = ml_dtypes.finfo(to)
        x = np.clip(x.astype(np.float32), np.float32(info.min), np.float32(info.max))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is the rule
        return x.astype(to)


def _to_e8m0(x: np.ndarray, saturate: bool) -> np.ndarray:
    """Round up to a power of two: the float32 exponent, plus one if any
    mantissa bit is set (NaN and inf become the NaN encoding 0xFF)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32)
    exponent = ((bits >> 23) & 0xFF).astype(np.uint16)
    special = exponent == 0xFF
    round_up = ((bits & 0x7FFFFF) > 0) & ~special
    if saturate:
        round_up &= exponent != 0xFE  # never past the largest power
    exponent = exponent + round_up.astype(np.uint16)
    exponent[special] = 0xFF
    return exponent.astype(np.uint8).view(_E8M0)
