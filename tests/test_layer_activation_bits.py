"""Single matrix layers' own result code widths (``CompileConfig.layer_activation_bits``,
``--layer-activation-bits layer0=8``).

Oracles: the default design when every named width is the default one; fake quantization
(the integer semantics apart from lower-to-spin) against the simulator, with devices; Icarus
RTL against the simulator; the compiled report's energies against training's cost model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from spintron_nn.api import compile_model
from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig, parse_layer_bits, precision_label
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function

sys.path.insert(0, str(Path(__file__).parent))
from precision_cases import W4A4, one_thread  # noqa: E402,F401  (an autouse fixture)
import test_training_fake_quant as chain_cases  # noqa: E402
import test_training_graph_fake_quant as graph_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _widths(design) -> tuple[dict[str, int], list[int]]:
    """(planes each layer's tiles read, width of each requant's codes in graph order)."""
    ops = list(main_function(design.spin_module).walk())
    reads = {op.layer.data: spin.get_int(op, "input_bits") for op in ops if isinstance(op, spin.CrossbarTileOp)}
    return reads, [spin.get_int(op, "bits") for op in ops if isinstance(op, spin.RequantOp)]


def _cnn(config: CompileConfig, seed: int = 0):
    return chain_cases._compiled_and_fake(chain_cases._cnn, (3, 16, 16), config, seed)


def test_naming_the_default_width_is_the_default_design():
    default, _, _ = _cnn(W4A4)
    named, _, _ = _cnn(W4A4.replace(layer_activation_bits={"layer0": 4, "layer1": 4, "layer2": 4}))
    from spintron_nn.passes.quantize import LAYER_ACTIVATION_BITS_ATTR

    assert main_function(named.spin_module).attributes.pop(LAYER_ACTIVATION_BITS_ATTR) is not None
    assert str(named.spin_module) == str(default.spin_module)
    assert precision_label(4, 4, 8, (("layer0", 8),), None, (("layer1", 2),)) == \
        "W4A4 (layer0 W8, layer1 A2, 8-bit outputs)"


def test_the_next_layer_reads_the_width_and_outputs_keep_output_bits():
    design, _, _ = _cnn(W4A4.replace(layer_activation_bits={"layer0": 8, "layer1": 2}))
    reads, requants = _widths(design)
    # layer0's 8-bit codes go through a max pool to layer1; layer1's 2-bit ones through an avg pool to layer2
    assert reads == {"layer0": 4, "layer1": 8, "layer2": 2, "layer3": 4}
    assert requants == [8, 2, 4, 8]  # the output layer: output_bits
    # the output's width has one option (--output-bits), so that the header states what is built
    with pytest.raises(SpintronError, match="layer3's result is a network output"):
        _cnn(W4A4.replace(layer_activation_bits={"layer3": 5}))


@pytest.mark.parametrize("seed", [0, 1])
def test_rtl_is_bit_exact(seed):
    from spintron_nn.backends.verilog import runner

    rng = np.random.default_rng(seed)
    widths = {name: int(rng.integers(2, 9)) for name in ("layer0", "layer1", "layer2")}
    design, _, x = _cnn(W4A4.replace(layer_activation_bits=widths), seed)
    actual, _ = runner.run_rtl(design.spin_module, [x[:3]], simulator="icarus")
    np.testing.assert_array_equal(actual[0], run_spin(design.spin_module, [x[:3]])[0])


@pytest.mark.parametrize("case", ["mlp", "cnn", "resnet", "functional"])
def test_fake_quantization_is_the_simulator(case):
    widths = {"mlp": {"layer0": 8, "layer1": 3}, "cnn": {"layer0": 7, "layer1": 2},
              "resnet": {"layer0": 8, "layer2": 3}, "functional": {"layer0": 6}}[case]
    if case in ("mlp", "cnn"):
        build, shape = {"mlp": (chain_cases._mlp, (70,)), "cnn": (chain_cases._cnn, (3, 16, 16))}[case]
        design, net, x = chain_cases._compiled_and_fake(build, shape, W4A4.replace(layer_activation_bits=widths), 0)
    else:
        design, net, x = graph_cases._compiled_and_fake(
            f"{case}-w4", 0, graph_cases.W4_TINY.replace(layer_activation_bits=widths))
    assert 8 in _widths(design)[1] or 6 in _widths(design)[1]
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
    net.noise = NoiseSpec(seed=6, conductance_variation=0.15, stuck_at_zero=0.02)
    devices = NoiseSpec(conductance_variation=0.15, stuck_at_zero=0.02)
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim", noise=devices, seed=6)[0])


def test_unknown_names_and_bad_widths_are_errors():
    with pytest.raises(SpintronError, match="per-layer activation bits name layer9, which is not a matrix layer"):
        _cnn(W4A4.replace(layer_activation_bits={"layer9": 8}))
    with pytest.raises(SpintronError, match="activation bits of layer0 must be an integer in 2..8"):
        CompileConfig(layer_activation_bits={"layer0": 9})
    with pytest.raises(SpintronError, match="per-layer activation bits must look like"):
        parse_layer_bits("layer0:8", "activation")


def test_cli_flag_label_and_energy(tmp_path, capsys):
    from spintron_nn.tools.spintronc import main

    args = ["compile", str(ROOT / "examples" / "digits_mlp.onnx"), "--calibration",
            str(ROOT / "examples" / "digits_calibration.npy"), "--weight-bits", "4", "--activation-bits", "4"]
    assert main([*args, "-o", str(tmp_path / "wide"), "--layer-activation-bits", "layer0=8"]) == 0
    assert "config: W4A4 (layer0 A8, 8-bit outputs)" in capsys.readouterr().out
    assert main([*args, "-o", str(tmp_path / "plain"), "-q"]) == 0
    wide, plain = ({layer["name"]: layer for layer in json.loads((tmp_path / name / "report.json").read_text())
                    ["spintronic"]["layers"]} for name in ("wide", "plain"))
    assert json.loads((tmp_path / "wide" / "report.json").read_text())["config"]["layer_activation_bits"] == \
        [["layer0", 8]]
    assert (wide["layer0"]["input_bits"], wide["layer1"]["input_bits"], plain["layer1"]["input_bits"]) == (4, 8, 4)
    # layer1 reads layer0's 8-bit codes: twice the ADC conversions; layer0 is unchanged
    assert wide["layer1"]["energy_j"]["adc"] == pytest.approx(2 * plain["layer1"]["energy_j"]["adc"], rel=1e-12)
    assert wide["layer0"]["energy_j"]["adc"] == pytest.approx(plain["layer0"]["energy_j"]["adc"], rel=1e-12)
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "bad"), "--layer-activation-bits", "layer7=8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spintronc: error: ") and "layer7" in err[0]
    assert not (tmp_path / "bad").exists()


def test_a_config_round_trips_through_json():
    config = W4A4.replace(layer_activation_bits={"layer1": 6, "layer0": 8})
    assert config.layer_activation_bits == (("layer0", 8), ("layer1", 6))
    assert CompileConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


@pytest.mark.parametrize("flatten", ["module", "method"])
def test_an_output_through_a_flatten_takes_output_bits(flatten):
    """A classifier ending in conv, then flatten: its result is still only the network's output
    (review finding: it kept the activation width while the header said 8-bit outputs)."""
    import torch
    from torch import nn

    from spintron_nn.api import compile_model
    from spintron_nn.training import FakeQuantNetwork

    class ConvThenFlatten(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.head, self.flat = nn.Conv2d(2, 4, 3), nn.Conv2d(4, 3, 4), nn.Flatten()

        def forward(self, x):
            y = self.head(torch.relu(self.conv(x)))
            return self.flat(y) if flatten == "module" else y.flatten(1)

    torch.manual_seed(0)
    model = ConvThenFlatten().eval()
    x = np.random.default_rng(0).standard_normal((32, 2, 6, 6)).astype(np.float32)
    config = W4A4.replace(output_bits=8)
    design = compile_model(model, config, x, example_input=torch.from_numpy(x[:1]))
    assert _widths(design)[1] == [4, 8]
    net = FakeQuantNetwork(model, config)
    net.calibrate(x)
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
    with pytest.raises(SpintronError, match="layer1's result is a network output"):
        compile_model(model, config.replace(layer_activation_bits={"layer1": 6}), x,
                      example_input=torch.from_numpy(x[:1]))
    with pytest.raises(SpintronError, match="layer1's result is a network output"):
        FakeQuantNetwork(model, config.replace(layer_activation_bits={"layer1": 6})).calibrate(x)
