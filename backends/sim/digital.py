"""Numpy kernels of the digital ``spin`` ops that are not in quant_math.

Integer in, integer out (int64 internally); the rounding rule of every
average is quant_math's round half up.  ``im2col`` is shared with
``lower-to-spin``, which turns calibration samples into crossbar rows.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from spintron_nn.backends.sim.quant_math import dequantize, quantize_activations, round_shift_half_up


def _padded(x: np.ndarray, pads, value) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _windows(x: np.ndarray, kernel, strides, dilations) -> np.ndarray:
    """[B, C, OH, OW, KH, KW] view of the windows of a padded NCHW array."""
    kh, kw = kernel
    span_h = dilations[0] * (kh - 1) + 1
    span_w = dilations[1] * (kw - 1) + 1
    view = sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    return view[:, :, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]


def im2col(x: np.ndarray, kernel, pads, strides, dilations, channel_offset: int, channels: int,
           pad_value: int) -> np.ndarray:
    """[B, C, H, W] -> [B*OH*OW, channels*KH*KW], columns in (c, kh, kw) order."""
    x = x[:, channel_offset : channel_offset + channels]
    windows = _windows(_padded(x, pads, pad_value), kernel, strides, dilations)
    b, c, oh, ow, kh, kw = windows.shape
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(b * oh * ow, c * kh * kw)


def rows_to_image(rows: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    m, n = rows.shape
    return np.ascontiguousarray(rows.reshape(m // (out_h * out_w), out_h, out_w, n).transpose(0, 3, 1, 2))


def max_pool(x: np.ndarray, kernel, pads, strides) -> np.ndarray:
    # Padding is the dtype's minimum, so it never wins the max.
    x = x.astype(np.int64)
    windows = _windows(_padded(x, pads, np.iinfo(np.int64).min), kernel, strides, (1, 1))
    return windows.max(axis=(4, 5))


def _divide_half_up(total: np.ndarray, count: np.ndarray | int) -> np.ndarray:
    """round(total / count) with ties up, for non-negative integer totals."""
    count = np.asarray(count, dtype=np.int64)
    return (2 * total + count) // (2 * count)


def avg_pool(x: np.ndarray, kernel, pads, strides, count_include_pad: bool, pad_value: int) -> np.ndarray:
    x = x.astype(np.int64)
    sums = _windows(_padded(x, pads, pad_value), kernel, strides, (1, 1)).sum(axis=(4, 5))
    if count_include_pad:
        count = np.int64(kernel[0] * kernel[1])
    else:
        ones = np.ones((1, 1) + x.shape[2:], dtype=np.int64)
        count = _windows(_padded(ones, pads, 0), kernel, strides, (1, 1)).sum(axis=(4, 5))
        sums = sums - pad_value * (kernel[0] * kernel[1] - count)  # padding cells do not count
    return _divide_half_up(sums, count)


def global_avg_pool(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    total = x.sum(axis=(2, 3), keepdims=True)
    return _divide_half_up(total, x.shape[2] * x.shape[3])


def global_max_pool(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64).max(axis=(2, 3), keepdims=True)


def rescale(q: np.ndarray, input_zero_point: int, multiplier: int, shift: int, zero_point: int,
            bits: int) -> np.ndarray:
    scaled = round_shift_half_up((q.astype(np.int64) - input_zero_point) * np.int64(multiplier), shift)
    return np.clip(scaled + zero_point, 0, 2**bits - 1)


def softmax_codes(q: np.ndarray, axis: int, log: bool, input_scale: float, input_zero_point: int,
                  scale: float, zero_point: int, bits: int) -> np.ndarray:
    """(Log-)softmax of the dequantized codes in float64, quantized half to even."""
    real = dequantize(q, input_scale, input_zero_point)
    shifted = real - real.max(axis=axis, keepdims=True)
    total = np.exp(shifted).sum(axis=axis, keepdims=True)
    result = shifted - np.log(total) if log else np.exp(shifted) / total
    return quantize_activations(result, scale, zero_point, bits)


def multiply(a: np.ndarray, lhs_zero_point: int, b: np.ndarray, rhs_zero_point: int, multiplier: int,
             shift: int, zero_point: int, clamp_min: int, clamp_max: int) -> np.ndarray:
    """``clamp(round_half_up((a-za)*(b-zb)*m / 2**shift) + zp)``: |product| < 2**16, times m < 2**31."""
    product = (a.astype(np.int64) - lhs_zero_point) * (b.astype(np.int64) - rhs_zero_point)
    return np.clip(round_shift_half_up(product * np.int64(multiplier), shift) + zero_point, clamp_min, clamp_max)


def lookup(table: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``table[q]``, or ``table[c, q]`` per channel (axis 1) for a 2-D table."""
    if table.ndim == 1:
        return table[q]
    channels = np.arange(table.shape[0]).reshape((1, -1) + (1,) * (q.ndim - 2))
    return table[channels, q]
