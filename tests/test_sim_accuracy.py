"""Accuracy of compiled designs on trained classifiers, held-out inputs.

Oracle: onnxruntime on the ONNX model (exported from torch for the trained
networks, the bundled file for the digits MLP).  The models are trained here
(seeded) on sklearn's digits; calibration uses training images only and the
agreement is measured on images neither training nor calibration saw.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from sklearn.datasets import load_digits

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.frontend import load_model
from spintron_nn.frontend.torch import export_to_onnx
from spintron_nn.passes.flows import quantize_and_lower

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"
LOSSLESS_W8A8 = dict(weight_bits=8, activation_bits=8, adc_bits=None)


def onnxruntime_outputs(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def digits_split(image: bool):
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    x = x[:, None] if image else x.reshape(len(x), -1)
    order = np.random.default_rng(0).permutation(len(x))
    train, held_out = order[:1200], order[1200:]
    return x[train], data.target[train], x[held_out]


def train(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int) -> torch.nn.Module:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(xs)).split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xs[batch]), ys[batch]).backward()
            optimizer.step()
    return model.eval()


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10)
    )


def cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 12, 3, padding=1), torch.nn.BatchNorm2d(12), torch.nn.ReLU(),
        torch.nn.Conv2d(12, 12, 3, padding=1, stride=2, groups=12), torch.nn.ReLU(),  # depthwise
        torch.nn.Conv2d(12, 24, 1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(24 * 2 * 2, 10),
    )


def agreement(model: torch.nn.Module, image: bool, epochs: int, **config) -> float:
    x_train, y_train, x_held_out = digits_split(image)
    model = train(model, x_train, y_train, epochs)
    example = torch.from_numpy(x_train[:1])
    expected = onnxruntime_outputs(export_to_onnx(model, example), x_held_out)
    design = quantize_and_lower(load_model(model, example_input=example), [x_train[:256]], **config)
    (actual,) = run_spin(design, [x_held_out])
    return float(np.mean(actual.argmax(axis=1) == expected.argmax(axis=1)))


def test_mlp_w8a8_lossless_adc_agrees_with_onnxruntime():
    assert agreement(mlp(), image=False, epochs=15, **LOSSLESS_W8A8) >= 0.99


@pytest.mark.slow
def test_cnn_w8a8_lossless_adc_agrees_with_onnxruntime():
    assert agreement(cnn(), image=True, epochs=15, **LOSSLESS_W8A8) >= 0.99


@pytest.mark.parametrize("config", [LOSSLESS_W8A8, {}], ids=["w8a8-lossless", "defaults"])
def test_digits_mlp_keeps_float_accuracy(config):
    """The bundled sklearn digits MLP: test accuracy within 1 point of float
    (onnxruntime), with a lossless ADC and with the defaults (6-bit ADC)."""
    model = onnx.load(EXAMPLES / "digits_mlp.onnx")
    test = np.load(EXAMPLES / "digits_test.npz")
    x, y = test["x"].astype(np.float32), test["y"]
    float_accuracy = np.mean(onnxruntime_outputs(model, x).argmax(axis=1) == y)
    calibration = np.load(EXAMPLES / "digits_calibration.npy").astype(np.float32)
    design = quantize_and_lower(load_model(EXAMPLES / "digits_mlp.onnx"), [calibration], **config)
    (logits,) = run_spin(design, [x])
    assert np.mean(logits.argmax(axis=1) == y) >= float_accuracy - 0.01


def test_sklearn_mlp_labels_and_probabilities_agree_with_onnxruntime():
    """skl2onnx writes MatMul + Add + Relu, Softmax, ArgMax and a label lookup
    (ArrayFeatureExtractor): compiled at the defaults (6-bit ADC)."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    from skl2onnx import to_onnx

    x_train, y_train, x_held_out = digits_split(image=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence warning
        classifier = MLPClassifier((32,), max_iter=300, random_state=0).fit(x_train, y_train)
    model = to_onnx(classifier, x_train[:1], options={id(classifier): {"zipmap": False}})
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {session.get_inputs()[0].name: x_held_out})
    design = quantize_and_lower(load_model(model), [x_train[:256]])
    sim_labels, sim_probabilities = run_spin(design, [x_held_out])
    assert sim_labels.dtype == np.int64 and sim_labels.shape == labels.shape
    assert np.mean(sim_labels == labels) >= 0.99
    assert np.mean(sim_probabilities.argmax(axis=1) == probabilities.argmax(axis=1)) >= 0.99
