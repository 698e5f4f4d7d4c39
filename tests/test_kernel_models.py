"""Whole models: the simulator with the C kernel equals it with the numpy reference.

The bundled digits MLP (ONNX) and a small CNN (torch, conv tiles from im2col), exact
and with every non-ideality on; SPINTRON_KERNEL switches the tile implementation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.frontend import load_model
from spintron_nn.passes.flows import quantize_and_lower
from spintron_nn.runtime import kernel

pytestmark = pytest.mark.skipif(not kernel.is_built(),
                                reason=f"C kernel not built: {kernel.load_error()}")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOISE = NoiseSpec(conductance_variation=0.05, read_noise=0.5, stuck_at_zero=0.01,
                  stuck_at_one=0.005)


def run_with(monkeypatch, kernel_name, design, inputs, noise):
    monkeypatch.setenv("SPINTRON_KERNEL", kernel_name)
    return run_spin(design, inputs, noise=noise, seed=1234)


@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
@pytest.mark.parametrize("adc_bits", [6, None], ids=["adc6", "ideal-adc"])
def test_digits_mlp_c_equals_numpy(monkeypatch, noise, adc_bits):
    calibration = np.load(EXAMPLES / "digits_calibration.npy").astype(np.float32)
    x = np.load(EXAMPLES / "digits_test.npz")["x"].astype(np.float32)[:64]
    design = quantize_and_lower(load_model(EXAMPLES / "digits_mlp.onnx"), [calibration],
                                adc_bits=adc_bits, rows=48, cols=40)
    (with_numpy,) = run_with(monkeypatch, "numpy", design, [x], noise)
    (with_c,) = run_with(monkeypatch, "c", design, [x], noise)
    assert np.array_equal(with_c, with_numpy)


@pytest.mark.slow
@pytest.mark.parametrize("noise", [None, NOISE], ids=["exact", "noise"])
def test_small_cnn_c_equals_numpy(monkeypatch, noise):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 24, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(24 * 8 * 8, 10),
    ).eval()
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 16, 16), dtype=np.float32)
    design = quantize_and_lower(load_model(model, example_input=torch.from_numpy(x[:1])),
                                [x], cell_bits=3, adc_bits=5, rows=100, cols=64)
    (with_numpy,) = run_with(monkeypatch, "numpy", design, [x], noise)
    (with_c,) = run_with(monkeypatch, "c", design, [x], noise)
    assert np.array_equal(with_c, with_numpy)
