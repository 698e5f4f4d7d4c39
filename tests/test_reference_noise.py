"""Seeded non-idealities (docs/semantics.md section 10).

Oracles: the published splitmix64 output sequence, a pure-Python (int)
re-implementation of section 10 written from the doc, the exact integer tile
(noise off), and the statistics the doc promises.
"""

import numpy as np
import pytest

from spintron_nn.backends.sim import noise as noise_module
from spintron_nn.backends.sim import reference as ref
from spintron_nn.errors import SpintronError

MASK = (1 << 64) - 1


# --- a second implementation of section 10, in Python ints -------------------

def py_mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def py_key(seed, tile, stream):
    return py_mix64(py_mix64(py_mix64(seed) ^ tile) ^ stream)


def py_u64(key, i):
    return py_mix64((key + (i + 1) * 0x9E3779B97F4A7C15) & MASK)


def py_gauss(key, i):
    lanes = [(py_u64(key, 3 * i + d) >> (16 * lane)) & 0xFFFF for d in range(3) for lane in range(4)]
    return sum(lanes) - 393210


def py_round_half_up(v, n):
    return (v + (1 << (n - 1))) >> n if n > 0 else v


def py_cell_currents(lp, ln, cell_bits, spec):
    """Q16 read currents of every cell of the positive and the negative array (lists [s][r][c])."""
    slices, rows, cols = len(lp), len(lp[0]), len(lp[0][0])
    sv = round(spec.conductance_variation * 65536)
    t0 = round(spec.stuck_at_zero * 2**32)
    t1 = min(round(spec.stuck_at_one * 2**32), 2**32 - t0)

    def cell_current(levels, variation_stream, stuck_stream, s, r, c):
        i = (s * rows + r) * cols + c
        u32 = py_u64(py_key(spec.seed, spec.tile_id, stuck_stream), i) >> 32
        level = int(levels[s][r][c])
        if u32 < t0:
            level = 0
        elif u32 < t0 + t1:
            level = 2**cell_bits - 1
        g = py_gauss(py_key(spec.seed, spec.tile_id, variation_stream), i)
        return max(level * 65536 + py_round_half_up(level * sv * g, 16), 0)

    pos = [[[cell_current(lp, 1, 3, s, r, c) for c in range(cols)] for r in range(rows)] for s in range(slices)]
    neg = [[[cell_current(ln, 2, 4, s, r, c) for c in range(cols)] for r in range(rows)] for s in range(slices)]
    return pos, neg


def py_noisy_tile(x, lp, ln, *, input_bits, cell_bits, adc_bits, adc_shift, spec):
    slices, rows, cols = len(lp), len(lp[0]), len(lp[0][0])
    sr = round(spec.read_noise * 65536)
    pos, neg = py_cell_currents(lp, ln, cell_bits, spec)
    read_key = py_key(spec.seed, spec.tile_id, 5)
    out = []
    for n, sample in enumerate(x):
        row_out = []
        for c in range(cols):
            total = 0
            for b in range(input_bits):
                for s in range(slices):
                    current = sum(((int(sample[r]) >> b) & 1) * (pos[s][r][c] - neg[s][r][c])
                                  for r in range(rows))
                    j = (((spec.sample_offset + n) * input_bits + b) * slices + s) * cols + c
                    current += py_round_half_up(sr * py_gauss(read_key, j), 16)
                    code = py_round_half_up(current, adc_shift + 16)
                    if adc_bits is not None:
                        code = max(-(2 ** (adc_bits - 1)), min(2 ** (adc_bits - 1) - 1, code))
                    total += code * 2 ** (adc_shift + b + s * cell_bits)
            row_out.append(total)
        out.append(row_out)
    return np.array(out, dtype=np.int64)


def random_case(rng, rows=12, cols=5, batch=3):
    cell_bits = int(rng.integers(1, 5))
    weight_bits = int(rng.integers(2, 9))
    input_bits = int(rng.integers(1, 9))
    limit = 2 ** (weight_bits - 1) - 1
    w = rng.integers(-limit, limit + 1, size=(rows, cols))
    x = rng.integers(0, 2**input_bits, size=(batch, rows))
    lp, ln = ref.slice_weights(w, weight_bits, cell_bits)
    return x, w, lp, ln, dict(input_bits=input_bits, cell_bits=cell_bits)


# --- tests -------------------------------------------------------------------

def test_random_u64_is_splitmix64():
    """Published splitmix64 outputs for state 1234567 (Vigna's splitmix64.c)."""
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    assert noise_module.random_u64(np.uint64(1234567), np.arange(5)).tolist() == expected
    assert [py_u64(1234567, i) for i in range(5)] == expected


