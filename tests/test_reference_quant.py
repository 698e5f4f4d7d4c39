"""Quantization arithmetic (docs/semantics.md sections 1, 2, 7, 9) against exact rationals.

Oracle: Python's fractions.Fraction (exact rational arithmetic) and the
doc's definitions written out per element.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from spintron_nn.backends.sim import reference as ref
from spintron_nn.errors import SpintronError


def floor_half_up(value: Fraction) -> int:
    """Round half up of an exact rational."""
    return math.floor(value + Fraction(1, 2))


def test_requant_multiplier_is_within_its_31_bit_precision():
    rng = np.random.default_rng(21)
    reals = np.concatenate([10.0 ** rng.uniform(-9, 4, 400), [1.0, 0.5, 0.25, 2.0**-30, 0.75]])
    for real in reals:
        multiplier, shift = ref.requant_multiplier(float(real))
        assert 2**30 <= multiplier < 2**31 and 0 <= shift <= 62
        exact = Fraction(float(real))
        approx = Fraction(multiplier, 2**shift)
        # rint(m * 2**31) is off by at most half a unit of 2**-31 relative to m >= 1/2
        assert abs(approx - exact) <= exact * Fraction(1, 2**31)


def test_requant_multiplier_edges():
    assert ref.requant_multiplier(0.0) == (0, 0)
    assert ref.requant_multiplier(1.0) == (2**30, 30)
    # a mantissa that rounds up to 2**31 renormalises
    assert ref.requant_multiplier(1.0 - 2.0**-40) == (2**30, 30)
    # below 2**-32 the shift stops at 62 and the multiplier loses bits, then vanishes
    assert ref.requant_multiplier(2.0**-40) == (2**22, 62)
    assert ref.requant_multiplier(2.0**-80) == (0, 62)
    for bad in (-1.0, float("nan"), float("inf"), 2.0**31):
        with pytest.raises(SpintronError):
            ref.requant_multiplier(bad)


def test_requantize_equals_exact_rational_rounding():
    rng = np.random.default_rng(22)
    for _ in range(60):
        real = float(10.0 ** rng.uniform(-6, 0.5))
        multiplier, shift = ref.requant_multiplier(real)
        acc = rng.integers(-(2**31) + 1, 2**31, size=50)
        acc[:3] = [0, 2**31 - 1, -(2**31) + 1]
        zero_point = int(rng.integers(0, 256))
        got = ref.requantize(acc, multiplier, shift, zero_point, 0, 255)
        expected = [min(255, max(0, zero_point + floor_half_up(Fraction(int(a) * multiplier, 2**shift))))
                     for a in acc]
        assert got.tolist() == expected


def test_requantize_per_channel_and_overflow_guard():
    multipliers, shifts = zip(*(ref.requant_multiplier(r) for r in (0.5, 0.01, 3.0)))
    acc = np.array([[7, 1000, -3]])
    expected = [floor_half_up(Fraction(7 * multipliers[0], 2 ** shifts[0])),
                floor_half_up(Fraction(1000 * multipliers[1], 2 ** shifts[1])),
                floor_half_up(Fraction(-3 * multipliers[2], 2 ** shifts[2]))]
    got = ref.requantize(acc, np.array(multipliers), np.array(shifts), 0, -1000, 1000)
    assert got.tolist() == [expected]
    with pytest.raises(SpintronError):
        ref.requantize(np.array([2**31]), 2**30, 30, 0, 0, 255)


def test_weight_quantization_per_channel():
    rng = np.random.default_rng(23)
    for bits in range(2, 9):
        w = rng.normal(0, rng.uniform(0.01, 2), size=(6, 3, 3, 2)).astype(np.float32)
        w[2] = 0.0
        w_int, scales = ref.quantize_weights_per_channel(w, bits, axis=0)
        qmax = 2 ** (bits - 1) - 1
        assert w_int.dtype == np.int64 and scales.shape == (6,)
        assert np.all(np.abs(w_int) <= qmax)
        assert scales[2] == 1.0 and not w_int[2].any()
        for o in (0, 1, 3, 4, 5):
            assert scales[o] == np.float32(scales[o])  # a float32 value
            peak = np.abs(w[o]).max()
            assert np.abs(w_int[o]).max() == qmax  # the largest weight uses the full grid
            assert np.all(np.abs(w[o] - scales[o] * w_int[o]) <= scales[o] / 2 + 1e-7 * peak)


def test_weight_quantization_axis_one_and_half_to_even():
    w = np.array([[0.7, 2.5], [-0.7, -1.5], [0.1, 7.0]])  # [K, N], channels on axis 1
    w_int, scales = ref.quantize_weights_per_channel(w, 4, axis=1)
    assert scales.tolist() == [pytest.approx(0.1), 1.0]
    assert w_int[:, 1].tolist() == [2, -2, 7]  # 2.5 -> 2 and -1.5 -> -2: ties to even


def test_activation_quant_params_represent_zero_exactly():
    rng = np.random.default_rng(24)
    for _ in range(200):
        bits = int(rng.integers(1, 9))
        lo, hi = sorted(rng.normal(0, 3, size=2))
        scale, zero_point = ref.activation_quant_params(lo, hi, bits)
        assert 0 <= zero_point <= 2**bits - 1 and scale > 0 and scale == np.float32(scale)
        assert ref.quantize_activations(0.0, scale, zero_point, bits) == zero_point
        assert ref.dequantize(zero_point, scale, zero_point) == 0.0
        # every value of the (zero-widened) range lands within half a step
        x = rng.uniform(min(lo, 0), max(hi, 0), size=64)
        q = ref.quantize_activations(x, scale, zero_point, bits)
        err = np.abs(ref.dequantize(q, scale, zero_point) - x)
        assert np.all(err <= scale * (0.5 + 1e-6) + abs(zero_point - (-min(lo, 0) / scale)) * scale)
    assert ref.activation_quant_params(0.0, 0.0, 8) == (1.0, 0)
    assert ref.activation_quant_params(0.0, 2.55, 8) == (pytest.approx(0.01), 0)


def test_quantize_activations_rounds_half_to_even_and_clamps():
    q = ref.quantize_activations([0.5, 1.5, 2.5, -7.0, 1e9, float("nan")], 1.0, 3, 4)
    assert q.tolist() == [3, 5, 5, 0, 15, 3]


def test_fused_clamp_bounds():
    scale, zero_point = ref.activation_quant_params(-2.0, 8.0, 8)
    qmin, qmax = ref.fused_clamp_bounds(0.0, 6.0, scale, zero_point, 8)
    assert qmin == zero_point and qmax == zero_point + round(6.0 / scale)
    assert ref.fused_clamp_bounds(None, None, scale, zero_point, 8) == (0, 255)
    with pytest.raises(SpintronError):
        ref.fused_clamp_bounds(5.0, 1.0, scale, zero_point, 8)


def test_quantized_add_matches_the_exact_rational_definition():
    rng = np.random.default_rng(25)
    for _ in range(40):
        s_a, s_b, s_y = (float(np.float32(v)) for v in rng.uniform(0.001, 0.2, size=3))
        m_a, m_b, shift = ref.add_multipliers(s_a, s_b, s_y)
        # the larger ratio's multiplier is full-precision; both approximate their ratio
        for m, s in ((m_a, s_a), (m_b, s_b)):
            assert abs(Fraction(m, 2**shift) - Fraction(s) / Fraction(s_y)) <= Fraction(1, 2**shift)
        a, b = rng.integers(0, 256, size=(2, 30))
        za, zb, zy = (int(v) for v in rng.integers(0, 256, size=3))
        got = ref.quantized_add(a, za, b, zb, m_a, m_b, shift, zy, 0, 255)
        expected = [min(255, max(0, zy + floor_half_up(
            Fraction((int(ai) - za) * m_a + (int(bi) - zb) * m_b, 2**shift))))
            for ai, bi in zip(a, b)]
        assert got.tolist() == expected
        # and the result is the real sum within one output step plus the multiplier error
        real = s_a * (a - za) + s_b * (b - zb)
        inside = (real / s_y + zy >= 0) & (real / s_y + zy <= 255)
        err = np.abs(ref.dequantize(got, s_y, zy) - real)[inside]
        assert np.all(err <= s_y * 0.5 + s_y * 1e-6 * 512 + s_y * 512 / 2**shift)


def test_lut_table_is_the_quantized_function():
    s_x, z_x = ref.activation_quant_params(-8.0, 8.0, 8)
    s_y, z_y = ref.activation_quant_params(0.0, 1.0, 8)
    table = ref.lut_table(lambda v: 1 / (1 + np.exp(-v)), s_x, z_x, s_y, z_y, 8)
    assert table.shape == (256,) and table.dtype == np.int64
    assert np.all(np.diff(table) >= 0) and table[0] == 0 and table[-1] == 255
    for q in (0, 17, z_x, 200, 255):
        real = 1 / (1 + math.exp(-s_x * (q - z_x)))
        assert table[q] == min(255, max(0, round(real / s_y) + z_y))
