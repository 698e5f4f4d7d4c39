"""LearnedClip (PACT): what is trained is what compiles.

Oracles: the compiler (ONNX export -> frontend -> fuse-activations) for the
fused clamp, ``compile_model(...).run(backend="sim")`` for the fake-quantized
forward, and torch's own clamp for the gradient.  Alphas are set where they
clip part of their input, far from ReLU6's 6, so that a clamp read as ReLU6 would be caught.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model
from spintron_nn.ir import nn as nn_ir
from spintron_nn.ir.module_info import main_function
from spintron_nn.passes.flows import default_float_pipeline
from spintron_nn.passes.pipeline import run_pipeline
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.learned_clip import LearnedClip, clip_decay_penalty
from spintron_nn.training.threads import single_torch_thread


@pytest.fixture(autouse=True)
def one_thread():
    with single_torch_thread():
        yield


def _clip_where_it_matters(model, x, seed):
    """Set every clip's top to a random 70-95 % quantile of its input on ``x``: it clips some
    values, not all, and lands far from ReLU6's 6."""
    rng = np.random.default_rng(seed)
    h = torch.from_numpy(x)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, LearnedClip):
                layer.alpha.fill_(float(np.quantile(h.numpy(), rng.uniform(0.7, 0.95))))
            elif isinstance(layer, nn.Hardtanh):
                layer.max_val = float(np.quantile(h.numpy(), rng.uniform(0.7, 0.95)))
            h = layer(h)
    return model


def _mlp(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(30, 40), LearnedClip(), nn.Linear(40, 24), LearnedClip(), nn.Linear(24, 7))
    return _clip_where_it_matters(model, _data((30,), seed), seed)


def _cnn(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 10, 3, padding=1), LearnedClip(), nn.MaxPool2d(2),
                          nn.Conv2d(10, 20, 3, padding=1), nn.Hardtanh(0.0, 6.0),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(20, 5))
    return _clip_where_it_matters(model, _data((2, 8, 8), seed), seed)


CASES = [
    (_mlp, (30,), CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, rows=16, cols=16, adc_bits=5)),
    (_cnn, (2, 8, 8), CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, rows=64, cols=16, adc_bits=6)),
]


def _data(shape, seed, count=24):
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal((count,) + shape), -1.5, 1.5).astype(np.float32)


def test_export_fuses_into_the_layers_clamp():
    model = _mlp(3).eval()
    x = _data((30,), 3)
    module = load_model(model, example_input=torch.from_numpy(x[:1]))
    run_pipeline(module, default_float_pipeline())
    ops = list(main_function(module).walk())
    assert not any(isinstance(op, nn_ir.ClipOp) for op in ops)
    gemms = [op for op in ops if isinstance(op, nn_ir.GemmOp)]
    clamps = [(nn_ir.read_float(g.properties["clamp_min"]), nn_ir.read_float(g.properties["clamp_max"]))
              for g in gemms[:2]]
    expected = [(0.0, float(np.float32(m.alpha.item()))) for m in model if isinstance(m, LearnedClip)]
    assert clamps == expected
    assert "clamp_max" not in gemms[2].properties


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_equals_simulator(case, seed):
    build, shape, config = CASES[case]
    model = build(seed).eval()
    calibration, x = _data(shape, seed), _data(shape, seed + 100)
    design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    simulated = design.run(x, backend="sim")[0]
    scale = max(float(np.abs(simulated).max()), 1e-30)
    np.testing.assert_allclose(net.predict(x), simulated, rtol=0, atol=1e-6 * scale)
    assert len(np.unique(simulated)) > 3
    # the clip really is alpha, not 6: the compiled ranges top out at alpha
    alphas = [m.bounds()[1] if isinstance(m, LearnedClip) else m.max_val for m in model
              if isinstance(m, (LearnedClip, nn.Hardtanh))]
    tops = [high for _, high in net.hardware.layer_ranges[:len(alphas)]]
    np.testing.assert_allclose(tops, alphas, rtol=1e-6)


def test_alpha_is_read_at_every_forward():
    build, shape, config = CASES[0]
    model = build(0).eval()
    calibration = _data(shape, 0)
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    before = net.predict(calibration)
    with torch.no_grad():
        model[1].alpha.mul_(0.5)  # below the calibrated top: fewer codes used, outputs change
    assert not np.array_equal(net.predict(calibration), before)


def test_alpha_receives_the_pact_gradient():
    build, shape, config = CASES[1]
    model = build(0)
    calibration = _data(shape, 0)
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    x = torch.from_numpy(calibration)
    out = net(x)
    torch.nn.functional.cross_entropy(out, torch.arange(len(x)) % 5).backward()
    alpha = model[1].alpha
    assert alpha.grad is not None and torch.isfinite(alpha.grad) and alpha.grad != 0
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_float_gradient_and_decay():
    x = torch.tensor([-1.0, 0.5, 2.0, 3.0])
    clip = LearnedClip(1.5)
    clip(x).sum().backward()
    assert clip.alpha.grad.item() == 2.0  # two values above alpha
    decayed = LearnedClip(1.5, decay=0.1)
    (decayed(x).sum() + clip_decay_penalty(nn.Sequential(decayed))).backward()
    assert decayed.alpha.grad.item() == pytest.approx(2.0 + 0.1 * 1.5)
    with pytest.raises(ValueError):
        LearnedClip(0.0)


def test_unfused_learned_clip_is_an_error():

    with pytest.raises(SpintronError, match="LearnedClip"):
        FakeQuantNetwork(nn.Sequential(LearnedClip(), nn.Linear(4, 4)))


def test_dead_units_compile_as_they_are():
    """Units that weight decay shrank for good (weights ~1e-30 with a live bias) compile
    with no manual step (quant_math.fit_bias), and fake quantization equals the simulator."""
    model = _cnn(0).eval()
    calibration, x = _data((2, 8, 8), 0), _data((2, 8, 8), 1)
    with torch.no_grad():
        model[3].weight[4] *= 1e-30
        model[3].bias[4] = 0.3
        model[7].weight[1] *= 1e-9
    config = CASES[1][2]
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    simulated = design.run(x, backend="sim")[0]
    np.testing.assert_allclose(net.predict(x), simulated, rtol=0, atol=1e-6 * float(np.abs(simulated).max()))


def test_trainer_applies_the_decay_where_the_forward_never_reads_alpha():
    """alpha above every input: the task gives it no gradient, the decay still pulls it down."""
    from spintron_nn.training.trainer import TrainingOptions, train_float

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), LearnedClip(50.0, decay=0.1), nn.Linear(3, 2))
    x = np.random.default_rng(0).uniform(-1, 1, (16, 4)).astype(np.float32)
    y = np.arange(16) % 2
    train_float(model, x, y, TrainingOptions(epochs=1, batch_size=16, learning_rate=0.5))
    assert model[1].alpha.item() < 50.0
    model[1].decay = 0.0
    before = model[1].alpha.item()
    train_float(model, x, y, TrainingOptions(epochs=1, batch_size=16, learning_rate=0.5))
    assert model[1].alpha.item() == before