def test_keys_and_gaussians_match_the_python_model():
    for seed, tile, stream in [(0, 0, 1), (1, 2, 5), (2**64 - 1, 2**63, 3)]:
        key = noise_module.stream_key(seed, tile, stream)
        assert int(key) == py_key(seed, tile, stream)
        got = noise_module.gaussian_q16(key, np.arange(50)).tolist()
        assert got == [py_gauss(int(key), i) for i in range(50)]


def test_noisy_tile_matches_the_python_model_bit_for_bit():
    rng = np.random.default_rng(41)
    for case in range(30):
        x, _, lp, ln, bits = random_case(rng, rows=int(rng.integers(1, 10)),
                                         cols=int(rng.integers(1, 4)), batch=2)
        adc_bits = None if case % 5 == 0 else int(rng.integers(2, 9))
        adc_shift = 0 if adc_bits is None else int(rng.integers(0, 4))
        spec = ref.NoiseSpec(
            seed=int(rng.integers(0, 2**63)), tile_id=int(rng.integers(0, 1000)),
            conductance_variation=float(rng.choice([0.0, 0.05, 0.3])),
            read_noise=float(rng.choice([0.0, 0.5, 3.0])),
            stuck_at_zero=float(rng.choice([0.0, 0.1])), stuck_at_one=float(rng.choice([0.0, 0.2])),
            sample_offset=int(rng.integers(0, 5)))
        got = ref.tile_matvec(x, lp, ln, adc_bits=adc_bits, adc_shift=adc_shift, noise=spec, **bits)
        expected = py_noisy_tile(x, lp, ln, adc_bits=adc_bits, adc_shift=adc_shift, spec=spec, **bits)
        np.testing.assert_array_equal(got, expected, err_msg=str((case, spec)))


def test_noise_off_is_the_exact_integer_result():
    rng = np.random.default_rng(42)
    for _ in range(20):
        x, w, lp, ln, bits = random_case(rng, rows=40, cols=7)
        exact = ref.tile_matvec(x, lp, ln, adc_bits=None, adc_shift=0, **bits)
        np.testing.assert_array_equal(exact, x @ w)
        for spec in (ref.NoiseSpec(), ref.NoiseSpec(seed=9, tile_id=3),
                     ref.NoiseSpec(seed=9, read_noise=1e-9, stuck_at_one=1e-12)):
            assert spec.is_off
            got = ref.tile_matvec(x, lp, ln, adc_bits=None, adc_shift=0, noise=spec, **bits)
            np.testing.assert_array_equal(got, exact)


def test_fixed_point_path_with_zero_noise_equals_the_exact_path():
    """Section 10's claim: Q16 currents rounded by k + 16 equal currents rounded by k."""
    rng = np.random.default_rng(43)
    spec = ref.NoiseSpec(seed=1)
    for _ in range(20):
        x, _, lp, ln, bits = random_case(rng, rows=30, cols=6)
        adc_bits, adc_shift = int(rng.integers(1, 9)), int(rng.integers(0, 5))
        exact = ref.tile_matvec(x, lp, ln, adc_bits=adc_bits, adc_shift=adc_shift, **bits)
        fixed = py_noisy_tile(x, lp, ln, adc_bits=adc_bits, adc_shift=adc_shift, spec=spec, **bits)
        np.testing.assert_array_equal(fixed, exact)


def test_same_seed_is_byte_identical_and_batch_splitting_does_not_matter():
    rng = np.random.default_rng(44)
    x, _, lp, ln, bits = random_case(rng, rows=64, cols=16, batch=10)
    spec = ref.NoiseSpec(seed=123, tile_id=7, conductance_variation=0.1, read_noise=0.7,
                         stuck_at_zero=0.01, stuck_at_one=0.01)
    kwargs = dict(adc_bits=6, adc_shift=1, **bits)
    first = ref.tile_matvec(x, lp, ln, noise=spec, **kwargs)
    again = ref.tile_matvec(x.copy(), lp.copy(), ln.copy(), noise=spec, **kwargs)
    assert first.tobytes() == again.tobytes()
    halves = [ref.tile_matvec(x[:4], lp, ln, noise=spec, **kwargs),
              ref.tile_matvec(x[4:], lp, ln, noise=ref.NoiseSpec(**{**spec.__dict__, "sample_offset": 4}),
                              **kwargs)]
    assert np.concatenate(halves).tobytes() == first.tobytes()


