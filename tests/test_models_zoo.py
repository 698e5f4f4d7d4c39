"""The model zoo: documented API, every model builds, runs and compiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spintron_nn import models
from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training import FakeQuantNetwork
from spintron_nn.training.learned_clip import LearnedClip


def test_names_and_unknown_model():
    assert set(models.names()) >= {"digits_mlp", "keyword_cnn", "tiny_vision_cnn", "mobilenet_v2_style", "resnet_style"}
    with pytest.raises(SpintronError, match="unknown model 'nope'.*digits_mlp"):
        models.get("nope")


@pytest.mark.parametrize("name", sorted(models.ZOO))
def test_builds_and_runs_on_its_input_shape(name):
    torch.manual_seed(0)
    model = models.get(name)
    assert not model.training
    with torch.no_grad():
        out = model(torch.randn(*models.input_shape(name)))
    assert out.ndim == 2 and out.shape[0] == 1 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["digits_mlp", "keyword_cnn", "tiny_vision_cnn"])
def test_trainable_models_fake_quantize(name):
    FakeQuantNetwork(models.get(name))  # raises for layers fake quantization does not support


@pytest.mark.parametrize("name", ["keyword_cnn", "resnet_style",
                                  pytest.param("mobilenet_v2_style", marks=pytest.mark.slow)])
def test_compiles_onto_crossbars_and_simulates(name):
    torch.manual_seed(0)
    model = models.get(name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4,) + models.input_shape(name)[1:]).astype(np.float32)
    design = compile_model(model, CompileConfig(weight_bits=4, activation_bits=4), x,
                           example_input=torch.from_numpy(x[:1]))
    simulated = design.run(x, backend="sim")[0]
    reference = design.run(x, backend="float")[0]
    assert simulated.shape == reference.shape and np.isfinite(simulated).all()


def test_keyword_cnn_learned_clip_option():
    model = models.get("keyword_cnn", activation="learned_clip", clip_init=2.5)
    clips = [m for m in model if isinstance(m, LearnedClip)]
    assert len(clips) == 3 and all(m.bounds() == (0.0, 2.5) for m in clips)
    assert len(FakeQuantNetwork(model).steps) == len(FakeQuantNetwork(models.get("keyword_cnn")).steps)
    with pytest.raises(SpintronError, match="activation must be"):
        models.get("keyword_cnn", activation="gelu")


def test_keyword_cnn_flatten_head_keeps_positions():
    model = models.get("keyword_cnn", head="flatten")
    assert model[-1].in_features == 32 * (48 // 8) * (13 // 8)
    FakeQuantNetwork(model)
    with torch.no_grad():
        assert model(torch.zeros(models.input_shape("keyword_cnn"))).shape == (1, 6)
    with pytest.raises(SpintronError, match="head must be"):
        models.get("keyword_cnn", head="attention")
    with pytest.raises(SpintronError, match="at least 8x8"):
        models.get("keyword_cnn", head="flatten", coefficients=4)


@pytest.mark.skipif(not models.weights_path("keyword_cnn").exists(), reason="weights not shipped")
def test_pretrained_keyword_cnn_matches_the_default_architecture():
    model = models.get("keyword_cnn", pretrained=True)  # load_state_dict is strict
    assert set(model.state_dict()) == set(models.get("keyword_cnn").state_dict())


def test_pretrained_without_weights_is_an_error():
    with pytest.raises(SpintronError, match="no pretrained weights for 'resnet_style'"):
        models.get("resnet_style", pretrained=True)
    with pytest.raises(SpintronError, match="changed architecture"):
        models.get("digits_mlp", pretrained=True, hidden=8)


def test_save_and_load_weights_round_trip(tmp_path, monkeypatch):
    model = models.get("digits_mlp")
    monkeypatch.setattr(models, "WEIGHTS", tmp_path)
    models.save_weights("digits_mlp", model)
    loaded = models.get("digits_mlp", pretrained=True)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.skipif(not models.weights_path("digits_mlp").exists(), reason="weights not shipped")
def test_pretrained_digits_mlp_is_accurate():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy((digits.data / 16.0).astype(np.float32))
    with torch.no_grad():
        predicted = models.get("digits_mlp", pretrained=True)(x).argmax(1).numpy()
    assert np.mean(predicted == digits.target) > 0.95


def test_pretrained_tiny_vision_cnn_classifies_fresh_shapes():
    """The shipped weights (examples/tiny_vision.py --save-weights) on a draw no split uses."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import shapes_data

    assert 77 not in shapes_data.SPLIT_SEEDS.values()
    images, labels = shapes_data.make_split(300, seed=77)
    x = shapes_data.normalise(images)
    model = models.get("tiny_vision_cnn", pretrained=True)
    with torch.no_grad():
        float_accuracy = float((model(torch.from_numpy(x)).argmax(1).numpy() == labels).mean())
    assert float_accuracy > 0.85  # ten balanced classes: chance is 0.1
    config = CompileConfig(weight_bits=4, activation_bits=4, output_bits=8, cell_bits=2, adc_bits=6)
    net = FakeQuantNetwork(model, config)
    net.calibrate(x[:128])
    assert float((net.predict(x).argmax(1) == labels).mean()) > 0.8  # W4A4, as trained
