"""``spintronc compile --targets report`` and ``spintronc report OUT/``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spintron_nn.backends.report.formatting import si
from spintron_nn.tools.spintronc import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODEL = str(EXAMPLES / "digits_mlp.onnx")
CALIBRATION = str(EXAMPLES / "digits_calibration.npy")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "bundle"
    assert main(["compile", MODEL, "-o", str(out), "--calibration", CALIBRATION,
                 "--targets", "ir,sim,report", "-q"]) == 0
    return out


def test_report_is_a_default_target_and_without_calibration_has_no_accuracy(tmp_path):
    out = tmp_path / "default"
    with pytest.warns(UserWarning, match="no calibration data"):
        assert main(["compile", MODEL, "-o", str(out), "-q"]) == 0
    assert (out / "report.html").is_file()
    report = json.loads((out / "report.json").read_text())
    assert set(report["accuracy"].values()) == {None}
    assert report["spintronic"]["total"]["energy_j"]["total"] > 0


def test_compile_writes_report_files_listed_in_the_manifest(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {"report.json", "report.html"} <= set(manifest["files"])
    report = json.loads((bundle / "report.json").read_text())
    assert report["source"] == MODEL and report["config"]["targets"] == ["ir", "sim", "report"]
    # tiles are priced at their programmed levels: the mean-level assumption is not used (review)
    used = {parameter["name"] for parameter in report["parameters"]}
    assert "crossbar.mean_level_fraction" not in used and "crossbar.read_time" in used


def test_report_prints_one_row_per_layer_and_the_totals(bundle, capsys):
    assert main(["report", str(bundle)]) == 0
    out = capsys.readouterr().out
    report = json.loads((bundle / "report.json").read_text())
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for layer in report["spintronic"]["layers"]:
        assert si(layer["energy_j"]["total"], "J") in rows[layer["name"]]
    total = report["spintronic"]["total"]
    assert si(total["energy_j"]["total"], "J") in rows["TOTAL"]
    assert f"{report['comparison']['total']['energy_ratio']:.3g}" in rows["TOTAL"].split()[-1]


def test_report_without_report_json_computes_the_same_report(bundle, tmp_path, capsys):
    plain = tmp_path / "plain"
    assert main(["compile", MODEL, "-o", str(plain), "--calibration", CALIBRATION, "--targets", "ir,sim", "-q"]) == 0
    assert not (plain / "report.json").exists()
    assert main(["report", str(plain), "--json"]) == 0
    computed = json.loads(capsys.readouterr().out)
    written = json.loads((bundle / "report.json").read_text())
    assert computed["config"].pop("targets") == ["ir", "sim"]
    written["config"].pop("targets")
    assert computed == written


def test_report_names_parameter_overrides(tmp_path, capsys):
    config = tmp_path / "cfg.toml"
    config.write_text("[read]\nv_read = 0.15\n")
    out = tmp_path / "bundle"
    assert main(["compile", MODEL, "-o", str(out), "--calibration", CALIBRATION, "--mtj-config", str(config), "-q"]) == 0
    assert main(["report", str(out)]) == 0
    from spintron_nn.energy.params import load_parameters

    shipped = load_parameters()["read.v_read"].value
    assert f"parameter override: read.v_read = 0.15 V (shipped {shipped:g}, from {config})" in capsys.readouterr().out


def _fails(argv, capsys, match: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spintronc: error: ") and match in err, err


def test_bad_bundles_are_one_line_errors(bundle, tmp_path, capsys):
    _fails(["report", str(tmp_path / "missing")], capsys, "no such bundle")
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    (broken / "report.json").write_text("{not json")
    _fails(["report", str(broken)], capsys, "unreadable report")
    (broken / "report.json").write_text(json.dumps({"schema_version": 99}))
    _fails(["report", str(broken)], capsys, "schema version 99")


def test_a_float_only_bundle_has_no_report(tmp_path, capsys):
    out = tmp_path / "ir_only"
    assert main(["compile", MODEL, "-o", str(out), "--targets", "ir", "-q"]) == 0
    _fails(["report", str(out)], capsys, "needs a crossbar design")


def test_report_without_the_verilog_target_has_no_rtl_section(bundle):
    report = json.loads((bundle / "report.json").read_text())
    assert report["rtl"] is None
    assert "RTL synthesis" not in (bundle / "report.html").read_text()
