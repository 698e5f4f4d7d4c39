"""Quantization arithmetic of ``docs/semantics.md`` (sections 1, 2, 7-9).

Float appears only where a real number becomes an integer for good: choosing
scales and zero points, quantizing weights and inputs, building LUTs and
requant multipliers.  Everything that runs per inference afterwards
(:func:`requantize`, :func:`quantized_add`, :func:`round_shift_half_up`) is
integer arithmetic in int64, so the C kernel and the Verilog can repeat it bit
for bit.

Rounding rules (one per place, said once here and in the doc):

* float -> integer: round half to even (``np.rint``), as ONNX QuantizeLinear.
* integer right shifts (ADC, requant, add): round half up, ``(v + 2**(n-1)) >> n``
  with an arithmetic (flooring) shift.

Every scale returned here is a float32 value held in a Python float, so that a
consumer that stores it as ``f32`` in the IR gets back exactly the same number.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from spintron_nn.errors import SpintronError

#: Requant multipliers are 31-bit: ``2**30 <= multiplier < 2**31`` (or 0).
MULTIPLIER_BITS = 31
#: Largest right shift of a requant; below ``2**-MAX_SHIFT`` a multiplier is 0.
MAX_SHIFT = 62
#: ``requantize`` needs ``|acc| < 2**31`` so that ``acc * multiplier + round``
#: cannot overflow int64 (the TFLite int32-accumulator contract).
ACC_LIMIT = 2**31


def _float32(value: float) -> float:
    return float(np.float32(value))


def _check_bits(bits: int, low: int, high: int, what: str) -> None:
    if not isinstance(bits, (int, np.integer)) or not low <= bits <= high:
        raise SpintronError(f"{what} must be an integer in {low}..{high}, got {bits!r}")


def round_shift_half_up(value, shift):
    """``round(value / 2**shift)``, ties towards +inf, for integer ``value``.

    ``shift`` may be an array (per channel); ``shift == 0`` returns ``value``.
    This is the one integer rounding rule of the semantics (ADC and requant).
    """
    value = np.asarray(value, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    if np.any(shift < 0) or np.any(shift > MAX_SHIFT):
        raise SpintronError(f"right shift must be in 0..{MAX_SHIFT}")
    half = np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)
    return np.right_shift(value + half, shift)


# --- weights (doc section 1) -------------------------------------------------


def quantize_weights_per_channel(w, bits: int, *, axis: int = 0):
    """Symmetric signed per-output-channel quantization.

    ``axis`` is the output-channel axis: 0 for ONNX Conv ``[O, I, kh, kw]`` and
    Gemm with ``trans_b=1``; 1 for a ``[K, N]`` MatMul weight.
    ``scale[o] = max|w[o]| / (2**(bits-1) - 1)`` (float32), ``w_int =
    rint(w / scale)`` (half to even), in ``[-(2**(bits-1)-1), 2**(bits-1)-1]``;
    an all-zero channel gets scale 1.0 and zeros.
    Returns ``(w_int int64 of w's shape, scales float64 of shape [channels])``.
    """
    _check_bits(bits, 2, 16, "weight bits")
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise SpintronError("weights contain NaN or infinity")
    qmax = 2 ** (bits - 1) - 1
    moved = np.moveaxis(w, axis, 0)
    peak = np.max(np.abs(moved.reshape(moved.shape[0], -1)), axis=1, initial=0.0)
    scales = np.where(peak > 0, peak / qmax, 1.0).astype(np.float32).astype(np.float64)
    shape = [1] * w.ndim
    shape[axis] = -1
    w_int = np.clip(np.rint(w / scales.reshape(shape)), -qmax, qmax).astype(np.int64)
    return w_int, scales


def fit_bias(w_int, w_scale, bias, x_scale: float, *, axis: int, weight_bits: int, input_bits: int):
    """``(w_int, scale, bias_int)`` of a layer: ``bias_int = rint(b / (s_x * scale))``.

    The accumulator must stay below ``ACC_LIMIT`` (section 7):
    ``|bias_int| + K * qmax_w * qmax_x`` bounds it, ``K`` the channel's inputs.
    A channel whose bias code leaves no room for that (a unit weight decay
    switched off: weights many orders below its bias give a fine scale and a
    huge bias code) gets the coarsest scale that fits,
    ``float32(|b| / (s_x * headroom))`` rounded up, and its codes re-rounded,
    ``rint(w_int * scale / scale')``.  Every other channel is untouched, so
    layers that compiled before compile to the same integers.  ``axis`` is the
    output-channel axis of ``w_int``.
    """
    scale = np.asarray(w_scale, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    w_int = np.asarray(w_int)
    inputs = w_int.size // max(w_int.shape[axis], 1)
    headroom = ACC_LIMIT - 1 - inputs * (2 ** (weight_bits - 1) - 1) * (2**input_bits - 1)
    bias_int = np.rint(bias / (x_scale * scale))
    wide = np.abs(bias_int) > headroom
    if headroom > 0 and np.any(wide):
        # float32 like every scale, nudged up so the bias code stays within the headroom
        floor = (np.abs(bias) / (x_scale * headroom) * (1 + 2.0**-20)).astype(np.float32).astype(np.float64)
        coarse = np.where(wide, floor, scale)
        shape = [1] * w_int.ndim
        shape[axis] = -1
        w_int = np.rint(w_int * (scale / coarse).reshape(shape)).astype(np.int64)
        scale = coarse
        bias_int = np.rint(bias / (x_scale * scale))
    return w_int, scale, bias_int.astype(np.int64)


# --- activations (doc section 2) ----------------------------------------------


def activation_quant_params(lo: float, hi: float, bits: int) -> tuple[float, int]:
    """Per-tensor affine unsigned parameters ``(scale, zero_point)``.

    The range is widened to include 0 (so that 0.0, i.e. padding and ReLU's
    floor, is exactly representable); ``scale = (hi - lo) / (2**bits - 1)``
    rounded to float32, ``zero_point = rint(-lo / scale)`` clamped to the
    range.  An empty range (``lo == hi == 0``) gives ``(1.0, 0)``.
    """
    _check_bits(bits, 1, 16, "activation bits")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise SpintronError(f"invalid activation range [{lo}, {hi}]")
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmax = 2**bits - 1
    if hi == lo:
        return 1.0, 0
    scale = _float32((hi - lo) / qmax)
    if scale == 0.0:  # a range below float32's smallest normal step
        scale = float(np.finfo(np.float32).tiny)
    zero_point = int(np.clip(np.rint(-lo / scale), 0, qmax))
    return scale, zero_point


def quantize_activations(x, scale: float, zero_point: int, bits: int) -> np.ndarray:
    """``clamp(rint(x / scale) + zero_point, 0, 2**bits - 1)`` as int64."""
    x = np.asarray(x, dtype=np.float64)
    q = np.rint(x / scale) + zero_point
    return np.clip(np.nan_to_num(q, nan=zero_point), 0, 2**bits - 1).astype(np.int64)


def dequantize(q, scale, zero_point) -> np.ndarray:
    """``scale * (q - zero_point)`` in float64 (scale/zero point may broadcast)."""
    q = np.asarray(q, dtype=np.int64)
    return np.asarray(scale, dtype=np.float64) * (q - np.asarray(zero_point, dtype=np.int64))


# --- requant (doc section 7) --------------------------------------------------


def requant_multiplier(real: float) -> tuple[int, int]:
    """Integer ``(multiplier, shift)`` with ``real ~= multiplier * 2**-shift``.

    ``real = m * 2**e`` with ``0.5 <= m < 1`` (``math.frexp``); ``multiplier =
    rint(m * 2**31)`` (a carry to ``2**31`` renormalises to ``2**30, e + 1``),
    ``shift = 31 - e``.  Shifts above 62 keep ``shift = 62`` and round the
    multiplier down to fit (it may become 0).  ``real == 0`` gives ``(0, 0)``.
    """
    real = float(real)
    if not math.isfinite(real) or real < 0:
        raise SpintronError(f"requant multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    mantissa, exponent = math.frexp(real)
    multiplier = int(np.rint(mantissa * 2**MULTIPLIER_BITS))
    if multiplier == 2**MULTIPLIER_BITS:
        multiplier, exponent = 2 ** (MULTIPLIER_BITS - 1), exponent + 1
    shift = MULTIPLIER_BITS - exponent
    if shift < 0:
        raise SpintronError(f"requant multiplier {real} is too large (>= 2**31)")
    if shift > MAX_SHIFT:
        excess = shift - MAX_SHIFT
        multiplier = int(round_shift_half_up(multiplier, min(excess, MAX_SHIFT)))  # 0 beyond
        shift = MAX_SHIFT
    return multiplier, shift


def requantize(acc, multiplier, shift, zero_point: int, qmin: int, qmax: int) -> np.ndarray:
    """``clamp(zero_point + round_half_up(acc * multiplier / 2**shift), qmin, qmax)``.

    ``multiplier``/``shift`` broadcast against ``acc`` (per channel = last axis).
    The product is int64; ``|acc|`` must stay below ``2**31``.
    """
    acc = np.asarray(acc, dtype=np.int64)
    if acc.size and int(np.max(np.abs(acc))) >= ACC_LIMIT:
        raise SpintronError(
            f"accumulator magnitude {int(np.max(np.abs(acc)))} exceeds 2**31: "
            "requant would overflow int64 (fewer rows per layer or fewer bits)"
        )
    scaled = round_shift_half_up(acc * np.asarray(multiplier, dtype=np.int64), shift)
    return np.clip(scaled + zero_point, qmin, qmax)


def fused_clamp_bounds(clamp_min, clamp_max, scale: float, zero_point: int, bits: int):
    """Integer ``(qmin, qmax)`` for an output clamp fused into requant.

    ``None`` means unbounded.  ``q(v) = clamp(zero_point + rint(v / scale), 0,
    2**bits - 1)``; ReLU (``clamp_min = 0``) gives ``qmin = zero_point`` exactly.
    """
    qmin, qmax = 0, 2**bits - 1
    if clamp_min is not None:
        qmin = int(np.clip(zero_point + np.rint(clamp_min / scale), 0, 2**bits - 1))
    if clamp_max is not None:
        qmax = int(np.clip(zero_point + np.rint(clamp_max / scale), 0, 2**bits - 1))
    if qmin > qmax:
        raise SpintronError(f"fused clamp [{clamp_min}, {clamp_max}] is empty")
    return qmin, qmax


# --- digital ops (doc section 9) ---------------------------------------------


def add_multipliers(scale_a: float, scale_b: float, scale_out: float) -> tuple[int, int, int]:
    """``(multiplier_a, multiplier_b, shift)`` for a residual add.

    Both ratios share one shift: the larger ratio gets a full 31-bit
    multiplier from :func:`requant_multiplier`, the smaller one
    ``rint(ratio * 2**shift)`` with the same shift.
    """
    ratio_a, ratio_b = scale_a / scale_out, scale_b / scale_out
    multiplier, shift = requant_multiplier(max(ratio_a, ratio_b))
    other = int(np.rint(min(ratio_a, ratio_b) * 2.0**shift))
    if ratio_a >= ratio_b:
        return multiplier, other, shift
    return other, multiplier, shift


def quantized_add(a, zero_point_a, b, zero_point_b, multiplier_a, multiplier_b, shift,
                  zero_point_out: int, qmin: int, qmax: int) -> np.ndarray:
    """``clamp(zp_out + round_half_up(((a-zp_a)*m_a + (b-zp_b)*m_b) / 2**shift))``."""
    a = np.asarray(a, dtype=np.int64) - zero_point_a
    b = np.asarray(b, dtype=np.int64) - zero_point_b
    total = a * np.int64(multiplier_a) + b * np.int64(multiplier_b)
    return np.clip(round_shift_half_up(total, shift) + zero_point_out, qmin, qmax)


def lut_table(function: Callable[[np.ndarray], np.ndarray], in_scale: float, in_zero_point: int,
              out_scale: float, out_zero_point: int, bits: int, in_bits: int | None = None) -> np.ndarray:
    """The int64 table ``T[q] = quantize(function(dequantize(q)))`` for every input code
    (``in_bits`` wide, default ``bits``: the network's inputs may be wider than its activations).

    Sigmoid/tanh run as ``y = T[q]``: float64 is used once, to build the table.
    """
    codes = np.arange(2 ** (bits if in_bits is None else in_bits), dtype=np.int64)
    real = function(dequantize(codes, in_scale, in_zero_point))
    return quantize_activations(real, out_scale, out_zero_point, bits)
