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
from spintron_nn.errors import SpintronError
from spintron_nn.training.compiled import compile_with_spintronc, run_with_spintronc
from spintron_nn.energy.cost_model import one_bit_fraction
from spintron_nn.training.energy import energy_regulariser, layer_energy, measured_one_fractions
from spintron_nn.training.network import FakeQuantNetwork
from spintron_nn.training.threads import single_torch_thread
from spintron_nn.training.trainer import QuantizationAwareTrainer, TrainingOptions, Variation, train_float

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, rows=16, cols=16, adc_bits=5)


@pytest.fixture(autouse=True)
def one_thread():
    with single_torch_thread():
        yield


def _task(seed=0, count=96, separation=1.5):
    """One Gaussian blob per class in 20 dimensions: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 20)) * separation
    y = rng.integers(0, 3, count)
    return (centres[y] + rng.standard_normal((count, 20))).astype(np.float32), y


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 24), nn.ReLU(), nn.Linear(24, 3))


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _trainer(options, config=CONFIG, seed=0):
    x, y = _task()
    return QuantizationAwareTrainer(_model(seed), config, x[:32], options), x, y


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


def test_one_bit_fraction_by_hand():
    assert one_bit_fraction(np.array([0, 3, 5]), 3) == pytest.approx(4 / 9)


def test_float_training_helper_learns():
    x, y = _task()
    model = _model()
    train_float(model, x, y, TrainingOptions(epochs=20, batch_size=32, learning_rate=1e-2))
    with torch.no_grad():
        assert (model(torch.from_numpy(x)).argmax(1).numpy() == y).mean() > 0.9


@pytest.mark.parametrize("output_bits", [8, None])  # None: outputs as narrow as the activations
def test_trained_model_compiles_with_spintronc_and_matches(tmp_path, output_bits):
    trainer, x, y = _trainer(TrainingOptions(epochs=3, batch_size=32, learning_rate=1e-2),
                             CONFIG.replace(output_bits=output_bits))
    trainer.fit(x, y)
    bundle = compile_with_spintronc(trainer.model, tmp_path, x[:32], trainer.network.config, targets="ir,sim")
    simulated = run_with_spintronc(bundle, x, tmp_path)
    fake = trainer.network.predict(x)
    np.testing.assert_allclose(fake, simulated, rtol=0, atol=1e-6 * np.abs(simulated).max())
    assert (len(np.unique(simulated)) > 16) == (output_bits == 8)


def _learning_rates(options):
    """The learning rate of every step, read from the optimiser the trainer builds."""
    x, y = _task(count=64)
    model = _model()
    rates = []
    original_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    torch.optim.Adam.step = recording_step
    try:
        train_float(model, x, y, options)
    finally:
        torch.optim.Adam.step = original_step
    return rates


def test_cosine_schedule_decays_the_learning_rate_to_zero():
    rates = _learning_rates(TrainingOptions(epochs=4, batch_size=16, learning_rate=0.1, schedule="cosine"))
    assert len(rates) == 16
    expected = [0.05 * (1 + np.cos(np.pi * step / 16)) for step in range(16)]  # lr/2 (1 + cos(pi t / T))
    np.testing.assert_allclose(rates, expected, rtol=1e-9)
    assert _learning_rates(TrainingOptions(epochs=2, batch_size=16, learning_rate=0.1)) == [0.1] * 8


def test_cosine_schedule_spans_max_steps_when_they_stop_the_run():
    rates = _learning_rates(TrainingOptions(epochs=10, batch_size=16, learning_rate=0.1, schedule="cosine",
                                            max_steps=6))
    assert len(rates) == 6 and rates[3] == pytest.approx(0.05)  # halfway through 6 steps


def test_unknown_schedule_is_a_user_error():
    with pytest.raises(SpintronError, match="schedule"):
        TrainingOptions(schedule="linear")


def _overlapping_task():
    """Overlapping classes, split into training and validation halves: at lr 0.1 the
    validation accuracy peaks mid-run (epoch 2 of 6 / 5 with these seeds) and then
    falls as the model overfits, so keeping the best epoch is observable."""
    x, y = _task(count=192, separation=0.5)
    return x[:96], y[:96], (x[96:], y[96:])


def test_float_training_keeps_the_best_validation_epoch():
    x, y, validation = _overlapping_task()
    options = TrainingOptions(epochs=6, batch_size=32, learning_rate=0.1)
    model = _model()
    history = train_float(model, x, y, options, validation=validation)
    assert len(history.validation_accuracy) == 6
    assert history.best_epoch == int(np.argmax(history.validation_accuracy))  # the first of equal maxima
    assert history.validation_accuracy[-1] < history.validation_accuracy[history.best_epoch]  # premise
    with torch.no_grad():
        kept = float((model(torch.from_numpy(validation[0])).argmax(1).numpy() == validation[1]).mean())
    assert kept == history.validation_accuracy[history.best_epoch]
    last = _model()  # the same run without validation ends at the last epoch's weights
    train_float(last, x, y, options)
    assert not torch.equal(_params(last), _params(model))


def test_qat_keeps_the_best_validation_epoch_recalibrated():
    x, y, validation = _overlapping_task()
    trainer = QuantizationAwareTrainer(_model(), CONFIG, x[:32], TrainingOptions(epochs=5, batch_size=32,
                                                                                 learning_rate=0.1))
    history = trainer.fit(x, y, validation=validation)
    assert len(history.validation_accuracy) == 5
    assert history.best_epoch == int(np.argmax(history.validation_accuracy))
    assert history.validation_accuracy[-1] < history.validation_accuracy[history.best_epoch]  # premise
    assert trainer.accuracy(*validation) == history.validation_accuracy[history.best_epoch]
    # the restored weights carry their own calibration, as spintronc compile would take it
    fresh = FakeQuantNetwork(trainer.model, CONFIG)
    fresh.calibrate(trainer.calibration)
    assert fresh.hardware.layer_ranges == trainer.network.hardware.layer_ranges
    np.testing.assert_array_equal(fresh.predict(validation[0]), trainer.network.predict(validation[0]))


def test_validation_needs_labels():
    trainer, x, y = _trainer(TrainingOptions(epochs=1))
    with pytest.raises(SpintronError, match="validation"):
        trainer.fit(x, y, validation=(x[:4], y[:3]))


def test_full_distillation_learns_from_the_float_teacher_not_the_labels():
    x, y = _task()
    wrong = (y + 1) % 3
    params = {}
    for name, weight, labels in (("labels", 1.0, y), ("wrong labels", 1.0, wrong), ("half", 0.5, wrong)):
        trainer, _, _ = _trainer(TrainingOptions(epochs=2, batch_size=32, learning_rate=1e-2, distillation=weight))
        trainer.fit(x, labels)
        params[name] = _params(trainer.model)
    assert torch.equal(params["labels"], params["wrong labels"])
    assert not torch.equal(params["half"], params["wrong labels"])
    # the teacher is the model as it was before QAT, frozen
    trainer, _, _ = _trainer(TrainingOptions(epochs=4, batch_size=32, learning_rate=1e-2, distillation=1.0))
    before = _params(trainer.teacher)
    trainer.fit(x, wrong)
    assert torch.equal(before, _params(trainer.teacher)) and not torch.equal(before, _params(trainer.model))


def test_distillation_options_are_checked():
    with pytest.raises(SpintronError, match="distillation"):
        TrainingOptions(distillation=1.5)
    with pytest.raises(SpintronError, match="distillation"):
        TrainingOptions(distillation=0.5, distillation_temperature=0.0)
