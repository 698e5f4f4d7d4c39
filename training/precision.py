"""Energy-aware choice of per-layer weight widths (mixed precision), after training.

    choice = choose_layer_weight_bits(model, CompileConfig(activation_bits=4), calibration,
                                      x_val, y_val, widths=(8, 6, 4, 3, 2), max_accuracy_drop=0.01)
    choice["config"]      # a CompileConfig with the chosen layer_weight_bits

Greedy, one layer one step narrower at a time: starting from every matrix
layer at the widest width, each round tries every layer at its next narrower
width and keeps the move that saves the most crossbar energy per accuracy
point it costs, among the moves that keep the accuracy within
``max_accuracy_drop`` of the all-widest design and save energy; it stops when
no move qualifies.  Every candidate is measured, not estimated: its accuracy
is the fake-quantized network's (the compiled design's integer result, the
compiler's own calibration and ADC shifts for that width choice) and its
energy :func:`training.energy.crossbar_energy` (measured input one-bit
fractions and the weights' actual cell levels on ``energy_inputs``).

Widths are a discrete choice with no useful gradient (a code's level sum is a
staircase, ``training/energy.py``), so this is a search, not a regulariser;
``QuantizationAwareTrainer`` can then fine-tune at the chosen config.  Use a
validation split: the search selects on ``x, y``.  Cost: up to ``layers x
(len(widths) - 1)`` rounds of at most ``layers`` compiles and forwards each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from spintron_nn.config import CompileConfig, check_layer_weight_bits
from spintron_nn.errors import SpintronError
from spintron_nn.training.energy import crossbar_energy
from spintron_nn.training.metrics import top1_accuracy
from spintron_nn.training.network import FakeQuantNetwork
from spintron_nn.training.steps import MatrixStep


def _widths(widths: Sequence[int]) -> tuple[int, ...]:
    if not isinstance(widths, (list, tuple, np.ndarray)):
        raise SpintronError(f"choose_layer_weight_bits: widths must be a sequence of bit widths, got {widths!r}")
    values = sorted({int(b) if isinstance(b, np.integer) else b for b in widths}, reverse=True)
    if not values:
        raise SpintronError("choose_layer_weight_bits: give at least one weight width")
    check_layer_weight_bits([(f"w{b}", b) for b in values])  # each 2..8
    return tuple(values)


def _check_data(config: CompileConfig, calibration: np.ndarray, x: np.ndarray, y: np.ndarray,
                energy_inputs: np.ndarray) -> None:
    if not any(target != "ir" for target in config.targets):
        raise SpintronError("choose_layer_weight_bits: the config maps nothing (targets 'ir' only); "
                            "widths are chosen for a crossbar design")
    if y.ndim != 1 or len(x) != len(y) or not len(x):
        raise SpintronError(f"choose_layer_weight_bits: x ({len(x)} items) and y ({y.shape}) must be "
                            "a non-empty batch and one label per item")
    for name, array in (("calibration", calibration), ("energy_inputs", energy_inputs)):
        if not len(array):
            raise SpintronError(f"choose_layer_weight_bits: {name} is empty")
        if array.shape[1:] != x.shape[1:]:
            raise SpintronError(f"choose_layer_weight_bits: {name} items have shape {array.shape[1:]}, "
                                f"x items {x.shape[1:]}")


def _config(config: CompileConfig, widest: int, choice: dict[str, int]) -> CompileConfig:
    """``config`` at ``widest`` bits, with the layers of ``choice`` narrower than that listed."""
    return config.replace(weight_bits=widest,
                          layer_weight_bits={name: bits for name, bits in choice.items() if bits != widest})


def _measure(model, config: CompileConfig, calibration, x, y, energy_inputs) -> dict:
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    with torch.no_grad():
        accuracy = top1_accuracy(net.predict(x), y)
    return {"layer_weight_bits": dict(config.layer_weight_bits), "accuracy": accuracy,
            "energy_j": crossbar_energy(net, energy_inputs)["energy_j"]}


def matrix_layer_names(model: torch.nn.Module) -> list[str]:
    """The compiler's names of ``model``'s matrix layers (``layer0``, ...), in graph order."""
    net = FakeQuantNetwork(model)
    return [f"layer{step.index}" for step in net.steps if isinstance(step, MatrixStep)]


def choose_layer_weight_bits(model: torch.nn.Module, config: CompileConfig, calibration: np.ndarray,
                             x: np.ndarray, y: np.ndarray, *, widths: Sequence[int] = (8, 6, 4, 3, 2),
                             max_accuracy_drop: float = 0.01, energy_inputs: np.ndarray | None = None,
                             progress: Callable[[str], None] | None = None) -> dict:
    """Greedy per-layer weight widths for ``model`` (trained, float or QAT) under ``config``'s
    other choices; ``max_accuracy_drop`` a fraction (0.01 = one point) below the all-widest design.

    The returned config is ``config`` with ``weight_bits`` the widest width and the narrower
    layers in ``layer_weight_bits`` (the ones given are replaced).
    Returns ``{"config", "layer_weight_bits", "accuracy", "energy_j", "widest", "steps"}``:
    ``widest`` the all-widest design's measurement, ``steps`` every accepted move's
    (``layer``, ``bits``, ``accuracy``, ``energy_j``), in order."""
    widths = _widths(widths)
    if not 0 <= max_accuracy_drop <= 1:
        raise SpintronError(f"max_accuracy_drop is a fraction in 0..1, got {max_accuracy_drop!r}")
    calibration, x, y = np.asarray(calibration, dtype=np.float32), np.asarray(x, dtype=np.float32), np.asarray(y)
    energy_inputs = np.asarray(x[:256] if energy_inputs is None else energy_inputs, dtype=np.float32)
    _check_data(config, calibration, x, y, energy_inputs)
    modes = {module: module.training for module in model.modules()}  # each its own (a frozen BN stays so)
    model.eval()
    try:
        names = matrix_layer_names(model)
        current = {name: widths[0] for name in names}

        def measure(choice: dict[str, int]) -> dict:
            return _measure(model, _config(config, widths[0], choice), calibration, x, y, energy_inputs)

        widest = best = measure(current)
        floor = widest["accuracy"] - max_accuracy_drop
        steps = []
        while True:
            moves = []
            for name in names:
                narrower = [b for b in widths if b < current[name]]
                if not narrower:
                    continue
                trial = measure({**current, name: narrower[0]})
                saved = best["energy_j"] - trial["energy_j"]
                if trial["accuracy"] >= floor - 1e-12 and saved > 0:
                    # energy saved per accuracy lost; one sample's worth keeps free moves finite
                    cost = max(best["accuracy"] - trial["accuracy"], 0.0) + 1.0 / len(y)
                    moves.append((saved / cost, name, narrower[0], trial))
            if not moves:
                break
            _, name, bits, best = max(moves, key=lambda move: move[0])
            current[name] = bits
            steps.append({"layer": name, "bits": bits, "accuracy": best["accuracy"], "energy_j": best["energy_j"]})
            if progress:
                progress(f"{name} -> W{bits}: accuracy {best['accuracy'] * 100:.2f} %, "
                         f"crossbar energy {best['energy_j'] * 1e9:.2f} nJ")
    finally:
        for module, training in modes.items():
            module.training = training
    chosen = _config(config, widths[0], current)
    return {"config": chosen, "layer_weight_bits": dict(chosen.layer_weight_bits), "accuracy": best["accuracy"], "energy_j": best["energy_j"],
            "widest": widest, "steps": steps}
