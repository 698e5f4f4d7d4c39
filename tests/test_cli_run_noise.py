"""``spintronc run --backend sim`` with the simulator's device model from the command line."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.backends.sim.noise import NoiseSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits_mlp.onnx"
CALIBRATION = ROOT / "examples" / "digits_calibration.npy"
INPUTS = ROOT / "examples" / "digits_inputs.npy"


def spintronc(*args):
    return subprocess.run([sys.executable, "-m", "spintron_nn.tools.spintronc", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise") / "digits"
    result = spintronc("compile", EXAMPLE, "-o", out, "--calibration", CALIBRATION)
    assert result.returncode == 0, result.stderr
    return out


def test_device_flags_are_the_python_apis_noise(bundle, tmp_path):
    import spintron_nn as sn

    design = sn.load(bundle)
    x = np.load(INPUTS)
    flags = ("--conductance-variation", "0.15", "--read-noise", "0.3", "--stuck-at-zero", "0.01",
             "--stuck-at-one", "0.01")
    spec = NoiseSpec(conductance_variation=0.15, read_noise=0.3, stuck_at_zero=0.01, stuck_at_one=0.01)
    outputs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        path = tmp_path / f"{name}.npy"
        result = spintronc("run", bundle, "--input", INPUTS, "--output", path, "--seed", seed, *flags)
        assert result.returncode == 0, result.stderr
        outputs[name] = np.load(path)
    np.testing.assert_array_equal(outputs["a"], design.run(x, noise=spec, seed=3)[0])
    np.testing.assert_array_equal(outputs["a"], outputs["b"])  # seeded
    assert not np.array_equal(outputs["a"], outputs["c"])  # another seed, other devices
    assert not np.array_equal(outputs["a"], design.run(x)[0])  # the devices are felt
    verified = tmp_path / "v.npy"
    result = spintronc("run", bundle, "--input", INPUTS, "--output", verified, "--seed", 3, *flags,
                       "--verified-column-sums")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(
        np.load(verified), design.run(x, noise=dataclasses.replace(spec, verified_column_sums=True), seed=3)[0])


@pytest.mark.parametrize("args, words", [
    (("--backend", "rtl", "--conductance-variation", "0.1"), "--conductance-variation applies to --backend sim only"),
    (("--backend", "float", "--stuck-at-zero", "0.1", "--verified-column-sums"),
     "--stuck-at-zero and --verified-column-sums apply to --backend sim only"),
    (("--stuck-at-zero", "1.5"), "--stuck-at-zero must be a probability"),
    (("--conductance-variation", "nan"), "--conductance-variation must be in"),
    (("--read-noise", "-1"), "--read-noise must be in"),
    (("--stuck-at-zero", "0.6", "--stuck-at-one", "0.6"), "--stuck-at-zero + --stuck-at-one must not exceed 1"),
    (("--conductance-variation", "0.1", "--seed", "-1"), "--seed must be in 0..2**64-1"),
])
def test_bad_device_flags_are_one_line_and_write_nothing(bundle, tmp_path, args, words):
    output = tmp_path / "y.npy"
    result = spintronc("run", bundle, "--input", INPUTS, "--output", output, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("spintronc: error:") and len(result.stderr.strip().splitlines()) == 1
    assert words in result.stderr, result.stderr
    assert not output.exists()
