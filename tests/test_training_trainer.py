"""QAT / variation-aware / energy-aware training on tiny data, a few steps (CI).

Also: a trained model exports to ONNX and compiles with the real ``spintronc``
command line, and the compiled design's outputs equal the fake-quantized model's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.config import CompileConfig
from spintron_nn.training.compiled import compile_with_spintronc, run_with_spintronc
from spintron_nn.training.energy import energy_regulariser, layer_energy, measured_one_fractions, popcount_fraction
from spintron_nn.training.threads import single_torch_thread
from spintron_nn.training.trainer import QuantizationAwareTrainer, TrainingOptions, Variation, train_float

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16, adc_bits=5)


@pytest.fixture(autouse=True)
def one_thread():
    with single_torch_thread():
        yield


def _task(seed=0, count=96):
    """Two Gaussian blobs per class in 20 dimensions: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 20)) * 1.5
    y = rng.integers(0, 3, count)
    return (centres[y] + rng.standard_normal((count, 20))).astype(np.float32), y


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 24), nn.ReLU(), nn.Linear(24, 3))


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _trainer(options, seed=0):
    x, y = _task()
    return QuantizationAwareTrainer(_model(seed), CONFIG, x[:32], options), x, y


def test_qat_steps_lower_the_loss_and_are_deterministic():
    runs = []
    for _ in range(2):
        trainer, x, y = _trainer(TrainingOptions(epochs=8, batch_size=32, learning_rate=1e-2))
        history = trainer.fit(x, y)
        runs.append((history, _params(trainer.model)))
    history = runs[0][0]
    assert history.steps == 24 and all(np.isfinite(history.loss))
    assert np.mean(history.loss[-3:]) < np.mean(history.loss[:3])
    assert torch.equal(runs[0][1], runs[1][1])  # same seed, same model
    assert runs[0][0].loss == runs[1][0].loss


def test_variation_aware_training_injects_fresh_seeded_noise():
    options = dict(epochs=1, batch_size=32, learning_rate=1e-2)
    plain, x, y = _trainer(TrainingOptions(**options))
    plain.fit(x, y)
    noisy = []
    for seed in (0, 0, 1):
        trainer, _, _ = _trainer(TrainingOptions(seed=seed, variation=Variation(0.2, 0.01), **options))
        trainer.fit(x, y)
        noisy.append(_params(trainer.model))
        assert trainer.network.noise is None  # noise is for training batches only
    assert not torch.equal(noisy[0], _params(plain.model))
    assert torch.equal(noisy[0], noisy[1]) and not torch.equal(noisy[0], noisy[2])


def test_energy_weight_lowers_the_measured_input_one_bits():
    fractions = {}
    for weight in (0.0, 3.0):
        trainer, x, y = _trainer(TrainingOptions(epochs=15, batch_size=32, learning_rate=1e-2, energy_weight=weight))
        history = trainer.fit(x, y)
        fractions[weight] = measured_one_fractions(trainer.network, x)[1]  # input of the 2nd layer
        if weight:
            assert len(history.energy_term) == history.steps and all(t > 0 for t in history.energy_term)
    assert fractions[3.0] < 0.8 * fractions[0.0]


def test_regulariser_is_differentiable_and_bounded():
    trainer, x, _ = _trainer(TrainingOptions())
    trainer.network.calibrate(x[:32])
    trainer.network(torch.from_numpy(x))
    energy, bound = energy_regulariser(trainer.network)
    energy.backward()
    assert 0 < float(energy.detach()) < bound
    assert trainer.model[0].weight.grad.abs().sum() > 0


def test_layer_energy_is_linear_in_the_one_bit_fraction():
    # the regulariser's premise: only row drives and cell reads depend on the input bits
    values = [layer_energy(300, 40, 10, CONFIG, f) for f in (0.0, 0.5, 1.0)]
    assert values[2] > values[0] > 0
    assert values[1] == pytest.approx((values[0] + values[2]) / 2, rel=1e-9)


def test_popcount_fraction_by_hand():
    assert popcount_fraction(np.array([0, 3, 5]), 3) == pytest.approx(4 / 9)


def test_float_training_helper_learns():
    x, y = _task()
    model = _model()
    train_float(model, x, y, TrainingOptions(epochs=20, batch_size=32, learning_rate=1e-2))
    with torch.no_grad():
        assert (model(torch.from_numpy(x)).argmax(1).numpy() == y).mean() > 0.9


def test_trained_model_compiles_with_spintronc_and_matches(tmp_path):
    trainer, x, y = _trainer(TrainingOptions(epochs=3, batch_size=32, learning_rate=1e-2))
    trainer.fit(x, y)
    bundle = compile_with_spintronc(trainer.model, tmp_path, x[:32], CONFIG, targets="ir,sim")
    simulated = run_with_spintronc(bundle, x, tmp_path)
    fake = trainer.network.predict(x)
    np.testing.assert_allclose(fake, simulated, rtol=0, atol=1e-6 * np.abs(simulated).max())
