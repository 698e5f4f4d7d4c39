"""Greedy per-layer weight widths (training/precision.py).

Oracles: the compiler (``compile_model(...).run(backend="sim")``) for the
accuracy of the chosen design and of every move the search refused; the
search's own bookkeeping (budget, energy falling at every step) is checked
against its definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spintron_nn.api import compile_model
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.energy import crossbar_energy
from spintron_nn.training.metrics import top1_accuracy
from spintron_nn.training.network import FakeQuantNetwork
from spintron_nn.training.precision import choose_layer_weight_bits, matrix_layer_names
from spintron_nn.training.threads import single_torch_thread
from spintron_nn.training.trainer import TrainingOptions, train_float

CONFIG = CompileConfig(activation_bits=4, rows=32, cols=32, adc_bits=5)
DROP = 0.0  # no accuracy to spend: on these tasks the search stops part-way (checked below)


def _task(seed: int):
    """Three Gaussian-blob classes in 12 dimensions and a small MLP trained on them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 12)) * 1.2
    labels = rng.integers(0, 3, 600)
    x = (centres[labels] + rng.standard_normal((600, 12))).astype(np.float32)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 3))
    with single_torch_thread():
        train_float(model, x[:400], labels[:400], TrainingOptions(epochs=8, learning_rate=3e-3, seed=seed))
    return model.eval(), x, labels


def _sim_accuracy(model, config, calibration, x, y) -> float:
    with single_torch_thread():
        design = compile_model(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))
    return top1_accuracy(design.run(x, backend="sim")[0], y)


@pytest.mark.parametrize("seed", [0, 1])
def test_choice_is_within_budget_and_the_compilers_accuracy(seed):
    model, x, y = _task(seed)
    calibration, xv, yv = x[:128], x[400:], y[400:]
    with single_torch_thread():
        choice = choose_layer_weight_bits(model, CONFIG, calibration, xv, yv, widths=(8, 4, 3, 2),
                                          max_accuracy_drop=DROP)
    assert choice["steps"], "the search narrowed nothing"
    assert choice["config"].weight_bits == 8
    assert dict(choice["config"].layer_weight_bits) == choice["layer_weight_bits"]
    assert choice["accuracy"] == _sim_accuracy(model, choice["config"], calibration, xv, yv)
    assert choice["accuracy"] >= choice["widest"]["accuracy"] - DROP - 1e-12
    energies = [choice["widest"]["energy_j"]] + [step["energy_j"] for step in choice["steps"]]
    assert all(a > b for a, b in zip(energies, energies[1:]))
    # the reported energy is crossbar_energy of the chosen network
    net = FakeQuantNetwork(model, choice["config"])
    net.calibrate(calibration)
    assert crossbar_energy(net, xv[:256])["energy_j"] == pytest.approx(choice["energy_j"], rel=1e-12)
    # stopped for a reason: every remaining move breaks the budget or saves nothing (compiler's accuracy)
    widths, refused = (8, 4, 3, 2), 0
    for name in matrix_layer_names(model):
        bits = choice["config"].weight_bits_of(name)
        narrower = [b for b in widths if b < bits]
        if not narrower:
            continue
        trial = choice["config"].replace(layer_weight_bits={**choice["layer_weight_bits"], name: narrower[0]})
        over_budget = _sim_accuracy(model, trial, calibration, xv, yv) < choice["widest"]["accuracy"] - DROP
        net = FakeQuantNetwork(model, trial)
        net.calibrate(calibration)
        saves = crossbar_energy(net, xv[:256])["energy_j"] < choice["energy_j"]
        assert over_budget or not saves, name
        refused += 1
    assert refused, "the search ran to the narrowest width everywhere: nothing left to check"


def test_one_width_changes_nothing():
    model, x, y = _task(2)
    with single_torch_thread():
        choice = choose_layer_weight_bits(model, CONFIG, x[:64], x[400:], y[400:], widths=(6,))
    assert choice["steps"] == [] and choice["layer_weight_bits"] == {}
    assert choice["config"].weight_bits == 6 and choice["accuracy"] == choice["widest"]["accuracy"]


@pytest.mark.parametrize("kwargs, words", [(dict(widths=()), "at least one"), (dict(widths=(9, 4)), "2..8"),
                                           (dict(max_accuracy_drop=2.0), "fraction")])
def test_bad_options(kwargs, words):
    model, x, y = _task(3)
    with pytest.raises(SpintronError, match=words):
        choose_layer_weight_bits(model, CONFIG, x[:64], x[400:], y[400:], **kwargs)


@pytest.mark.parametrize("change, words", [
    (dict(y=slice(0, 1)), "one label per item"), (dict(x=slice(0, 0), y=slice(0, 0)), "non-empty"),
    (dict(calibration=slice(0, 0)), "calibration is empty"), (dict(energy_inputs=slice(0, 0)), "energy_inputs is empty"),
    (dict(widths=4), "sequence"), (dict(targets=("ir",)), "maps nothing")])
def test_bad_data(change, words):
    model, x, y = _task(4)
    xv, yv, calibration = x[400:], y[400:], x[:64]
    kwargs = {}
    if "x" in change:
        xv = xv[change["x"]]
    if "y" in change:
        yv = yv[change["y"]]
    if "calibration" in change:
        calibration = calibration[change["calibration"]]
    if "energy_inputs" in change:
        kwargs["energy_inputs"] = xv[change["energy_inputs"]]
    if "widths" in change:
        kwargs["widths"] = change["widths"]
    config = CONFIG.replace(targets=change["targets"]) if "targets" in change else CONFIG
    with pytest.raises(SpintronError, match=words):
        choose_layer_weight_bits(model, config, calibration, xv, yv, **kwargs)


