"""Device noise in one matrix layer at a time (FakeQuantNetwork.noise_layers, training/sensitivity.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.sensitivity import layer_variation_sensitivity

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, adc_bits=6, rows=16, cols=16)
SPEC = NoiseSpec(seed=3, conductance_variation=0.3, stuck_at_zero=0.02)


def _network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 25, 4))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2, 5, 5)).astype(np.float32)
    net = FakeQuantNetwork(model, CONFIG)
    net.calibrate(x)
    return net, x


def test_noise_layers_select_whose_tiles_see_the_devices():
    net, x = _network()
    clean = net.predict(x)
    net.noise = SPEC
    full = net.predict(x)
    outputs = {}
    for layers in (frozenset(), frozenset({0}), frozenset({1}), frozenset({0, 1})):
        net.noise_layers = layers
        outputs[layers] = net.predict(x)
        if layers == frozenset({1}):
            second_input = net.matrix_inputs[1][0].numpy()  # conv's output: clean when only the Linear is noisy
    np.testing.assert_array_equal(outputs[frozenset()], clean)
    np.testing.assert_array_equal(outputs[frozenset({0, 1})], full)
    assert not np.array_equal(outputs[frozenset({0})], clean) and not np.array_equal(outputs[frozenset({1})], clean)
    assert not np.array_equal(outputs[frozenset({0})], full)
    net.noise, net.noise_layers = None, None
    net.predict(x)
    np.testing.assert_array_equal(second_input, net.matrix_inputs[1][0].numpy())


def test_layer_sensitivity_rows_and_restored_state():
    net, x = _network()
    y = net.predict(x).argmax(axis=1)  # the clean design's own labels: clean accuracy 1
    net.noise, net.noise_layers = None, None
    result = layer_variation_sensitivity(net, x, y, SPEC, draws=2)
    assert result["clean"] == 1.0
    assert [(r["index"], r["name"]) for r in result["layers"]] == [(0, "0"), (1, "3")]
    for row in result["layers"]:
        net.noise_layers = frozenset({row["index"]})
        expected = []
        for d in range(2):
            net.noise = NoiseSpec(seed=3 + d, conductance_variation=0.3, stuck_at_zero=0.02)
            expected.append(np.mean(net.predict(x).argmax(axis=1) == y))
        assert row["accuracy"] == pytest.approx(np.mean(expected))
        assert row["drop_points"] == pytest.approx(100 * (1.0 - row["accuracy"]))
    assert result["all_layers"] < 1.0  # 30 % variation is felt
    net.noise, net.noise_layers = None, None
    layer_variation_sensitivity(net, x, y, SPEC, draws=1)
    assert net.noise is None and net.noise_layers is None  # restored


def test_layer_sensitivity_errors():
    net, x = _network()
    y = np.zeros(len(x), dtype=int)
    with pytest.raises(SpintronError, match="some device non-ideality"):
        layer_variation_sensitivity(net, x, y, NoiseSpec(seed=1))
    for draws in (0, 2.5):
        with pytest.raises(SpintronError, match="at least one device draw"):
            layer_variation_sensitivity(net, x, y, SPEC, draws=draws)
    with pytest.raises(SpintronError, match="a NoiseSpec"):
        layer_variation_sensitivity(net, x, y, {"conductance_variation": 0.1})
    net.noise, net.noise_layers = SPEC, frozenset({7})
    with pytest.raises(SpintronError, match=r"noise_layers \[7\] are not matrix layers"):
        net.predict(x)
    assert net.noise is SPEC  # predict restores the spec after an error too
    fresh = FakeQuantNetwork(nn.Sequential(nn.Linear(3, 2)), CONFIG)
    with pytest.raises(SpintronError, match="calibrate"):
        layer_variation_sensitivity(fresh, np.zeros((2, 3), np.float32), np.zeros(2, int), SPEC)
