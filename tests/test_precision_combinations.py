"""Every precision option at once, on seeded random draws: input width, per-layer weight,
activation (result) and ADC widths, output width, signed inputs.

Oracles: fake quantization (the integer semantics apart from lower-to-spin) against the
simulator, with devices; Icarus RTL against the simulator.  A draw the options make
impossible (signed inputs needing 9-bit codes) must be refused by both the compiler and
fake quantization with the same error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training import FakeQuantNetwork

sys.path.insert(0, str(Path(__file__).parent))
from precision_cases import one_thread  # noqa: E402,F401  (an autouse fixture)
import test_training_fake_quant as chain_cases  # noqa: E402
import test_training_graph_fake_quant as graph_cases  # noqa: E402

NETWORKS = {  # build, input shape, matrix layers whose result is not the network output
    "mlp": (chain_cases._mlp, (70,), ("layer0", "layer1")),
    "cnn": (chain_cases._cnn, (3, 16, 16), ("layer0", "layer1", "layer2")),
    "resnet": (graph_cases._resnet, graph_cases.INPUT_SHAPE, ("layer0", "layer1", "layer2")),
}


def _draw(case: int) -> tuple[str, CompileConfig]:
    rng = np.random.default_rng(1000 + case)
    name = list(NETWORKS)[case % len(NETWORKS)]
    hidden = NETWORKS[name][2]

    def some_layers(low: int, high: int) -> dict[str, int]:
        chosen = [layer for layer in hidden if rng.random() < 0.5]
        return {layer: int(rng.integers(low, high + 1)) for layer in chosen}

    config = CompileConfig(
        weight_bits=int(rng.integers(3, 7)), activation_bits=int(rng.integers(3, 7)),
        input_bits=int(rng.integers(2, 9)) if rng.random() < 0.7 else None,
        output_bits=int(rng.integers(3, 9)), layer_weight_bits=some_layers(2, 8),
        layer_activation_bits=some_layers(2, 8), layer_adc_bits=some_layers(2, 9),
        signed_inputs=bool(rng.random() < 0.5), cell_bits=int(rng.integers(1, 4)),
        adc_bits=int(rng.integers(3, 8)), rows=int(rng.choice([16, 32, 64])), cols=int(rng.choice([16, 32])),
        targets=("ir", "sim"))
    return name, config


@pytest.mark.parametrize("case", range(9))
def test_fake_quantization_and_rtl_equal_the_simulator(case):
    from spintron_nn.backends.verilog import runner

    name, config = _draw(case)
    build, shape, _ = NETWORKS[name]
    try:
        design, net, x = chain_cases._compiled_and_fake(build, shape, config, case)
    except SpintronError as error:  # signed codes wider than 8 bits: refused by both sides alike
        assert "two's-complement codes" in str(error), error
        model = build(case).eval()
        with pytest.raises(SpintronError, match="two's-complement codes"):
            FakeQuantNetwork(model, config).calibrate(chain_cases._data(shape, case))
        return
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
    devices = dict(conductance_variation=0.1, stuck_at_zero=0.01, read_noise=0.2)
    net.noise = NoiseSpec(seed=case, **devices)
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim", noise=NoiseSpec(**devices),
                                                                     seed=case)[0])
    actual, _ = runner.run_rtl(design.spin_module, [x[:2]], simulator="icarus")
    np.testing.assert_array_equal(actual[0], run_spin(design.spin_module, [x[:2]])[0])
