"""Single matrix layers' own ADC resolutions (``CompileConfig.layer_adc_bits``,
``--layer-adc-bits layer0=8``, lower-to-spin's ``layer-adc-bits``).

Oracles: the uniform compile at width B when every layer is named at B; fake quantization
(the integer semantics apart from lower-to-spin) against the simulator, with devices; Icarus
RTL against the simulator; the compiled report's energies against training's cost model
(tests/test_training_energy_levels.py has a case).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.backends.sim.executor import run_spin
from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig, adc_label
from spintron_nn.errors import SpintronError
from spintron_nn.ir import spin
from spintron_nn.ir.module_info import main_function

sys.path.insert(0, str(Path(__file__).parent))
from precision_cases import W4A4, one_thread  # noqa: E402,F401  (an autouse fixture)
import test_training_fake_quant as chain_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("layer0", "layer1", "layer2", "layer3")  # chain_cases._cnn's matrix layers


def _cnn(config: CompileConfig, seed: int = 0):
    return chain_cases._compiled_and_fake(chain_cases._cnn, (3, 16, 16), config, seed)


def _tile_adcs(design) -> dict[str, set[int]]:
    adcs: dict[str, set[int]] = {}
    for op in main_function(design.spin_module).walk():
        if isinstance(op, spin.CrossbarTileOp):
            adcs.setdefault(op.layer.data, set()).add(spin.get_int(op, "adc_bits"))
    return adcs


def test_every_layer_named_at_b_is_the_uniform_compile_at_b():
    uniform, _, _ = _cnn(W4A4.replace(adc_bits=3))
    named, _, _ = _cnn(W4A4.replace(layer_adc_bits={name: 3 for name in LAYERS}))
    assert str(named.spin_module) == str(uniform.spin_module)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_layer_gets_its_resolution_and_fake_quantization_is_the_simulator(seed):
    config = W4A4.replace(layer_adc_bits={"layer1": 3, "layer2": 8})
    design, net, x = _cnn(config, seed)
    assert _tile_adcs(design) == {"layer0": {5}, "layer1": {3}, "layer2": {8}, "layer3": {5}}
    uniform, _, _ = _cnn(W4A4, seed)
    assert not np.array_equal(design.run(x, backend="sim")[0], uniform.run(x, backend="sim")[0])  # it matters
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim")[0])
    net.noise = NoiseSpec(seed=2, conductance_variation=0.15, read_noise=0.3)
    devices = NoiseSpec(conductance_variation=0.15, read_noise=0.3)
    chain_cases._assert_same_dequantized(net.predict(x), design.run(x, backend="sim", noise=devices, seed=2)[0])


def test_rtl_is_bit_exact():
    from spintron_nn.backends.verilog import runner

    design, _, x = _cnn(W4A4.replace(layer_adc_bits={"layer0": 2, "layer1": 9}))
    actual, _ = runner.run_rtl(design.spin_module, [x[:3]], simulator="icarus")
    np.testing.assert_array_equal(actual[0], run_spin(design.spin_module, [x[:3]])[0])


def test_errors():
    with pytest.raises(SpintronError, match="per-layer ADC bits name layer9, which is not a matrix layer"):
        _cnn(W4A4.replace(layer_adc_bits={"layer9": 8}))
    with pytest.raises(SpintronError, match="ADC bits of layer0 must be an integer in 1..12"):
        CompileConfig(layer_adc_bits={"layer0": 13})
    assert adc_label(6, (("layer0", 8),)) == "6-bit ADC (layer0 8-bit)" and adc_label(6) == "6-bit ADC"


def test_cli_flag_header_and_adc_energy(tmp_path, capsys):
    import json

    from spintron_nn.tools.spintronc import main

    args = ["compile", str(ROOT / "examples" / "digits_mlp.onnx"), "--calibration",
            str(ROOT / "examples" / "digits_calibration.npy")]
    assert main([*args, "-o", str(tmp_path / "wide"), "--layer-adc-bits", "layer1=8"]) == 0
    assert "6-bit ADC (layer1 8-bit)" in capsys.readouterr().out
    assert main([*args, "-o", str(tmp_path / "plain"), "-q"]) == 0
    wide, plain = ({layer["name"]: layer for layer in json.loads((tmp_path / name / "report.json").read_text())
                    ["spintronic"]["layers"]} for name in ("wide", "plain"))
    assert wide["layer1"]["energy_j"]["adc"] > plain["layer1"]["energy_j"]["adc"]
    assert (wide["layer0"]["adc_bits"], wide["layer1"]["adc_bits"], plain["layer1"]["adc_bits"]) == (6, 8, 6)
    assert wide["layer0"]["energy_j"]["adc"] == plain["layer0"]["energy_j"]["adc"]
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "bad"), "--layer-adc-bits", "layer0=0"]) == 2
    assert capsys.readouterr().err.strip() == "spintronc: error: ADC bits of layer0 must be an integer in 1..12, got 0"
