"""``spintronc sweep``: a tiny grid end to end (accuracy checked against
onnxruntime), the Pareto rule on hand-made points, and bad input (one line,
exit 2, nothing left behind).  The full 18-point grid is slow-marked."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from spintron_nn.api import compile_model
from spintron_nn.backends.report.sweep import mark_pareto
from spintron_nn.config import CompileConfig
from spintron_nn.tools.spintronc import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODEL = str(EXAMPLES / "digits_mlp.onnx")
CALIBRATION = str(EXAMPLES / "digits_calibration.npy")


def _sweep(out: Path, *options: str) -> int:
    return main(["sweep", MODEL, "--calibration", CALIBRATION, "-o", str(out), "-q", *options])


def _agreement_with_onnxruntime(config: CompileConfig) -> float:
    x = np.load(CALIBRATION).astype(np.float32)
    session = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: x})[0]
    simulated = compile_model(MODEL, config, CALIBRATION).run(x, "sim")[0]
    return float(np.mean(reference.argmax(1) == simulated.argmax(1)))


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "out"
    assert _sweep(out, "--crossbar", "32x32,128x128", "--adc-bits", "3", "--cell-bits", "2", "--jobs", "2") == 0
    return out


def test_tiny_sweep_writes_table_json_and_plots(tiny_sweep):
    with open(tiny_sweep / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["crossbar"], r["adc_bits"], r["cell_bits"]) for r in rows] == [("32x32", "3", "2"), ("128x128", "3", "2")]
    document = json.loads((tiny_sweep / "sweep.json").read_text())
    assert document["grid"] == {"crossbar": ["32x32", "128x128"], "adc_bits": [3], "cell_bits": [2]}
    assert [p["label"] for p in document["points"]] == [r["label"] for r in rows]
    for point, row in zip(document["points"], rows):
        assert row["energy_j"] == str(point["energy_j"]) and row["pareto"] == str(point["pareto"])
        assert 0 < point["energy_j"] and 0 <= point["accuracy"] <= 1
    assert any(p["pareto"] for p in document["points"])
    image = Image.open(tiny_sweep / "pareto.png")
    assert image.format == "PNG" and image.width >= 400 and image.height >= 300
    assert ET.parse(tiny_sweep / "pareto.svg").getroot().tag.endswith("svg")


def test_sweep_points_differ_where_the_hardware_does(tiny_sweep):
    small, large = json.loads((tiny_sweep / "sweep.json").read_text())["points"]
    # 32-row tiles split the 64-input layer: more tiles, better filled
    assert small["tiles"] > large["tiles"]
    assert small["mean_utilisation"] > large["mean_utilisation"]


def test_sweep_accuracy_is_the_agreement_with_onnxruntime(tiny_sweep):
    points = json.loads((tiny_sweep / "sweep.json").read_text())["points"]
    for point in points:
        config = CompileConfig(rows=point["rows"], cols=point["cols"], adc_bits=point["adc_bits"],
                               cell_bits=point["cell_bits"])
        assert point["accuracy"] == pytest.approx(_agreement_with_onnxruntime(config), abs=1e-4)


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    one_point = ["sweep", MODEL, "--calibration", CALIBRATION, "--crossbar", "64x64", "--jobs", "1"]
    assert main([*one_point, "-o", str(tmp_path / "a"), "--progress"]) == 0
    captured = capsys.readouterr()
    assert "] 1/1 64x64 c2 a6" in captured.err and "#" * 30 in captured.err
    assert "64x64 c2 a6" in captured.out and "Pareto-optimal" in captured.out
    assert main([*one_point, "-o", str(tmp_path / "b")]) == 0  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_pareto_front_on_hand_made_points():
    points = [
        {"label": "a", "energy_j": 1.0, "accuracy": 0.90},
        {"label": "b", "energy_j": 2.0, "accuracy": 0.95},
        {"label": "c", "energy_j": 2.0, "accuracy": 0.93},  # same energy as b, less accurate
        {"label": "d", "energy_j": 3.0, "accuracy": 0.95},  # as accurate as b, dearer
        {"label": "e", "energy_j": 4.0, "accuracy": 0.99},
        {"label": "f", "energy_j": 0.5, "accuracy": 0.50},
    ]
    front = {p["label"] for p in mark_pareto(points) if p["pareto"]}
    assert front == {"a", "b", "e", "f"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--adc-bits", "4,x"], "--adc-bits must be a comma-separated list of integers"),
        (["--adc-bits", "13"], "ADC bits must be an integer in 1..12"),
        (["--cell-bits", "0"], "cell bits must be an integer in 1..4"),
        (["--crossbar", "64y64"], "crossbar size must look like 128x128"),
        (["--crossbar", "8x8"], "crossbar rows must be an integer in 16..1024"),
        (["--jobs", "0"], "--jobs must be in 1..64"),
        (["--mtj-config", "/nonexistent/cfg.toml"], "no such parameter file"),
        (["--layer-weight-bits", "layer0=9"], "weight bits of layer0 must be an integer in 2..8"),
        (["--weight-bits", "4,9"], "weight bits must be an integer in 2..8"),
        (["--weight-bits", "4,\u00b2"], "--weight-bits must be a comma-separated list of integers"),
        (["--layer-weight-bits", "layer5=8", "--jobs", "1"], "layer5, which is not a matrix layer"),
    ],
)
def test_bad_options_are_one_line_errors_and_leave_nothing(tmp_path, capsys, options, message):
    out = tmp_path / "out"
    assert _sweep(out, *options) == 2
    err = capsys.readouterr().err
    assert err.startswith("spintronc: error: ") and err.count("\n") == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_per_layer_weight_widths_hold_at_every_point(tmp_path):
    options = ("--crossbar", "32x32", "--adc-bits", "4", "--weight-bits", "3", "--jobs", "1")
    assert _sweep(tmp_path / "mixed", *options, "--layer-weight-bits", "layer1=8") == 0
    mixed = json.loads((tmp_path / "mixed" / "sweep.json").read_text())
    assert mixed["fixed"]["layer_weight_bits"] == {"layer1": 8}
    config = CompileConfig(weight_bits=3, layer_weight_bits={"layer1": 8}, rows=32, cols=32, adc_bits=4)
    from spintron_nn.backends.report.build import build_report

    expected = build_report(compile_model(MODEL, config, CALIBRATION))["spintronic"]["total"]["energy_j"]["total"]
    assert mixed["points"][0]["energy_j"] == pytest.approx(expected, rel=1e-12)


def test_weight_widths_as_a_grid_axis(tmp_path):
    assert _sweep(tmp_path / "w", "--crossbar", "32x32", "--adc-bits", "4", "--weight-bits", "3,8", "--jobs", "2") == 0
    document = json.loads((tmp_path / "w" / "sweep.json").read_text())
    assert document["grid"]["weight_bits"] == [3, 8] and "weight_bits" not in document["fixed"]
    assert [p["label"] for p in document["points"]] == ["32x32 c2 a4 w3", "32x32 c2 a4 w8"]
    for point in document["points"]:  # each point is the compile at its own width
        config = CompileConfig(weight_bits=point["weight_bits"], rows=32, cols=32, adc_bits=4)
        assert point["accuracy"] == pytest.approx(_agreement_with_onnxruntime(config), abs=1e-4)  # rounded
    assert document["points"][0]["energy_j"] < document["points"][1]["energy_j"]


def test_activation_widths_as_a_grid_axis(tmp_path):
    assert _sweep(tmp_path / "a", "--crossbar", "32x32", "--adc-bits", "4", "--weight-bits", "4,8",
                  "--activation-bits", "3,8", "--jobs", "2") == 0
    document = json.loads((tmp_path / "a" / "sweep.json").read_text())
    assert document["grid"]["activation_bits"] == [3, 8] and "activation_bits" not in document["fixed"]
    assert [p["label"] for p in document["points"]] == [
        "32x32 c2 a4 w4 act3", "32x32 c2 a4 w4 act8", "32x32 c2 a4 w8 act3", "32x32 c2 a4 w8 act8"]
    for point in document["points"]:  # each point is the compile at its own widths
        config = CompileConfig(weight_bits=point["weight_bits"], activation_bits=point["activation_bits"],
                               rows=32, cols=32, adc_bits=4)
        assert point["accuracy"] == pytest.approx(_agreement_with_onnxruntime(config), abs=1e-4)  # rounded
    energy = {(p["weight_bits"], p["activation_bits"]): p["energy_j"] for p in document["points"]}
    assert energy[4, 3] < energy[4, 8] and energy[8, 3] < energy[8, 8]  # fewer read cycles


def test_a_failing_point_leaves_nothing(tmp_path, capsys):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not an onnx model\xff" * 8)
    out = tmp_path / "out"
    assert main(["sweep", str(garbage), "--calibration", CALIBRATION, "-o", str(out), "-q",
                 "--crossbar", "32x32,64x64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spintronc: error: ") and err.count("\n") == 1 and "garbage.onnx" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.onnx"]


@pytest.mark.slow
def test_full_grid(tmp_path):
    out = tmp_path / "out"
    assert _sweep(out, "--crossbar", "64x64,128x128,256x256", "--adc-bits", "4,6,8", "--cell-bits", "1,2") == 0
    points = json.loads((out / "sweep.json").read_text())["points"]
    assert len(points) == 18
    by_key = {(p["crossbar"], p["cell_bits"], p["adc_bits"]): p for p in points}
    for crossbar in ("64x64", "128x128", "256x256"):
        for cell in (1, 2):
            energies = [by_key[crossbar, cell, adc]["energy_j"] for adc in (4, 6, 8)]
            assert energies == sorted(energies)  # a finer ADC costs more per conversion
    front = [p for p in points if p["pareto"]]
    assert front and all(0.05 <= p["pj_per_mac"] <= 20 for p in points)
    best = max(p["accuracy"] for p in points)
    assert any(p["accuracy"] == best for p in front)