def test_submodule_modes_are_restored():
    model, x, y = _task(5)
    model.train()
    model[1].eval()  # e.g. a part frozen during fine-tuning
    with single_torch_thread():
        choose_layer_weight_bits(model, CONFIG, x[:64], x[400:], y[400:], widths=(8, 4))
    assert model.training and not model[1].training and model[0].training


def test_activation_widths_are_searched_too():
    """With activation widths the inputs and hidden layers' results are knobs as well: the choice keeps the
    budget by the compiler's own accuracy, energy falls at every step, and the output layer's
    result (which feeds no crossbar) is never narrowed."""
    from spintron_nn.training.precision import choose_layer_widths

    model, x, y = _task(6)
    calibration, xv, yv = x[:128], x[400:], y[400:]
    with single_torch_thread():
        choice = choose_layer_widths(model, CONFIG, calibration, xv, yv, widths=(8, 4),
                                     activation_widths=(8, 4, 3, 2), max_accuracy_drop=0.02)
    kinds = {step["kind"] for step in choice["steps"]}
    assert "activation" in kinds, choice["steps"]
    config = choice["config"]
    assert config.activation_bits == 8 and dict(config.layer_activation_bits) == choice["layer_activation_bits"]
    assert "layer2" not in choice["layer_activation_bits"]  # the output layer
    assert choice["input_bits"] == config.graph_input_bits
    assert {step["layer"] for step in choice["steps"] if step["kind"] == "input"} <= {"input"}
    assert choice["accuracy"] == _sim_accuracy(model, config, calibration, xv, yv)
    assert choice["accuracy"] >= choice["widest"]["accuracy"] - 0.02 - 1e-12
    energies = [choice["widest"]["energy_j"]] + [step["energy_j"] for step in choice["steps"]]
    assert all(a > b for a, b in zip(energies, energies[1:]))
    with pytest.raises(SpintronError, match="2..8"):
        choose_layer_widths(model, CONFIG, calibration, xv, yv, activation_widths=(9,))
    with pytest.raises(SpintronError, match="leave them unset"):
        choose_layer_widths(model, CONFIG.replace(input_bits=8), calibration, xv, yv, activation_widths=(8, 4))


def test_adc_resolutions_are_searched_too():
    from spintron_nn.training.precision import choose_layer_widths

    model, x, y = _task(7)
    calibration, xv, yv = x[:128], x[400:], y[400:]
    with single_torch_thread():
        choice = choose_layer_widths(model, CONFIG, calibration, xv, yv, widths=(8,), adc_widths=(8, 5, 3, 2),
                                     max_accuracy_drop=0.02)
    assert {step["kind"] for step in choice["steps"]} == {"ADC"}, choice["steps"]
    config = choice["config"]
    assert config.adc_bits == 8 and dict(config.layer_adc_bits) == choice["layer_adc_bits"] != {}
    assert choice["accuracy"] == _sim_accuracy(model, config, calibration, xv, yv)
    assert choice["accuracy"] >= choice["widest"]["accuracy"] - 0.02 - 1e-12
    energies = [choice["widest"]["energy_j"]] + [step["energy_j"] for step in choice["steps"]]
    assert all(a > b for a, b in zip(energies, energies[1:]))  # a narrower ADC converts for less
    with pytest.raises(SpintronError, match="1..12"):
        choose_layer_widths(model, CONFIG, calibration, xv, yv, adc_widths=(13,))
    with pytest.raises(SpintronError, match="leave it unset"):
        choose_layer_widths(model, CONFIG.replace(layer_adc_bits={"layer0": 4}), calibration, xv, yv,
                            adc_widths=(8, 4))


def test_only_results_read_by_a_matrix_layer_are_width_knobs():
    """A hidden result is a knob of the search only if another matrix layer reads its codes, through
    pools, flattens and clamps (which keep the grid) but not through an add (which requantizes)."""
    from spintron_nn.training.precision import _narrowable_results

    class PoolHead(nn.Module):  # layer1's result is pooled and returned: its width prices no crossbar
        def __init__(self):
            super().__init__()
            self.conv0, self.conv1, self.pool = nn.Conv2d(1, 4, 3), nn.Conv2d(4, 3, 3), nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return torch.flatten(self.pool(self.conv1(torch.relu(self.conv0(x)))), 1)

    class AddBeforeHead(nn.Module):  # layer0 and layer1 meet in an add, whose result layer2 reads
        def __init__(self):
            super().__init__()
            self.a, self.b, self.head = nn.Linear(6, 6), nn.Linear(6, 6), nn.Linear(6, 2)

        def forward(self, x):
            h = torch.relu(self.a(x))
            return self.head(torch.relu(h + self.b(h)))

    chain = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 2))
    names = {label: [f"layer{s.index}" for s in _narrowable_results(model)]
             for label, model in [("pool head", PoolHead()), ("add", AddBeforeHead()), ("chain", chain)]}
    assert names == {"pool head": ["layer0"], "add": ["layer0"], "chain": ["layer0"]}
