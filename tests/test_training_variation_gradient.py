"""Variation-aware training differentiates through the device draw's weights.

Oracle: the simulator's noisy tiles (``reference.linear_accumulate`` with a
``NoiseSpec``).  Its accumulator is ``x @ W_eff`` up to the rounding of each
ADC read to whole level units (``|error| <= 1/2`` per read, times the read's
shift-add weight ``2**(b + s*cell_bits)``), so with an ADC that never
saturates and no read noise, ``training/device_weights.py``'s ``W_eff`` must
reproduce it within that bound; the clean weights must not (else the test
could not tell the draws apart).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.backends.sim import quant_math, reference
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.device_weights import effective_integer_weights
from spintron_nn.training.threads import single_torch_thread

# (K, N, weight bits, cell bits, input bits, rows per tile, cols per tile)
LAYERS = [(40, 12, 4, 2, 4, 16, 8), (70, 9, 6, 3, 3, 32, 4), (60, 30, 3, 1, 3, 16, 16), (100, 5, 8, 2, 5, 128, 128)]
NOISE = NoiseSpec(seed=7, tile_id=5, conductance_variation=0.15, stuck_at_zero=0.02, stuck_at_one=0.01)


def _read_rounding_bound(k, weight_bits, cell_bits, input_bits, rows_per_tile):
    """Largest |simulated - x @ W_eff| of one accumulator: 1/2 per read, shift-added, per row tile."""
    per_tile = 0.5 * (2**input_bits - 1) * sum(2 ** (s * cell_bits)
                                                for s in range(reference.num_slices(weight_bits, cell_bits)))
    return -(-k // rows_per_tile) * per_tile


def _random_layer(index):
    k, n, weight_bits, cell_bits, input_bits, rows, cols = LAYERS[index]
    rng = np.random.default_rng(index)
    limit = 2 ** (weight_bits - 1) - 1
    w = rng.integers(-limit, limit + 1, (k, n))
    w[rng.random((k, n)) < 0.2] = 0  # zero weights: only stuck cells make them read non-zero
    x = rng.integers(0, 2**input_bits, (64, k))
    return x, w, dict(weight_bits=weight_bits, cell_bits=cell_bits, rows_per_tile=rows, cols_per_tile=cols), input_bits


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_effective_weights_reproduce_the_noisy_tiles(index):
    x, w, shape, input_bits = _random_layer(index)
    simulated = reference.linear_accumulate(x, w, input_bits=input_bits, adc_bits=None, adc_shifts=0,
                                            noise=NOISE, **shape)
    bound = _read_rounding_bound(w.shape[0], shape["weight_bits"], shape["cell_bits"], input_bits,
                                 shape["rows_per_tile"])
    effective = effective_integer_weights(w, NOISE, **shape)
    error, clean_error = simulated - x @ effective, simulated - x @ w
    assert np.abs(error).max() <= bound
    # the clean weights are told apart: off the bound, and far off in RMS
    assert np.abs(clean_error).max() > bound
    assert np.sqrt(np.mean(error**2)) < 0.5 * np.sqrt(np.mean(clean_error**2.0))
    stuck_zero_weights = (w == 0) & (effective != 0)
    assert stuck_zero_weights.any()  # the case without a gradient path occurs


def test_without_noise_the_effective_weights_are_the_integers():
    x, w, shape, _ = _random_layer(0)
    np.testing.assert_array_equal(effective_integer_weights(w, NoiseSpec(seed=3), **shape), w)


# one layer, no clamp, a 12-bit ADC that calibrates to shift 0; inputs with a non-zero zero point
NETWORKS = [
    (lambda: nn.Sequential(nn.Linear(40, 20)), (40,), 40),              # 3 x 2 tiles of 16 x 16
    (lambda: nn.Sequential(nn.Conv2d(3, 18, 3, padding=1)), (3, 6, 6), 27),  # 2 x 2 tiles
]
CONFIG = CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, adc_bits=12, rows=16, cols=16)
SPEC = NoiseSpec(seed=4, conductance_variation=0.15, stuck_at_zero=0.02, stuck_at_one=0.01)


@pytest.mark.parametrize("case", range(len(NETWORKS)))
def test_the_noisy_surrogate_is_the_noisy_layer(case):
    build, shape, k = NETWORKS[case]
    torch.manual_seed(case)
    rng = np.random.default_rng(case)
    calibration = np.clip(rng.standard_normal((64,) + shape), -1.5, 1.5).astype(np.float32)
    x = np.clip(rng.standard_normal((32,) + shape), -1.2, 1.2).astype(np.float32)  # inside the input range
    net = FakeQuantNetwork(build(), CONFIG)
    net.calibrate(calibration)
    assert int(net.hardware.adc_shifts[0].max()) == 0
    net.noise = SPEC
    with single_torch_thread(), torch.no_grad():
        exact = net(torch.from_numpy(x)).numpy().astype(np.float64)
        x_fq, grid_in, step = net.matrix_inputs[0]
        assert grid_in.zero_point != 0  # the digital zero-point term sees the programmed weights
        w_int, w_scale = step.integer_weights(CONFIG, grid_in.scale)
        noisy, clean = (step.surrogate(x_fq, grid_in, w_int, w_scale, CONFIG, spec).numpy().astype(np.float64)
                        for spec in (step.tile_noise(SPEC), None))
    out_scale, _ = quant_math.activation_quant_params(*net.hardware.layer_ranges[0], CONFIG.activation_bits)
    channel_scale = w_scale.reshape((-1,) + (1,) * (exact.ndim - 2))
    # requant rounds to one output code and the bias to one accumulator unit (1/2 each);
    # the ADC reads round to level units
    bound = (0.5 * out_scale + grid_in.scale * channel_scale * (0.5 + _read_rounding_bound(k, 4, 2, 4, 16))
             + 1e-5)
    inside = (exact > exact.min()) & (exact < exact.max())  # outputs not clamped at the range ends
    assert inside.mean() > 0.8
    assert (np.abs(noisy - exact) <= bound)[inside].all()
    assert not (np.abs(clean - exact) <= bound)[inside].all()  # the clean surrogate is told apart


def test_noise_changes_the_gradient_and_reaches_every_parameter():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 18, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(18 * 36, 5))
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.clip(rng.standard_normal((16, 3, 6, 6)), -1.5, 1.5).astype(np.float32))
    net = FakeQuantNetwork(model, CONFIG)
    net.calibrate(x.numpy())
    grads = []
    for noise in (None, SPEC):
        net.noise = noise
        model.zero_grad()
        with single_torch_thread():
            torch.nn.functional.cross_entropy(net(x), torch.arange(16) % 5).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for clean, noisy in zip(*grads):
        assert torch.isfinite(noisy).all() and noisy.abs().sum() > 0
    assert not torch.equal(grads[0][0], grads[1][0])


def test_draws_per_batch_gives_each_chunk_its_own_device_draw():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 20), nn.ReLU(), nn.Linear(20, 5))
    rng = np.random.default_rng(2)
    x = np.clip(rng.standard_normal((10, 40)), -1.5, 1.5).astype(np.float32)
    net = FakeQuantNetwork(model, CONFIG)
    net.calibrate(x)
    net.noise, net.draws_per_batch = SPEC, 3
    with single_torch_thread():
        chunked = net(torch.from_numpy(x)).detach().numpy()  # grad enabled: training
        assert [len(inputs[0]) for inputs in net.matrix_inputs] == [10, 10]  # all chunks, for the energy term
        separate = []
        for k, rows in enumerate(np.array_split(np.arange(10), 3)):
            net.noise = NoiseSpec(**{**vars(SPEC), "seed": SPEC.seed * 3 + k})
            separate.append(net.predict(x[rows]))
        net.noise = SPEC
        one_draw = net.predict(x)
    np.testing.assert_array_equal(chunked, np.concatenate(separate))
    assert not np.array_equal(chunked, one_draw)  # predict (no_grad) keeps one draw per call


def test_noisy_weight_value_is_the_draw_and_its_gradient_never_vanishes_or_flips():
    from spintron_nn.training.device_weights import MAX_GAIN, noisy_weight

    rng = np.random.default_rng(7)
    w_int = rng.integers(-7, 8, size=(6, 40))
    w_int[:, :5] = 0  # zero codes, some of which read a stuck cell below
    w_eff = w_int * (1 + 0.1 * rng.standard_normal(w_int.shape))
    w_eff[0, :5] = [0.0, 3.0, -2.0, 0.0, 1.0]  # stuck cells on zero weights
    w_eff[1, 5] = -w_int[1, 5] * 4  # a stuck cell that flips and multiplies a weight's read
    w_scale = rng.uniform(0.01, 0.1, size=6)
    w = torch.tensor(w_int * w_scale[:, None], dtype=torch.float64, requires_grad=True)
    out = noisy_weight(w, w_int, w_scale, w_eff)
    np.testing.assert_allclose(out.detach().numpy(), w_eff * w_scale[:, None], rtol=1e-12, atol=1e-15)
    out.sum().backward()
    gain = w.grad.numpy()
    assert np.all(gain[:, :5] == 1.0)  # zero codes: the plain straight-through gradient
    assert np.all((gain >= 0) & (gain <= MAX_GAIN))  # never flipped, never blown up
    nonzero = w_int != 0
    ordinary = nonzero & (np.abs(w_eff / np.where(nonzero, w_int, 1) - 1) < 0.5)
    np.testing.assert_allclose(gain[ordinary], (w_eff / np.where(nonzero, w_int, 1))[ordinary], rtol=1e-12)


def test_the_weight_gradient_is_the_crossbars_own_including_the_zero_point_term():
    """The crossbar reads the codes ``x_q`` with the drawn weights, the digital term subtracts ``zp``
    times the programmed ones: ``d y[b, n] / d w[n, k] = x_scale * (x_q[b, k] * gain[n, k] - zp)``.
    (Treating the drift of the zero-point term as a constant would give ``x_fq * gain`` instead, which
    misses how much a layer with inputs far from code 0 amplifies every weight's deviation.)"""
    from spintron_nn.training.device_weights import MAX_GAIN
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(40, 20))
    rng = np.random.default_rng(3)
    x = np.clip(rng.standard_normal((24, 40)) + 0.3, -1.5, 1.5).astype(np.float32)
    net = FakeQuantNetwork(model, CONFIG)
    net.calibrate(x)
    spec = NoiseSpec(seed=11, conductance_variation=0.2)
    net.noise = spec
    with single_torch_thread():
        with torch.no_grad():
            net(torch.from_numpy(x))
        x_fq, grid_in, step = net.matrix_inputs[0]
        assert grid_in.zero_point not in (0, 2**CONFIG.activation_bits - 1)
        w_int, w_scale = step.integer_weights(CONFIG, grid_in.scale)
        cotangent = torch.from_numpy(rng.standard_normal((24, 20)).astype(np.float32))
        model.zero_grad()
        (step.surrogate(x_fq, grid_in, w_int, w_scale, CONFIG, step.tile_noise(spec)) * cotangent).sum().backward()
    w_eff = step.effective_weights(w_int, step.tile_noise(spec), CONFIG)
    nonzero = w_int != 0
    gain = np.clip(np.where(nonzero, w_eff / np.where(nonzero, w_int, 1), 1.0), 0.0, MAX_GAIN)  # [N, K]
    assert np.abs(gain - 1).max() > 0.05
    x_q = np.rint(x_fq.numpy().astype(np.float64) / grid_in.scale) + grid_in.zero_point  # [B, K]
    expected = grid_in.scale * (np.einsum("bn,bk,nk->nk", cotangent.numpy().astype(np.float64), x_q, gain)
                                - grid_in.zero_point * cotangent.numpy().astype(np.float64).sum(axis=0)[:, None])
    got = model[0].weight.grad.numpy().astype(np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # the other rule (drift as a constant) is told apart
    constant_drift = grid_in.scale * np.einsum("bn,bk,nk->nk", cotangent.numpy().astype(np.float64),
                                               x_q - grid_in.zero_point, gain)
    assert np.abs(constant_drift - expected).max() > 100 * 1e-4 * np.abs(expected).max()
