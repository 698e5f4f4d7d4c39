"""The tile contract of docs/semantics.md sections 3-6 against independent oracles.

Oracles: numpy int64 matmul (ideal ADC), a scalar pure-Python re-implementation
written from the doc's formulas (ADC rounding/saturation, shift-add), and the
doc's hand-worked example.
"""

import numpy as np
import pytest

from spintron_nn.backends.sim import reference as ref
from spintron_nn.errors import SpintronError


def random_tile(rng, *, rows, cols, weight_bits, cell_bits, input_bits, batch):
    limit = 2 ** (weight_bits - 1) - 1
    w = rng.integers(-limit, limit + 1, size=(rows, cols))
    x = rng.integers(0, 2**input_bits, size=(batch, rows))
    return x, w


def scalar_tile(x, lp, ln, input_bits, cell_bits, adc_bits, adc_shift):
    """docs/semantics.md sections 4-6 in plain Python ints, one read at a time."""
    slices, rows, cols = len(lp), len(lp[0]), len(lp[0][0])
    out = []
    for sample in x:
        row_out = []
        for c in range(cols):
            total = 0
            for b in range(input_bits):
                for s in range(slices):
                    current = sum(((int(sample[r]) >> b) & 1) * (int(lp[s][r][c]) - int(ln[s][r][c]))
                                  for r in range(rows))
                    if adc_shift > 0:
                        # floor((I + 2**(k-1)) / 2**k): Python's // floors like an arithmetic shift
                        code = (current + 2 ** (adc_shift - 1)) // 2**adc_shift
                    else:
                        code = current
                    if adc_bits is not None:
                        code = max(-(2 ** (adc_bits - 1)), min(2 ** (adc_bits - 1) - 1, code))
                    total += code * 2 ** (adc_shift + b + s * cell_bits)
            row_out.append(total)
        out.append(row_out)
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("cell_bits", [1, 2, 3, 4])
def test_ideal_adc_equals_integer_matmul(cell_bits):
    rng = np.random.default_rng(100 + cell_bits)
    for case in range(40):
        weight_bits = int(rng.integers(2, 9))
        input_bits = int(rng.integers(1, 9))
        rows, cols = int(rng.integers(1, 140)), int(rng.integers(1, 40))
        x, w = random_tile(rng, rows=rows, cols=cols, weight_bits=weight_bits,
                           cell_bits=cell_bits, input_bits=input_bits,
                           batch=int(rng.integers(1, 6)))
        lp, ln = ref.slice_weights(w, weight_bits, cell_bits)
        dtype = rng.choice([np.uint8, np.int16, np.int32, np.int64]) if input_bits <= 8 else np.int64
        got = ref.tile_matvec(x.astype(dtype), lp, ln, input_bits=input_bits,
                              cell_bits=cell_bits, adc_bits=None, adc_shift=0)
        assert got.dtype == np.int64 and got.shape == (x.shape[0], cols)
        np.testing.assert_array_equal(got, x.astype(np.int64) @ w.astype(np.int64))


