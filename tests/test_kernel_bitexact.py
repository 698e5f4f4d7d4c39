"""The C crossbar kernel against the numpy reference, bit for bit (noise on and off).

Every micro-kernel the CPU runs (AVX-512 VNNI, AVX2, portable) is checked on the
same seeded random tile cases; the oracle is ``backends/sim/reference.py``.
The fast subset (2,000 cases) runs in CI; ``-m slow`` adds 10,000 more.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spintron_nn.backends.sim import reference
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.runtime import kernel

pytestmark = pytest.mark.skipif(not kernel.is_built(),
                                reason=f"C kernel not built: {kernel.load_error()}")

# Shapes that stress the packing: 1, around the k-group (2, 4), the panel width (32)
# and powers of two.
ROW_CHOICES = np.array([1, 2, 3, 4, 5, 7, 31, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257])
COL_CHOICES = np.array([1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 128, 130])


@dataclasses.dataclass(frozen=True)
class TileCase:
    index: int
    batch: int
    slices: int
    rows: int
    cols: int
    cell_bits: int
    input_bits: int
    adc_bits: int | None
    adc_shift: int
    style: str           # how x and the levels are drawn
    noise: NoiseSpec | None


def random_cases(count: int, seed: int) -> list[TileCase]:
    """``count`` tile cases; every parameter is drawn for all cases at once."""
    rng = np.random.default_rng(seed)
    pick = rng.random(count) < 0.5
    rows = np.where(pick, rng.choice(ROW_CHOICES, count), rng.integers(1, 300, count))
    cols = np.where(rng.random(count) < 0.5, rng.choice(COL_CHOICES, count),
                    rng.integers(1, 140, count))
    adc_bits = rng.integers(0, 13, count)                   # 0 = ideal ADC
    adc_shift = np.where(adc_bits == 0, 0, rng.integers(0, 10, count))
    batch = np.where(rng.random(count) < 0.3, 1, rng.integers(1, 7, count))
    noise_on = rng.random(count) < 0.4
    # Noise makes the reference draw several numbers per cell: keep those tiles smaller.
    rows = np.where(noise_on, np.minimum(rows, 130), rows)
    cols = np.where(noise_on, np.minimum(cols, 66), cols)
    styles = rng.choice(["uniform", "saturating", "sparse"], count, p=[0.6, 0.25, 0.15])
    variation = rng.choice([0.0, 0.02, 0.1, 0.5], count)
    read = rng.choice([0.0, 0.3, 1.0, 4.0], count)
    stuck_zero = rng.choice([0.0, 0.01, 0.2], count)
    stuck_one = rng.choice([0.0, 0.01, 0.2], count)
    seeds = rng.integers(0, 2**63, count, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, count, dtype=np.uint64)
    tile_ids = rng.integers(0, 2**40, count)
    offsets = rng.integers(0, 1000, count)
    cases = []
    for i in range(count):
        noise = None
        if noise_on[i]:
            noise = NoiseSpec(seed=int(seeds[i]), tile_id=int(tile_ids[i]),
                              conductance_variation=float(variation[i]),
                              read_noise=float(read[i]), stuck_at_zero=float(stuck_zero[i]),
                              stuck_at_one=float(stuck_one[i]), sample_offset=int(offsets[i]))
        cases.append(TileCase(
            index=i, batch=int(batch[i]), slices=int(rng.integers(1, 5)), rows=int(rows[i]),
            cols=int(cols[i]), cell_bits=int(rng.integers(1, 5)),
            input_bits=int(rng.integers(2, 9)),
            adc_bits=None if adc_bits[i] == 0 else int(adc_bits[i]),
            adc_shift=int(adc_shift[i]), style=str(styles[i]), noise=noise))
    return cases


def tile_data(case: TileCase, seed: int):
    """x, levels_pos, levels_neg of one case (its own seeded stream)."""
    rng = np.random.default_rng([seed, case.index])
    x_max, level_max = 2**case.input_bits - 1, 2**case.cell_bits - 1
    x = rng.integers(0, x_max + 1, (case.batch, case.rows))
    shape = (case.slices, case.rows, case.cols)
    levels_pos = rng.integers(0, level_max + 1, shape)
    levels_neg = rng.integers(0, level_max + 1, shape)
    if case.style == "saturating":
        # Large same-sign currents: most reads clip the ADC.
        x = np.where(rng.random(x.shape) < 0.9, x_max, x)
        levels_neg = np.where(rng.random(shape) < 0.9, 0, levels_neg)
        levels_pos = np.where(rng.random(shape) < 0.5, level_max, levels_pos)
    elif case.style == "sparse":
        x = np.where(rng.random(x.shape) < 0.8, 0, x)
        levels_pos = np.where(rng.random(shape) < 0.7, 0, levels_pos)
    dtype = rng.choice([np.uint8, np.int16, np.int32, np.int64, np.uint64])
    return x.astype(dtype), levels_pos.astype(np.uint8), levels_neg.astype(np.uint8)


def check_cases(cases: list[TileCase], seed: int) -> None:
    isas = kernel.supported_isas()
    for case in cases:
        x, levels_pos, levels_neg = tile_data(case, seed)
        options = dict(input_bits=case.input_bits, cell_bits=case.cell_bits,
                       adc_bits=case.adc_bits, adc_shift=case.adc_shift, noise=case.noise)
        expected = reference.tile_matvec(x, levels_pos, levels_neg, **options)
        for isa in isas:
            with kernel.use_isa(isa):
                got = kernel.tile_matvec(x, levels_pos, levels_neg, **options)
            assert got.dtype == np.int64 and got.shape == expected.shape, (isa, case)
            if not np.array_equal(got, expected):
                wrong = int(np.count_nonzero(got != expected))
                pytest.fail(f"{isa}: {wrong} of {expected.size} outputs differ in {case}")


def test_kernel_matches_reference_fast_subset():
    check_cases(random_cases(2000, seed=20261130), seed=20261130)


@pytest.mark.slow
def test_kernel_matches_reference_bulk():
    check_cases(random_cases(10_000, seed=8), seed=8)


def test_case_generator_covers_the_contract():
    """The fast subset really spans the parameters the contract allows."""
    cases = random_cases(2000, seed=20261130)
    assert {c.cell_bits for c in cases} == {1, 2, 3, 4}
    assert {c.adc_bits for c in cases} == {None, *range(1, 13)}
    assert {c.input_bits for c in cases} == set(range(2, 9))
    assert {c.rows for c in cases} >= {1, 63, 65, 129, 257}
    assert {c.cols for c in cases} >= {1, 31, 33, 130}
    assert any(c.noise is None for c in cases) and any(c.noise is not None for c in cases)
    assert {c.style for c in cases} == {"uniform", "saturating", "sparse"}
