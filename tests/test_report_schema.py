"""report.json: the schema holds, totals are the sums of their parts, and the
numbers agree with facts computed here independently (the ONNX file's weight
shapes, the parameter tables, the compile's accuracy summary)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest

from spintron_nn.api import compile_model
from spintron_nn.backends.report.build import build_report
from spintron_nn.backends.report.schema import SCHEMA_VERSION, check_report
from spintron_nn.config import CompileConfig
from spintron_nn.energy.cost_model import AREA_COMPONENTS, ENERGY_COMPONENTS
from spintron_nn.energy.params import load_parameters
from spintron_nn.errors import SpintronError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODEL = EXAMPLES / "digits_mlp.onnx"
CALIBRATION = EXAMPLES / "digits_calibration.npy"


@pytest.fixture(scope="module")
def design():
    # 32-row tiles split the 64-input layer in two: exercises shift-add and multi-tile layers
    return compile_model(str(MODEL), CompileConfig(rows=32, cols=32), str(CALIBRATION))


@pytest.fixture(scope="module")
def report(design):
    return build_report(design)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-30)


def test_schema_and_json_round_trip(report):
    assert report["schema_version"] == SCHEMA_VERSION
    again = json.loads(json.dumps(report, allow_nan=False))
    assert check_report(again) == report


@pytest.mark.parametrize("side", ["spintronic", "cmos"])
def test_each_energy_total_is_the_sum_of_its_components(report, side):
    for entry in [*report[side]["layers"], report[side]["total"]]:
        energy = entry["energy_j"]
        assert _close(energy["total"], math.fsum(energy[c] for c in ENERGY_COMPONENTS))
        area = entry["area_m2"]
        assert _close(area["total"], math.fsum(area[c] for c in AREA_COMPONENTS))


@pytest.mark.parametrize("side", ["spintronic", "cmos"])
def test_design_totals_are_the_sums_of_the_layers(report, side):
    layers, total, shared = report[side]["layers"], report[side]["total"], report[side]["shared"]
    for component in ENERGY_COMPONENTS:
        assert _close(total["energy_j"][component], math.fsum(l["energy_j"][component] for l in layers))
    for component in AREA_COMPONENTS:
        summed = math.fsum(l["area_m2"][component] for l in layers) + shared["area_m2"][component]
        assert _close(total["area_m2"][component], summed)
    assert _close(total["programming_energy_j"], math.fsum(l["programming_energy_j"] for l in layers))
    assert _close(total["latency_s"], math.fsum(l["latency_s"] for l in layers))  # batch 1, layer after layer
    assert total["macs"] == sum(l["macs"] for l in layers)


def test_shared_area_is_the_digital_unit_and_the_mac_array(report):
    from spintron_nn.energy.cmos_baseline import CmosArray
    from spintron_nn.energy.cost_model import digital_unit_area, unit_costs

    table = load_parameters()
    units = unit_costs(table)
    vector_unit = digital_unit_area(units, int(table.value("digital.lanes")))
    assert _close(report["spintronic"]["shared"]["area_m2"]["digital"], vector_unit)
    assert _close(report["cmos"]["shared"]["area_m2"]["digital"], vector_unit + CmosArray.from_table(table).area(units))


def test_macs_match_the_onnx_weight_shapes(report):
    model = onnx.load(str(MODEL))
    shapes = {init.name: list(init.dims) for init in model.graph.initializer}
    expected = sum(np.prod(shapes[node.input[1]]) for node in model.graph.node if node.op_type == "Gemm")
    assert report["spintronic"]["total"]["macs"] == expected == report["cmos"]["total"]["macs"]
    crossbar = [l for l in report["spintronic"]["layers"] if l["kind"] == "crossbar"]
    assert sorted(l["macs"] for l in crossbar) == sorted(
        int(np.prod(shapes[n.input[1]])) for n in model.graph.node if n.op_type == "Gemm")


@pytest.mark.parametrize("side", ["spintronic", "cmos"])
def test_efficiency_figures_follow_from_energy_and_macs(report, side):
    for entry in [*report[side]["layers"], report[side]["total"]]:
        energy, macs = entry["energy_j"]["total"], entry["macs"]
        if macs:
            assert _close(entry["pj_per_mac"], energy / macs * 1e12)
            assert _close(entry["tops_per_w"], 2 * macs / energy / 1e12)
        else:
            assert entry["pj_per_mac"] is None and entry["tops_per_w"] is None


def test_comparison_pairs_the_two_designs(report):
    spin = {l["name"]: l for l in report["spintronic"]["layers"]}
    cmos = {l["name"]: l for l in report["cmos"]["layers"]}
    assert [e["name"] for e in report["comparison"]["layers"]] == list(spin) == list(cmos)
    for entry in report["comparison"]["layers"]:
        assert entry["spintronic_energy_j"] == spin[entry["name"]]["energy_j"]["total"]
        assert entry["cmos_energy_j"] == cmos[entry["name"]]["energy_j"]["total"]
        assert _close(entry["energy_ratio"], entry["cmos_energy_j"] / entry["spintronic_energy_j"])
    total = report["comparison"]["total"]
    assert _close(total["energy_ratio"], report["cmos"]["total"]["energy_j"]["total"]
                  / report["spintronic"]["total"]["energy_j"]["total"])


def test_tiles_cover_each_weight_matrix_once(report):
    model = onnx.load(str(MODEL))
    shapes = sorted(int(np.prod(i.dims)) for i in model.graph.initializer if len(i.dims) == 2)
    covered: dict[str, int] = {}
    for tile in report["tiles"]:
        assert tile["rows"] <= tile["array_rows"] == 32 and tile["cols"] <= tile["array_cols"] == 32
        assert _close(tile["utilisation"], tile["rows"] * tile["cols"] / (tile["array_rows"] * tile["array_cols"]))
        covered[tile["layer"]] = covered.get(tile["layer"], 0) + tile["rows"] * tile["cols"]
    assert sorted(covered.values()) == shapes
    assert len(report["tiles"]) > 2  # the 64x48 layer takes several 32x32 tiles


def test_accuracy_is_the_compile_measurement(design, report):
    accuracy = report["accuracy"]
    assert accuracy["top1_agreement"] == design.summary["top-1 agreement with float"]
    assert accuracy["relative_rms_error_ideal_adc"] == design.summary["relative RMS error vs float, ideal ADC"]
    assert 0.0 <= accuracy["top1_agreement"] <= 1.0


def test_parameters_are_the_entries_read_with_their_sources(report):
    table = load_parameters()
    names = [p["name"] for p in report["parameters"]]
    assert names == sorted(set(names))
    assert "read.v_read" in names and "adc.sample_rate" in names
    assert len(names) < len(table)  # only what the estimate read (one cell type, ...)
    for entry in report["parameters"]:
        assert entry["value"] == table[entry["name"]].value and entry["unit"] == table[entry["name"]].unit
        assert entry["source"].strip() and entry["origin"] == "shipped"
    assert report["overrides"] == []


def test_overrides_are_reported_and_change_the_numbers(design, report, tmp_path):
    shipped = load_parameters()["read.v_read"].value
    config_file = tmp_path / "cfg.toml"
    config_file.write_text(f"[read]\nv_read = {shipped * 0.5}\n")
    changed = build_report(design.__class__(
        float_module=design.float_module, config=design.config.replace(mtj_config=str(config_file)),
        design_module=design.design_module, source=design.source, summary=design.summary))
    assert changed["overrides"] == [{"name": "read.v_read", "value": shipped * 0.5, "shipped_value": shipped,
                                     "unit": "V", "origin": str(config_file)}]
    assert changed["config"]["mtj_config"] == str(config_file)
    entry = next(p for p in changed["parameters"] if p["name"] == "read.v_read")
    assert entry["value"] == shipped * 0.5 and entry["origin"] == str(config_file)
    # half the read voltage: cell reads cost less, the ADC the same
    new, old = changed["spintronic"]["total"]["energy_j"], report["spintronic"]["total"]["energy_j"]
    assert new["cell_read"] < 0.5 * old["cell_read"]
    assert new["adc"] == old["adc"]


def test_same_design_same_bytes(design, report):
    from spintron_nn.backends.report.html import render_html

    again = build_report(design)
    assert json.dumps(again) == json.dumps(report)
    assert render_html(again) == render_html(report)


def test_checker_rejects_other_versions_and_missing_keys(report):
    with pytest.raises(SpintronError, match="schema version"):
        check_report({**report, "schema_version": SCHEMA_VERSION + 1})
    broken = json.loads(json.dumps(report))
    del broken["spintronic"]["total"]["energy_j"]["adc"]
    with pytest.raises(SpintronError, match=r"spintronic.total.energy_j lacks adc"):
        check_report(broken)
    with pytest.raises(SpintronError, match="must be an object"):
        check_report([])


def test_a_design_without_crossbars_has_no_report(design):
    float_only = design.__class__(float_module=design.float_module, config=design.config)
    with pytest.raises(SpintronError, match="needs a crossbar design"):
        build_report(float_only)