def test_wide_adc_equals_integer_matmul():
    """A finite ADC wide enough for R * (2**cb - 1) is lossless too."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        cell_bits = int(rng.integers(1, 5))
        rows = int(rng.integers(1, 300))
        x, w = random_tile(rng, rows=rows, cols=9, weight_bits=8, cell_bits=cell_bits,
                           input_bits=8, batch=3)
        lp, ln = ref.slice_weights(w, 8, cell_bits)
        adc_bits = int(np.ceil(np.log2(rows * (2**cell_bits - 1) + 1))) + 1
        got = ref.tile_matvec(x, lp, ln, input_bits=8, cell_bits=cell_bits,
                              adc_bits=adc_bits, adc_shift=0)
        np.testing.assert_array_equal(got, x @ w)


def test_slicing_reconstructs_weights_and_uses_one_side_of_the_pair():
    rng = np.random.default_rng(3)
    for weight_bits in range(2, 9):
        for cell_bits in range(1, 5):
            limit = 2 ** (weight_bits - 1) - 1
            w = rng.integers(-limit, limit + 1, size=(17, 5))
            w[0, :] = [limit, -limit, 0, 1, -1]
            lp, ln = ref.slice_weights(w, weight_bits, cell_bits)
            expected_slices = -(-(weight_bits - 1) // cell_bits)
            assert lp.dtype == np.uint8 and lp.shape == (expected_slices, 17, 5)
            assert int(lp.max()) < 2**cell_bits and int(ln.max()) < 2**cell_bits
            assert not np.any((lp > 0) & (ln > 0))
            # reconstruct with the doc's formula, independently of unslice_weights
            rebuilt = sum((lp[s].astype(np.int64) - ln[s]) * 2 ** (s * cell_bits)
                          for s in range(expected_slices))
            np.testing.assert_array_equal(rebuilt, w)
            np.testing.assert_array_equal(ref.unslice_weights(lp, ln, cell_bits), w)


def test_slicing_example_from_the_doc():
    lp, ln = ref.slice_weights(np.array([[-75]]), 8, 2)
    assert ln[:, 0, 0].tolist() == [3, 2, 0, 1] and lp.sum() == 0


def test_adc_rounding_and_saturation_match_scalar_model():
    rng = np.random.default_rng(11)
    for _ in range(150):
        cell_bits = int(rng.integers(1, 5))
        weight_bits = int(rng.integers(2, 9))
        input_bits = int(rng.integers(1, 9))
        adc_bits = int(rng.integers(1, 9))
        adc_shift = int(rng.integers(0, 7))
        x, w = random_tile(rng, rows=int(rng.integers(1, 24)), cols=int(rng.integers(1, 5)),
                           weight_bits=weight_bits, cell_bits=cell_bits,
                           input_bits=input_bits, batch=2)
        lp, ln = ref.slice_weights(w, weight_bits, cell_bits)
        got = ref.tile_matvec(x, lp, ln, input_bits=input_bits, cell_bits=cell_bits,
                              adc_bits=adc_bits, adc_shift=adc_shift)
        np.testing.assert_array_equal(
            got, scalar_tile(x, lp, ln, input_bits, cell_bits, adc_bits, adc_shift))


def test_adc_convert_ties_go_up_and_saturate():
    currents = np.array([-5, -3, -2, -1, 0, 1, 2, 3, 5, 100, -100])
    # shift 1: I/2 rounded half up, then clamped to a 3-bit signed range [-4, 3]
    assert ref.adc_convert(currents, 3, 1).tolist() == [-2, -1, -1, 0, 0, 1, 1, 2, 3, 3, -4]
    assert ref.adc_convert(currents, None, 0).tolist() == currents.tolist()


def test_worked_example_of_the_doc():
    """docs/semantics.md section 11, values computed by hand there."""
    w = np.array([[7, -7], [-3, 2], [2, 5]])
    lp, ln = ref.slice_weights(w, 4, 2)
    assert lp[0].tolist() == [[3, 0], [0, 2], [2, 1]] and lp[1].tolist() == [[1, 0], [0, 0], [0, 1]]
    assert ln[0].tolist() == [[0, 3], [3, 0], [0, 0]] and ln[1].tolist() == [[0, 1], [0, 0], [0, 0]]
    q = np.array([[2, 8, 5]])
    currents = ref.column_currents(q, lp, ln, input_bits=4)[0]
    assert currents.tolist() == [[[2, 1], [0, 1]], [[3, -3], [1, -1]],
                                 [[2, 1], [0, 1]], [[-3, 2], [0, 0]]]
    kwargs = dict(input_bits=4, cell_bits=2, adc_bits=3)
    assert ref.tile_matvec(q, lp, ln, adc_shift=0, **kwargs).tolist() == [[0, 27]]
    assert ref.tile_matvec(q, lp, ln, adc_shift=1, **kwargs).tolist() == [[18, 62]]


def test_choose_adc_shift_is_the_smallest_under_the_threshold():
    rng = np.random.default_rng(5)
    for _ in range(40):
        currents = np.rint(rng.normal(0, rng.uniform(1, 300), size=2000)).astype(np.int64)
        adc_bits = int(rng.integers(2, 9))
        threshold = float(rng.choice([0.0, 1e-3, 1e-2]))
        shift = ref.choose_adc_shift(currents, adc_bits, threshold)
        low, high = -(2 ** (adc_bits - 1)), 2 ** (adc_bits - 1) - 1

        def rate(k):
            codes = [(int(i) + (2 ** (k - 1) if k else 0)) >> k for i in currents]
            return sum(not low <= code <= high for code in codes) / len(codes)

        assert rate(shift) <= threshold
        assert shift == 0 or rate(shift - 1) > threshold


def test_choose_adc_shift_ideal_and_empty():
    assert ref.choose_adc_shift(np.array([10**6]), None) == 0
    assert ref.choose_adc_shift(np.array([], dtype=np.int64), 4) == 0


@pytest.mark.parametrize("bad", [
    dict(input_bits=0), dict(cell_bits=5), dict(adc_bits=0), dict(adc_shift=-1),
    dict(adc_bits=None, adc_shift=1), dict(x=[[4, 0]]), dict(x=[[-1, 0]]),
    dict(x=[[0.5, 1.0]]), dict(x=[[0, 0, 0]]), dict(levels_pos=np.full((1, 2, 1), 9, np.uint8)),
])
def test_contract_violations_are_spintron_errors(bad):
    args = dict(x=[[1, 2]], levels_pos=np.ones((1, 2, 1), np.uint8),
                levels_neg=np.zeros((1, 2, 1), np.uint8), input_bits=2, cell_bits=2,
                adc_bits=4, adc_shift=0)
    args.update(bad)
    with pytest.raises(SpintronError):
        ref.tile_matvec(np.asarray(args.pop("x")), args.pop("levels_pos"),
                        args.pop("levels_neg"), **args)


def test_tile_grid_covers_every_cell_once():
    cover = np.zeros((300, 70), dtype=int)
    for rows, cols in ref.tile_grid(300, 70, 128, 32):
        cover[rows, cols] += 1
    assert (cover == 1).all() and len(ref.tile_grid(300, 70, 128, 32)) == 3 * 3
