"""Which layer's devices cost the accuracy: device noise in one matrix layer at a time.

    rows = layer_variation_sensitivity(trainer.network, x, y, NoiseSpec(conductance_variation=0.1), draws=4)

Every layer keeps its own tiles' device draws (the simulator's tile numbering,
``FakeQuantNetwork.noise_layers``), so "all layers" is exactly what
``Design.run(noise=...)`` gives, and each row shows what that layer's
devices alone cost.  Drops need not add up: layers' errors interact.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.errors import SpintronError
from spintron_nn.training.metrics import top1_accuracy
from spintron_nn.training.network import FakeQuantNetwork
from spintron_nn.training.steps import MatrixStep


def _accuracy(network: FakeQuantNetwork, x: np.ndarray, y: np.ndarray) -> float:
    return top1_accuracy(network.predict(x), y)


def _layer_names(network: FakeQuantNetwork) -> dict[int, str]:
    names = {id(module): name for name, module in network.model.named_modules()}
    return {step.index: names.get(id(step.module), type(step.module).__name__)
            for step in network.steps if isinstance(step, MatrixStep)}


def layer_variation_sensitivity(network: FakeQuantNetwork, x: np.ndarray, y: np.ndarray, noise,
                                draws: int = 4) -> dict:
    """Accuracy of ``network`` (calibrated) on ``x, y``: clean, with ``noise`` in every matrix layer,
    and with it in one layer at a time; ``draws`` device draws (seeds ``noise.seed + d``) each.

    Returns ``{"clean", "all_layers", "layers": [{"index", "name", "accuracy", "drop_points"}]}``,
    accuracies as fractions averaged over the draws, drops in points below clean."""
    if network.hardware is None:
        raise SpintronError("layer sensitivity: calibrate the network first")
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 1:
        raise SpintronError(f"layer sensitivity needs at least one device draw (an integer), got {draws!r}")
    if not isinstance(noise, NoiseSpec) or noise.is_off:
        raise SpintronError("layer sensitivity needs a NoiseSpec with some device non-ideality")
    saved = network.noise, network.noise_layers

    def mean_accuracy(layers) -> float:
        network.noise_layers = layers
        scores = []
        for d in range(draws):
            network.noise = dataclasses.replace(noise, seed=(noise.seed + d) % 2**64)
            scores.append(_accuracy(network, x, y))
        return float(np.mean(scores))

    try:
        network.noise = None
        clean = _accuracy(network, x, y)
        names = _layer_names(network)
        rows = []
        for index in sorted(names):
            accuracy = mean_accuracy(frozenset({index}))
            rows.append({"index": index, "name": names[index], "accuracy": accuracy,
                         "drop_points": 100 * (clean - accuracy)})
        return {"clean": clean, "all_layers": mean_accuracy(None), "layers": rows}
    finally:
        network.noise, network.noise_layers = saved
