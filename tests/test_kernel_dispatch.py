"""Kernel selection (SPINTRON_KERNEL), kernel_info, argument errors, threads, layouts.

Oracle: the numpy reference (``backends/sim/reference.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from spintron_nn import runtime
from spintron_nn.backends.sim import dispatch, reference
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.errors import SpintronError
from spintron_nn.runtime import kernel
from spintron_nn.tools import spintronc

needs_kernel = pytest.mark.skipif(not kernel.is_built(),
                                  reason=f"C kernel not built: {kernel.load_error()}")
NOISE = NoiseSpec(seed=11, tile_id=3, conductance_variation=0.1, read_noise=0.7,
                  stuck_at_zero=0.02, stuck_at_one=0.01, sample_offset=5)


def random_tile(seed, batch=4, slices=3, rows=70, cols=45, input_bits=6, cell_bits=2):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2**input_bits, (batch, rows))
    levels = rng.integers(0, 2**cell_bits, (2, slices, rows, cols)).astype(np.uint8)
    return x, levels[0], levels[1]


OPTIONS = dict(input_bits=6, cell_bits=2, adc_bits=5, adc_shift=2)


# --- selection ---------------------------------------------------------------


def test_numpy_forced_uses_the_reference(monkeypatch):
    monkeypatch.setenv("SPINTRON_KERNEL", "numpy")
    assert dispatch.active_kernel() == "numpy"
    calls = []
    original = reference.tile_matvec
    monkeypatch.setattr(reference, "tile_matvec", lambda *a, **k: calls.append(1) or original(*a, **k))
    x, pos, neg = random_tile(0)
    dispatch.tile_matvec(x, pos, neg, **OPTIONS)
    assert calls == [1]


@needs_kernel
@pytest.mark.parametrize("value", ["c", "auto", "", "C"])
def test_c_selected_when_built(monkeypatch, value):
    monkeypatch.setenv("SPINTRON_KERNEL", value)
    assert dispatch.active_kernel() == "c"
    x, pos, neg = random_tile(1)
    expected = reference.tile_matvec(x, pos, neg, **OPTIONS)
    monkeypatch.setattr(reference, "tile_matvec", None)  # must not be reached
    assert np.array_equal(dispatch.tile_matvec(x, pos, neg, **OPTIONS), expected)


def test_c_requested_but_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SPINTRON_KERNEL", "c")
    monkeypatch.setattr(kernel, "_tried", True)
    monkeypatch.setattr(kernel, "_module", None)
    monkeypatch.setattr(kernel, "_load_error", "No module named '_crossbar'")
    with pytest.raises(SpintronError, match="SPINTRON_KERNEL=c but the C kernel is not available"):
        dispatch.tile_matvec(*random_tile(2), **OPTIONS)
    assert "unusable" in runtime.kernel_info()
    monkeypatch.delenv("SPINTRON_KERNEL")
    assert "numpy reference (C kernel not built" in runtime.kernel_info()


def test_auto_falls_back_to_numpy_without_the_extension(monkeypatch):
    monkeypatch.delenv("SPINTRON_KERNEL", raising=False)
    monkeypatch.setattr(kernel, "_tried", True)
    monkeypatch.setattr(kernel, "_module", None)
    monkeypatch.setattr(kernel, "_load_error", "no compiler")
    assert dispatch.active_kernel() == "numpy"
    x, pos, neg = random_tile(3)
    assert np.array_equal(dispatch.tile_matvec(x, pos, neg, **OPTIONS),
                          reference.tile_matvec(x, pos, neg, **OPTIONS))


def test_unknown_kernel_name_is_refused(monkeypatch):
    monkeypatch.setenv("SPINTRON_KERNEL", "fortran")
    with pytest.raises(SpintronError, match="SPINTRON_KERNEL='fortran'"):
        dispatch.tile_matvec(*random_tile(4), **OPTIONS)
    assert "unusable" in runtime.kernel_info()


@needs_kernel
def test_unsupported_isa_is_refused(monkeypatch):
    monkeypatch.setattr(kernel, "_isa_error", "SPINTRON_KERNEL_ISA=sse: unknown")
    monkeypatch.delenv("SPINTRON_KERNEL", raising=False)
    with pytest.raises(SpintronError, match="SPINTRON_KERNEL_ISA=sse"):
        dispatch.tile_matvec(*random_tile(4), **OPTIONS)
    monkeypatch.setenv("SPINTRON_KERNEL", "numpy")
    assert dispatch.active_kernel() == "numpy"


@needs_kernel
def test_kernel_info_names_kernel_isa_and_threads(monkeypatch, capsys):
    monkeypatch.delenv("SPINTRON_KERNEL", raising=False)
    info = runtime.kernel_info()
    assert f"C, {kernel.isa()}, {kernel.threads()} thread" in info
    assert spintronc.main(["--version"]) == 0
    assert info in capsys.readouterr().out
    monkeypatch.setenv("SPINTRON_KERNEL", "numpy")
    assert runtime.kernel_info().startswith("crossbar kernel: numpy reference")


# --- arguments -----------------------------------------------------------------

BAD_PARAMETERS = [
    dict(input_bits=0), dict(input_bits=17), dict(cell_bits=0), dict(cell_bits=5),
    dict(adc_bits=0), dict(adc_bits=33), dict(adc_shift=-1), dict(adc_shift=25),
    dict(adc_bits=None, adc_shift=1),
]


@needs_kernel
@pytest.mark.parametrize("change", BAD_PARAMETERS, ids=str)
def test_bad_parameters_are_refused_like_the_reference(change):
    x, pos, neg = random_tile(5, input_bits=1, cell_bits=1)
    options = {**OPTIONS, "input_bits": 1, "cell_bits": 1, **change}
    for implementation in (reference, kernel):
        with pytest.raises(SpintronError):
            implementation.tile_matvec(x, pos, neg, **options)


def bad_data_cases():
    x, pos, neg = random_tile(6)
    negative = x.copy()
    negative[1, 2] = -1
    too_large = x.copy()
    too_large[3, 69] = 64
    high_level = pos.copy()
    high_level[2, 5, 7] = 4
    return {
        "negative x": (negative, pos, neg),
        "x >= 2**input_bits": (too_large, pos, neg),
        "level above max": (x, high_level, neg),
        "level above max (neg)": (x, pos, high_level),
        "level wraps in uint8": (x, pos.astype(np.int64) + 256, neg),
        "negative level": (x, pos, neg.astype(np.int64) - 4),
        "float x": (x.astype(np.float32), pos, neg),
        "x 1-D": (x[0], pos, neg),
        "rows differ": (x[:, :-1], pos, neg),
        "levels differ": (x, pos, neg[:, :, :-1]),
    }


@needs_kernel
@pytest.mark.parametrize("name", list(bad_data_cases()))
@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
def test_bad_data_is_refused_like_the_reference(name, noise):
    x, pos, neg = bad_data_cases()[name]
    for implementation in (reference, kernel):
        with pytest.raises(SpintronError):
            implementation.tile_matvec(x, pos, neg, **OPTIONS, noise=noise)


@needs_kernel
def test_error_names_the_offending_element():
    x, pos, neg = bad_data_cases()["x >= 2**input_bits"]
    with pytest.raises(SpintronError, match=r"x\[3, 69\]"):
        kernel.tile_matvec(x, pos, neg, **OPTIONS)
    x, pos, neg = bad_data_cases()["level above max"]
    with pytest.raises(SpintronError, match="slice 2, row 5, column 7"):
        kernel.tile_matvec(x, pos, neg, **OPTIONS)


# --- layouts, sizes, threads ------------------------------------------------------


@needs_kernel
@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
def test_strided_big_endian_and_wide_dtypes(noise):
    x, pos, neg = random_tile(7)
    expected = reference.tile_matvec(x, pos, neg, **OPTIONS, noise=noise)
    big_x = np.zeros((x.shape[0], 2 * x.shape[1]), dtype=np.int32)
    big_x[:, ::2] = x
    variants = [
        (big_x[:, ::2], pos, neg),                                  # strided x
        (x.astype(">u2"), pos, neg),                                # big-endian x
        (x.astype(np.int8), pos.astype(np.int64), neg.astype(np.uint16)),
        (np.asfortranarray(x), np.asfortranarray(pos), neg[:, :, ::-1][:, :, ::-1]),
    ]
    for variant in variants:
        assert np.array_equal(kernel.tile_matvec(*variant, **OPTIONS, noise=noise), expected)


@needs_kernel
@pytest.mark.parametrize("shape", [(0, 2, 5, 3), (3, 0, 5, 3), (3, 2, 0, 3), (3, 2, 5, 0)])
@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
def test_empty_dimensions(shape, noise):
    batch, slices, rows, cols = shape
    x = np.ones((batch, rows), dtype=np.int64)
    pos = np.ones((slices, rows, cols), dtype=np.uint8)
    neg = np.zeros_like(pos)
    expected = reference.tile_matvec(x, pos, neg, **OPTIONS, noise=noise)
    for isa in kernel.supported_isas():
        with kernel.use_isa(isa):
            got = kernel.tile_matvec(x, pos, neg, **OPTIONS, noise=noise)
        assert got.shape == expected.shape and np.array_equal(got, expected), isa


@needs_kernel
@pytest.mark.parametrize("cell_bits", [1, 4])
def test_tall_tile_overflows_no_int16_accumulator(cell_bits):
    """All-ones inputs on maximal levels of a very tall tile: currents above 2**15."""
    rows = 33_000
    x = np.full((2, rows), 255)
    pos = np.full((2, rows, 20), 2**cell_bits - 1, dtype=np.uint8)
    neg = np.zeros_like(pos)
    neg[1, ::3] = 2**cell_bits - 1
    options = dict(input_bits=8, cell_bits=cell_bits, adc_bits=None, adc_shift=0)
    expected = reference.tile_matvec(x, pos, neg, **options)
    assert reference.column_currents(x, pos, neg, input_bits=8).max() >= 2**15
    for isa in kernel.supported_isas():
        with kernel.use_isa(isa):
            assert np.array_equal(kernel.tile_matvec(x, pos, neg, **options), expected), isa


@needs_kernel
@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
def test_result_does_not_depend_on_thread_count(noise):
    """Large enough that the kernel really starts two threads."""
    x, pos, neg = random_tile(8, batch=64, slices=4, rows=128, cols=128, input_bits=6)
    expected = reference.tile_matvec(x, pos, neg, **OPTIONS, noise=noise)
    try:
        for count in (1, 2, 3):
            kernel.set_threads(count)
            assert kernel.threads() == count
            assert np.array_equal(kernel.tile_matvec(x, pos, neg, **OPTIONS, noise=noise), expected)
    finally:
        kernel.set_threads(0)


def test_negative_thread_count_is_refused():
    with pytest.raises(SpintronError):
        kernel.set_threads(-1)


@needs_kernel
def test_sample_offset_splits_a_batch_like_one_call():
    """Read noise is indexed by the global sample, so two half-batch calls equal one call."""
    x, pos, neg = random_tile(9, batch=6)
    whole = kernel.tile_matvec(x, pos, neg, **OPTIONS, noise=NOISE)
    first = kernel.tile_matvec(x[:2], pos, neg, **OPTIONS, noise=NOISE)
    second_noise = NoiseSpec(**{**NOISE.__dict__, "sample_offset": NOISE.sample_offset + 2})
    second = kernel.tile_matvec(x[2:], pos, neg, **OPTIONS, noise=second_noise)
    assert np.array_equal(np.concatenate([first, second]), whole)
    assert np.array_equal(whole, reference.tile_matvec(x, pos, neg, **OPTIONS, noise=NOISE))


def test_default_threads_from_environment(monkeypatch):
    monkeypatch.delenv("SPINTRON_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert kernel.default_threads() == 3
    monkeypatch.setenv("SPINTRON_THREADS", "5")
    assert kernel.default_threads() == 5
    for bad in ("zero", "0", "-2"):
        monkeypatch.setenv("SPINTRON_THREADS", bad)
        with pytest.raises(SpintronError, match="SPINTRON_THREADS"):
            kernel.default_threads()


@needs_kernel
@pytest.mark.parametrize("adc_bits,input_bits", [(24, 8), (32, 16), (12, 16), (None, 16)])
def test_wide_adc_codes_and_many_input_bits(adc_bits, input_bits):
    """Codes that no longer fit int32 once the input bits are combined (int64 epilogue)."""
    rng = np.random.default_rng(10)
    x = rng.integers(0, 2**input_bits, (5, 300))
    x[0] = 2**input_bits - 1
    pos = rng.integers(0, 16, (2, 300, 37)).astype(np.uint8)
    neg = np.where(rng.random(pos.shape) < 0.8, 0, pos).astype(np.uint8)
    options = dict(input_bits=input_bits, cell_bits=4, adc_bits=adc_bits, adc_shift=0)
    expected = reference.tile_matvec(x, pos, neg, **options)
    for isa in kernel.supported_isas():
        with kernel.use_isa(isa):
            assert np.array_equal(kernel.tile_matvec(x, pos, neg, **options), expected), isa
