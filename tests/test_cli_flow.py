"""The README's main job and the bundle contract, through the real CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits_mlp.onnx"
CALIBRATION = ROOT / "examples" / "digits_calibration.npy"
INPUTS = ROOT / "examples" / "digits_inputs.npy"


def spintronc(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "spintron_nn.tools.spintronc", *map(str, args)],
        capture_output=True, text=True, cwd=cwd,
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "digits"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION)
    assert result.returncode == 0, result.stderr
    return out, result


def test_compile_writes_a_complete_bundle(bundle):
    out, result = bundle
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("float.mlir", "float.npz", "design.mlir", "design.npz", "reference_inputs.npz"):
        assert name in manifest["files"], name
    assert manifest["config"]["adc_bits"] == 6 and manifest["inputs"] == ["pixels"]
    # The summary states the tile count and the accuracy cost of the ADC.
    assert "tiles: 2" in result.stdout
    assert "ADC cost (agreement points)" in result.stdout
    # No stray temporary folders beside the bundle.
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits"]


def test_run_sim_matches_python_api_and_is_deterministic(bundle, tmp_path):
    out, _ = bundle
    y1, y2 = tmp_path / "y1.npy", tmp_path / "y2.npy"
    for y in (y1, y2):
        result = spintronc("run", out, "--input", INPUTS, "--output", y, "--backend", "sim")
        assert result.returncode == 0, result.stderr
    assert y1.read_bytes() == y2.read_bytes()
    import spintron_nn as sn

    design = sn.load(out)
    expected = design.run(np.load(INPUTS), backend="sim")[0]
    np.testing.assert_array_equal(np.load(y1), expected)
    # The float backend of the bundle is the imported graph (onnxruntime oracle).
    import onnxruntime as ort

    session = ort.InferenceSession(str(EXAMPLE), providers=["CPUExecutionProvider"])
    ref = session.run(None, {"pixels": np.load(INPUTS)})[0]
    got = design.run(np.load(INPUTS), backend="float")[0]
    assert np.max(np.abs(got - ref)) <= 1e-4 * (1 + np.max(np.abs(ref)))


def test_verify_passes_and_states_bounds(bundle):
    out, _ = bundle
    result = spintronc("verify", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bound" in result.stdout and "top-1 agreement" in result.stdout
    # Logits of a classifier: the RMS error is reported, agreement decides.
    assert "info sim vs float 'logits' relative RMS error" in result.stdout


def test_verify_exit_1_beyond_bound(tmp_path):
    out = tmp_path / "coarse"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION,
                       "--adc-bits", "1", "--crossbar", "16x16", "-q")
    assert result.returncode == 0, result.stderr
    result = spintronc("verify", out, "--min-agreement", "1.0")
    assert result.returncode == 1
    assert "FAIL" in result.stdout


def test_tampered_bundle_is_refused(bundle, tmp_path):
    import shutil

    out, _ = bundle
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "design.mlir").write_text((copy / "design.mlir").read_text() + "\n")
    result = spintronc("run", copy, "--input", INPUTS, "--output", tmp_path / "y.npy")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "changed since compile" in result.stderr
    assert not (tmp_path / "y.npy").exists()


def test_ir_only_bundle_has_no_sim(tmp_path):
    out = tmp_path / "ir"
    assert spintronc("compile", EXAMPLE, "-o", out, "--targets", "ir", "-q").returncode == 0
    assert "design.mlir" in json.loads((out / "manifest.json").read_text())["files"]
    result = spintronc("run", out, "--input", INPUTS, "--output", tmp_path / "y.npy", "--backend", "sim")
    assert result.returncode == 2 and "--targets sim" in result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--crossbar", "8x8"], "crossbar rows"),
        (["--adc-bits", "13"], "ADC bits"),
        (["--targets", "ir,gds"], "unknown target"),
        (["--calibration", "missing.npy"], "no such file"),
        (["--output-bits", "9"], "output bits"),
        (["--output-bits", "1"], "output bits"),
    ],
)
def test_bad_options_leave_nothing(tmp_path, args, words):
    out = tmp_path / "never"
    result = spintronc("compile", EXAMPLE, "-o", out, *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spintronc: error:") and words in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_output_bits_reach_the_bundle_and_the_outputs(tmp_path):
    out = tmp_path / "w4"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION, "--weight-bits", "4",
                       "--activation-bits", "4", "--output-bits", "8")
    assert result.returncode == 0, result.stderr
    assert "W4A4 (8-bit outputs)" in result.stdout
    assert json.loads((out / "manifest.json").read_text())["config"]["output_bits"] == 8
    y = tmp_path / "y.npy"
    assert spintronc("run", out, "--input", INPUTS, "--output", y, "--backend", "sim").returncode == 0
    assert len(np.unique(np.load(y))) > 16  # 4-bit codes would give at most 16 values
    assert "W4A4 (8-bit outputs)" in spintronc("report", out).stdout


def test_facade_convert_and_save(tmp_path):
    from spintron_nn import MTJConfig, SpintronConverter

    mtj = MTJConfig(resistance_high=10e3, resistance_low=5e3, switching_voltage=0.3, cell_area=40e-18)
    design = SpintronConverter(mtj).convert(
        str(EXAMPLE), quantization_bits=8, crossbar_size=128, calibration=np.load(CALIBRATION)
    )
    x = np.load(INPUTS)
    y = design.run(x)[0]
    assert y.shape == (32, 10)
    saved = design.save_design(tmp_path / "kws")
    import spintron_nn as sn

    np.testing.assert_array_equal(sn.load(saved).run(x, backend="sim")[0], y)


def test_state_dict_with_architecture(tmp_path):
    """A .pt state_dict compiles from the CLI when --architecture builds the net."""
    import torch

    arch = tmp_path / "arch.py"
    arch.write_text(
        "import torch\n"
        "def build_model():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))\n"
        "def example_input():\n"
        "    return torch.zeros(1, 8)\n"
    )
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    x = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "bundle"
    result = spintronc("compile", tmp_path / "weights.pt", "--architecture", arch, "-o", out,
                       "--calibration", tmp_path / "x.npy", "--crossbar", "16x16", "-q")
    assert result.returncode == 0, result.stderr
    result = spintronc("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", "--backend", "float")
    assert result.returncode == 0, result.stderr
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, atol=1e-5)


def test_run_rtl_writes_vcd_and_matches_sim(tmp_path):
    out = tmp_path / "rtl"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION,
                       "--targets", "ir,sim,verilog", "-q")
    assert result.returncode == 0, result.stderr
    np.save(tmp_path / "x.npy", np.load(INPUTS)[:2])
    args = ["--input", tmp_path / "x.npy"]
    result = spintronc("run", out, *args, "--output", tmp_path / "rtl.npy", "--backend", "rtl",
                       "--simulator", "icarus", "--vcd", tmp_path / "wave.vcd")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "wave.vcd").read_text().startswith("$date") or "$var" in (tmp_path / "wave.vcd").read_text()
    assert spintronc("run", out, *args, "--output", tmp_path / "sim.npy").returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "rtl.npy"), np.load(tmp_path / "sim.npy"))
    result = spintronc("run", out, *args, "--output", tmp_path / "y.npy", "--vcd", tmp_path / "w.vcd")
    assert result.returncode == 2 and "--backend rtl only" in result.stderr


def test_default_outputs_are_8_bits_and_grouped_tiling_reaches_the_bundle(tmp_path):
    out = tmp_path / "w4"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION, "--weight-bits", "4",
                       "--activation-bits", "4", "--grouped-tiling", "grid", "-q")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["output_bits"] == 8 and config["grouped_tiling"] == "grid"
    assert "grouped convs on the array grid" in spintronc("report", out).stdout
    bad = spintronc("compile", EXAMPLE, "-o", tmp_path / "never", "--grouped-tiling", "packed", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "grouped-tiling" in bad.stderr
    assert not (tmp_path / "never").exists()


def test_facade_layer_quantization_bits_is_the_configs(tmp_path):
    import spintron_nn as sn
    from spintron_nn import SpintronConverter

    calibration = np.load(CALIBRATION)
    converted = SpintronConverter().convert(str(EXAMPLE), quantization_bits=3, activation_bits=4,
                                            layer_quantization_bits={"layer1": 8}, calibration=calibration)
    config = sn.CompileConfig(weight_bits=3, activation_bits=4, layer_weight_bits={"layer1": 8})
    direct = sn.compile(str(EXAMPLE), config, calibration=calibration)
    x = np.load(INPUTS)
    np.testing.assert_array_equal(converted.run(x)[0], direct.run(x, backend="sim")[0])
    saved = sn.load(converted.save_design(tmp_path / "mixed"))
    assert saved.config.layer_weight_bits == (("layer1", 8),)