def test_different_seed_or_tile_differs():
    rng = np.random.default_rng(45)
    x, _, lp, ln, bits = random_case(rng, rows=64, cols=16, batch=4)
    kwargs = dict(adc_bits=None, adc_shift=0, **bits)
    results = {ref.tile_matvec(x, lp, ln, noise=ref.NoiseSpec(seed=seed, tile_id=tile, read_noise=1.0),
                               **kwargs).tobytes()
               for seed, tile in [(1, 0), (2, 0), (1, 1), (2, 1)]}
    assert len(results) == 4


def test_gaussian_moments():
    g = noise_module.gaussian_q16(noise_module.stream_key(3, 4, 5), np.arange(400_000)) / 65536.0
    assert abs(g.mean()) < 5 / np.sqrt(g.size)          # 5 standard errors
    assert abs(g.std() - 1.0) < 5 / np.sqrt(2 * g.size)
    assert g.min() >= -6 and g.max() <= 6
    kurtosis = np.mean(g**4) / np.mean(g**2) ** 2
    assert abs(kurtosis - 2.9) < 0.05                    # Irwin-Hall n=12: 3 - 1.2/12


def test_stuck_at_rates():
    levels = np.ones((2, 300, 200), dtype=np.uint8)
    spec = ref.NoiseSpec(seed=5, stuck_at_zero=0.08, stuck_at_one=0.03)
    stuck = noise_module.stuck_levels(levels, noise_module.stream_key(5, 0, 3), spec, cell_bits=2)
    n = levels.size
    for value, rate in ((0, 0.08), (3, 0.03), (1, 0.89)):
        observed = np.count_nonzero(stuck == value) / n
        assert abs(observed - rate) < 5 * np.sqrt(rate * (1 - rate) / n), (value, observed)


def test_stuck_cells_are_static_and_visible_through_the_tile():
    """One-hot inputs read each cell alone; a stuck-at-one negative cell shows as -3."""
    rows, cols = 200, 50
    lp = np.ones((1, rows, cols), dtype=np.uint8)
    ln = np.zeros((1, rows, cols), dtype=np.uint8)
    spec = ref.NoiseSpec(seed=8, stuck_at_zero=0.1, stuck_at_one=0.1)
    eye = np.eye(rows, dtype=np.int64)
    out = ref.tile_matvec(eye, lp, ln, input_bits=1, cell_bits=2, adc_bits=None, adc_shift=0, noise=spec)
    again = ref.tile_matvec(eye[::-1], lp, ln, input_bits=1, cell_bits=2, adc_bits=None, adc_shift=0,
                            noise=ref.NoiseSpec(**{**spec.__dict__, "read_noise": 0.0}))[::-1]
    np.testing.assert_array_equal(out, again)  # static: the same cells whatever the read order
    # pos in {0, 1, 3} minus neg in {0, 3}
    values, counts = np.unique(out, return_counts=True)
    assert set(values.tolist()) <= {1, 0, 3, -2, -3, 0}
    p_neg_stuck_one = np.count_nonzero(out < 0) / out.size
    assert abs(p_neg_stuck_one - 0.1) < 5 * np.sqrt(0.09 / out.size)


def test_read_noise_statistics_in_level_units():
    rows, cols, batch = 8, 64, 400
    zeros = np.zeros((1, rows, cols), dtype=np.uint8)
    x = np.ones((batch, rows), dtype=np.int64)
    spec = ref.NoiseSpec(seed=11, read_noise=20.0)
    out = ref.tile_matvec(x, zeros, zeros, input_bits=1, cell_bits=1, adc_bits=None, adc_shift=0,
                          noise=spec).astype(np.float64)
    # one read per output: sigma 20 levels, plus 1/12 level^2 of rounding
    expected_std = np.sqrt(20.0**2 + 1 / 12)
    assert abs(out.mean()) < 5 * expected_std / np.sqrt(out.size)
    assert abs(out.std() / expected_std - 1) < 5 / np.sqrt(2 * out.size)


def test_conductance_variation_statistics():
    """All 256 rows at level 3 read at once: sum of 256 independent cell deviations."""
    rows, cols, sigma = 256, 3000, 0.1
    lp = np.full((1, rows, cols), 3, dtype=np.uint8)
    ln = np.zeros_like(lp)
    spec = ref.NoiseSpec(seed=12, conductance_variation=sigma)
    out = ref.tile_matvec(np.ones((1, rows), dtype=np.int64), lp, ln, input_bits=1, cell_bits=2,
                          adc_bits=None, adc_shift=0, noise=spec)[0].astype(np.float64)
    expected_std = 3 * sigma * np.sqrt(rows)
    assert abs(out.mean() - 3 * rows) < 5 * expected_std / np.sqrt(cols)
    assert abs(out.std() / expected_std - 1) < 5 / np.sqrt(2 * cols)


