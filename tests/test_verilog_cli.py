"""The verilog target through the CLI: bundle contents, the Makefile's
testbench, ``run --backend rtl`` and ``verify``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def spintronc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spintron_nn.tools.spintronc", *args],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "digits"
    result = spintronc("compile", str(ROOT / "examples" / "digits_mlp.onnx"), "-o", str(out), "-q",
                       "--calibration", str(ROOT / "examples" / "digits_calibration.npy"),
                       "--targets", "ir,sim,verilog")
    assert result.returncode == 0, result.stderr
    return out


def test_bundle_holds_rtl_testbench_vectors_and_makefile(bundle_dir):
    folder = bundle_dir / "verilog"
    for name in ("spintron_top.v", "spin_tile.v", "spin_crossbar_macro.v", "spintron_tb.sv",
                 "spintron_handshake_sva.sv", "inputs.hex", "expected.hex", "Makefile", "rtl.json"):
        assert (folder / name).is_file(), name
    info = json.loads((folder / "rtl.json").read_text())
    assert info["n_in"] == 64 and info["n_out"] == 10 and info["vectors"] > 0


def test_makefile_testbench_passes_with_icarus(bundle_dir):
    result = subprocess.run(["make", "-s", "icarus"], cwd=bundle_dir / "verilog", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    vectors = json.loads((bundle_dir / "verilog" / "rtl.json").read_text())["vectors"]
    assert result.stdout.count(": PASS cycles=") == vectors and f"ALL PASS: {vectors} vectors" in result.stdout


def test_run_backend_rtl_equals_sim(bundle_dir, tmp_path):
    x = np.random.default_rng(11).uniform(0, 1, size=(3, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outputs = {}
    for backend, extra in (("sim", []), ("rtl", ["--simulator", "icarus"])):
        result = spintronc("run", str(bundle_dir), "--input", str(tmp_path / "x.npy"),
                           "--output", str(tmp_path / f"{backend}.npy"), "--backend", backend, *extra)
        assert result.returncode == 0, result.stderr
        outputs[backend] = np.load(tmp_path / f"{backend}.npy")
    assert outputs["rtl"].dtype == outputs["sim"].dtype
    np.testing.assert_array_equal(outputs["rtl"], outputs["sim"])


def test_bad_simulator_is_a_one_line_error(bundle_dir, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 64), np.float32))
    result = spintronc("run", str(bundle_dir), "--input", str(tmp_path / "x.npy"), "--output",
                       str(tmp_path / "y.npy"), "--backend", "rtl", "--simulator", "ghdl")
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_verify_includes_rtl_vs_sim(bundle_dir):
    result = spintronc("verify", str(bundle_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rtl vs sim 'logits' equal elements (bit-exact)" in result.stdout
