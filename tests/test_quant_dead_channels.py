"""A channel whose weights weight decay shrank to nothing (but with a bias)
compiles: a coarser scale keeps its bias code within the accumulator's headroom
(``quant_math.fit_bias``, docs/semantics.md section 1) instead of pushing the
accumulator past 2**31.  Oracle: the float model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spintron_nn.api import compile_model
from spintron_nn.backends.sim import quant_math
from spintron_nn.config import CompileConfig


def test_fit_bias_leaves_ordinary_channels_alone_and_fits_dead_ones():
    rng = np.random.default_rng(0)
    k, weight_bits, input_bits = 512, 4, 8
    w_int = rng.integers(-7, 8, size=(k, 5))
    # channel 1: weights 1e4 below the bias, a bias code ~3e8: fits, must stay exact
    scale = np.array([0.1, 1e-4 / 7, 1e-12, 0.3, 1e-14])
    bias = np.array([0.5, 1.0, 0.4, 0.0, -2.0])
    x_scale = 1 / 255
    new_w, new_scale, bias_int = quant_math.fit_bias(w_int, scale, bias, x_scale, axis=1,
                                                     weight_bits=weight_bits, input_bits=input_bits)
    ordinary = [0, 1, 3]
    assert np.array_equal(new_w[:, ordinary], w_int[:, ordinary])
    assert np.array_equal(new_scale[ordinary], scale[ordinary])
    assert np.array_equal(bias_int[ordinary], np.rint(bias[ordinary] / (x_scale * scale[ordinary])))
    # dead channels: the accumulator bound |bias_int| + K * qmax_w * qmax_x stays below 2**31, just
    bound = np.abs(bias_int[[2, 4]]) + k * 7 * 255
    assert np.all(bound < quant_math.ACC_LIMIT) and np.all(bound > 0.99 * quant_math.ACC_LIMIT)
    assert not new_w[:, [2, 4]].any()  # re-rounded on the coarse scale: nothing left of them
    # the represented bias is the real bias to float32 precision
    np.testing.assert_allclose(bias_int * x_scale * new_scale, bias, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_network_with_dead_units_compiles_and_matches_float(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6)).eval()
    with torch.no_grad():
        model[0].weight[3] *= 1e-12   # dead hidden unit, bias on
        model[0].bias[3] = 0.7
        model[2].weight[5] *= 1e-15   # dead output, bias only
        model[2].bias[5] = -0.4
    rng = np.random.default_rng(seed)
    calibration = rng.standard_normal((256, 20)).astype(np.float32)
    design = compile_model(model, CompileConfig(weight_bits=8, activation_bits=8, adc_bits=10), calibration,
                           example_input=torch.from_numpy(calibration[:1]))
    x = calibration[:64]  # inside the calibrated ranges: the error is quantization only
    got = design.run(x)[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    spread = want.max() - want.min()
    assert np.abs(got - want).max() <= 0.05 * spread
    np.testing.assert_allclose(got[:, 5], -0.4, atol=2 * spread / 255)