@pytest.mark.parametrize("bad", [
    dict(seed=-1), dict(tile_id=2**64), dict(read_noise=-0.1), dict(conductance_variation=float("nan")),
    dict(stuck_at_zero=1.5), dict(stuck_at_zero=0.6, stuck_at_one=0.6), dict(seed=1.5),
])
def test_invalid_noise_specs_are_spintron_errors(bad):
    with pytest.raises(SpintronError):
        ref.NoiseSpec(**bad)


# --- verified column sums (program-and-verify zero-point term) ---------------

def test_column_drift_is_the_python_models_drawn_minus_programmed_weights():
    rng = np.random.default_rng(70)
    for case in range(6):
        x, w, lp, ln, shape = random_case(rng, rows=9, cols=4)
        spec = ref.NoiseSpec(seed=case, tile_id=3 * case, conductance_variation=0.2, stuck_at_zero=0.05,
                             stuck_at_one=0.05)
        pos, neg = py_cell_currents(lp, ln, shape["cell_bits"], spec)
        expected = [sum(2 ** (s * shape["cell_bits"]) * (pos[s][r][c] - neg[s][r][c])
                        for s in range(len(lp)) for r in range(len(w))) - 65536 * int(w[:, c].sum())
                    for c in range(w.shape[1])]
        assert ref.column_drift_q16(lp, ln, shape["cell_bits"], spec).tolist() == expected
        assert ref.column_drift_q16(lp, ln, shape["cell_bits"], ref.NoiseSpec(seed=case)).tolist() == [0] * 4


def _layer(rng, noise, zero_point, rows=40, cols=6):
    """One tile's accumulator (lossless ADC) for inputs near ``zero_point``, and its inputs/weights."""
    w = rng.integers(-7, 8, size=(rows, cols))
    x = np.clip(zero_point + rng.integers(-2, 3, size=(16, rows)), 0, 15)
    tiles = dict(weight_bits=4, cell_bits=2, input_bits=4, adc_bits=None, adc_shifts=0, rows_per_tile=64,
                 cols_per_tile=8, x_zero_point=zero_point)
    return ref.linear_accumulate(x, w, noise=noise, **tiles), x, w


def test_verified_column_sums_remove_the_zero_point_offset():
    """Verified: the accumulator is sum_k (x_k - zp) * W_eff[k] (drawn weights, from the Python model of
    the cells) up to the reads' rounding (1/2 per read, shift-added) and the term's (1/2).  Programmed
    weights in the digital term leave zp * sum_k (W_eff - w) on top, a static offset per column."""
    rng = np.random.default_rng(71)
    read_rounding = 0.5 * (2**4 - 1) * (1 + 4) + 0.5  # 4 input bits; slices of 2-bit cells: 1 and 4
    for case in range(6):
        devices = dict(seed=case, tile_id=case, conductance_variation=0.2, stuck_at_zero=0.02, stuck_at_one=0.02)
        seed = int(rng.integers(0, 2**31))
        verified, x, w = _layer(np.random.default_rng(seed), ref.NoiseSpec(verified_column_sums=True, **devices), 8)
        programmed, _, _ = _layer(np.random.default_rng(seed), ref.NoiseSpec(**devices), 8)
        lp, ln = ref.slice_weights(w, 4, 2)
        pos, neg = py_cell_currents(lp, ln, 2, ref.NoiseSpec(**devices))
        w_eff = np.array([[sum(4**s * (pos[s][r][c] - neg[s][r][c]) for s in range(len(lp))) / 65536
                           for c in range(w.shape[1])] for r in range(w.shape[0])])
        ideal = (x - 8) @ w_eff
        assert np.abs(verified - ideal).max() <= read_rounding
        assert np.abs(programmed - ideal).max() > read_rounding  # told apart: the offset is there
        # at zero point 0 there is no zero-point term: verified changes nothing
        at_zero = [_layer(np.random.default_rng(seed), ref.NoiseSpec(verified_column_sums=v, **devices), 0)[0]
                   for v in (False, True)]
        np.testing.assert_array_equal(*at_zero)


def test_verified_column_sums_without_device_noise_change_nothing():
    rng = np.random.default_rng(72)
    seed = int(rng.integers(0, 2**31))
    quiet = _layer(np.random.default_rng(seed), ref.NoiseSpec(verified_column_sums=True), 8)[0]
    clean = _layer(np.random.default_rng(seed), None, 8)[0]
    np.testing.assert_array_equal(quiet, clean)
    with pytest.raises(SpintronError, match="verified_column_sums"):
        ref.NoiseSpec(verified_column_sums="yes")
