"""The CMOS baseline at the crossbar design's own operand widths (``cmos.operand_bits`` = 0).

Oracles: the unit costs of the parameter table (Horowitz's 8- and 32-bit
multiplies) with the power law written out here; the int8 baseline, which a
design whose layers are all 8-bit must reproduce exactly; the compiler's
per-layer widths (``--layer-weight-bits``), which the tiles must carry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.energy.cost_model import unit_costs
from spintron_nn.energy.params import load_parameters
from spintron_nn.frontend import load_model
from spintron_nn.ir import spin
from spintron_nn.passes.estimate_energy import estimate_module
from spintron_nn.passes.flows import quantize_and_lower
from spintron_nn.tools.spintronc import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MATCHED = load_parameters().with_values({"cmos.operand_bits": 0})


def _mlp(**options):
    module = load_model(str(EXAMPLES / "digits_mlp.onnx"))
    return quantize_and_lower(module, [np.load(EXAMPLES / "digits_calibration.npy")], **options)


def _layers(report: dict, design: str) -> dict:
    return {layer["name"]: layer for layer in report[design]["layers"]}


def test_an_all_8_bit_design_costs_the_same_at_its_own_widths():
    module = _mlp(weight_bits=8, activation_bits=8)
    assert estimate_module(module, MATCHED)["cmos"] == estimate_module(module)["cmos"]


def test_each_layer_is_priced_at_its_own_widths():
    module = _mlp(weight_bits=4, activation_bits=4, layer_weight_bits={"layer1": 8})
    widths = {spin.get_int(t, "weight_bits") for t in module.walk()
              if isinstance(t, spin.CrossbarTileOp) and t.layer.data == "layer1"}
    assert widths == {8}  # the tiles record their layer's width
    units = unit_costs(MATCHED)
    exponent = math.log(units.mult32_energy / units.mult8_energy) / math.log(16)
    matched, int8 = _layers(estimate_module(module, MATCHED), "cmos"), _layers(estimate_module(module), "cmos")
    for name, (weight_bits, input_bits) in {"layer0": (4, 4), "layer1": (8, 4)}.items():
        multiply = units.mult8_energy * (weight_bits * input_bits / 64) ** exponent
        assert matched[name]["energy_j"]["mac"] == pytest.approx(matched[name]["macs"] * (multiply + units.add32_energy))
        assert matched[name]["energy_j"]["buffer"] < int8[name]["energy_j"]["buffer"]  # packed bytes
        assert matched[name]["latency_s"] == int8[name]["latency_s"]
        # the array's multipliers are built for the widest layer (8x4): their area leaks in every layer
        area = 256 * (units.mult8_area * (32 / 64) ** (math.log(units.mult32_area / units.mult8_area) / math.log(16))
                      + units.add32_area)
        assert matched[name]["energy_j"]["leakage"] == pytest.approx(
            units.leakage_power_density * area * matched[name]["latency_s"])


def test_report_names_the_baselines_widths(tmp_path, capsys):
    (tmp_path / "matched.toml").write_text("[cmos]\noperand_bits = 0\n")
    common = [str(EXAMPLES / "digits_mlp.onnx"), "--calibration", str(EXAMPLES / "digits_calibration.npy"),
              "--weight-bits", "4", "--activation-bits", "4", "-q"]
    assert main(["compile", *common, "-o", str(tmp_path / "int8")]) == 0
    assert main(["compile", *common, "-o", str(tmp_path / "matched"), "--mtj-config",
                 str(tmp_path / "matched.toml")]) == 0
    reports = {name: json.loads((tmp_path / name / "report.json").read_text()) for name in ("int8", "matched")}
    for name, widths in {"int8": (8, 8), "matched": (4, 4)}.items():
        cmos = reports[name]["cmos"]["layers"]
        assert {(l["weight_bits"], l["input_bits"]) for l in cmos if l["kind"] == "crossbar"} == {widths}
    assert (reports["matched"]["cmos"]["total"]["energy_j"]["total"]
            < reports["int8"]["cmos"]["total"]["energy_j"]["total"])
    assert reports["matched"]["spintronic"] == reports["int8"]["spintronic"]  # only the baseline moves
    capsys.readouterr()
    for name, label in {"int8": "int8", "matched": "int4"}.items():
        assert main(["report", str(tmp_path / name)]) == 0
        assert f"a digital MAC array at {label})" in capsys.readouterr().out
        assert f"CMOS baseline ({label})" in (tmp_path / name / "report.html").read_text()


def test_the_parameters_option_equals_an_mtj_config_file(tmp_path, capsys):
    """--parameters name=value on compile and sweep: the same design as the TOML override, and
    bad names or values are one-line errors that write nothing."""
    common = [str(EXAMPLES / "digits_mlp.onnx"), "--calibration", str(EXAMPLES / "digits_calibration.npy"),
              "--weight-bits", "4", "--activation-bits", "4", "-q"]
    (tmp_path / "matched.toml").write_text("[cmos]\noperand_bits = 0\n")
    assert main(["compile", *common, "-o", str(tmp_path / "toml"), "--mtj-config", str(tmp_path / "matched.toml")]) == 0
    assert main(["compile", *common, "-o", str(tmp_path / "flag"), "--parameters", "cmos.operand_bits=0"]) == 0
    reports = [json.loads((tmp_path / name / "report.json").read_text()) for name in ("toml", "flag")]
    assert reports[0]["cmos"] == reports[1]["cmos"] and reports[0]["spintronic"] == reports[1]["spintronic"]
    assert [o["name"] for o in reports[1]["overrides"]] == ["cmos.operand_bits"]
    sweep = ["sweep", str(EXAMPLES / "digits_mlp.onnx"), "--calibration", str(EXAMPLES / "digits_calibration.npy"),
             "--weight-bits", "4", "--activation-bits", "4", "-q", "-j", "1"]
    assert main([*sweep, "-o", str(tmp_path / "sweep"), "--parameters", "cmos.operand_bits=0"]) == 0
    point = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["points"][0]
    assert point["cmos_energy_j"] == pytest.approx(reports[1]["cmos"]["total"]["energy_j"]["total"], rel=1e-12)
    capsys.readouterr()
    for bad, words in [("cmos.nope=1", "unknown parameter"), ("cmos.operand_bits=9", "outside"), ("x", "name=value")]:
        assert main(["compile", *common, "-o", str(tmp_path / "bad"), "--parameters", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("spintronc: error: ") and words in err[0], err
        assert not (tmp_path / "bad").exists()

