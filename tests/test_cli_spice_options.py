"""``spintronc run --backend spice`` options (--corner, --wire-resistance,
--ideal-devices, --device-variation) through the CLI, in-process on a
32->6 Gemm+Relu so the nodal solves stay fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.tools import spintronc

RNG = np.random.default_rng(20261130)
ROWS, COLS = 32, 6


def _gemm_relu_model() -> onnx.ModelProto:
    weight = numpy_helper.from_array(RNG.standard_normal((COLS, ROWS)).astype(np.float32), "w")
    bias = numpy_helper.from_array(RNG.standard_normal(COLS).astype(np.float32), "b")
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["y"])]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", ROWS])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", COLS])],
        [weight, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """model.onnx, x.npy (4 samples) and a compiled bundle/."""
    root = tmp_path_factory.mktemp("spice_cli")
    onnx.save(_gemm_relu_model(), root / "model.onnx")
    np.save(root / "calib.npy", RNG.standard_normal((32, ROWS)).astype(np.float32))
    np.save(root / "x.npy", RNG.standard_normal((4, ROWS)).astype(np.float32))
    assert spintronc.main(["compile", str(root / "model.onnx"), "-o", str(root / "bundle"),
                           "--calibration", str(root / "calib.npy"), "-q"]) == 0
    return root


def run(work: Path, output: Path, *flags: str) -> np.ndarray:
    argv = ["run", str(work / "bundle"), "--input", str(work / "x.npy"), "--output", str(output), *flags]
    assert spintronc.main(argv) == 0
    return np.load(output)


def expect_error(capsys, argv: list[str], *words: str) -> None:
    """Exit 2 with one ``spintronc: error:`` line naming ``words``."""
    capsys.readouterr()
    try:
        status = spintronc.main(argv)
    except SystemExit as exc:  # argparse's usage errors exit from inside
        status = exc.code
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("spintronc: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]


def test_ideal_devices_equal_the_sim_backend(work, tmp_path):
    sim = run(work, tmp_path / "sim.npy", "--backend", "sim")
    ideal = run(work, tmp_path / "ideal.npy", "--backend", "spice", "--ideal-devices")
    np.testing.assert_array_equal(ideal, sim)


def test_flags_reach_the_analog_run(work, tmp_path):
    """Each flag gives what the Python API gives for the same option."""
    import spintron_nn as sn

    design = sn.load(work / "bundle")
    x = np.load(work / "x.npy")
    cli = run(work, tmp_path / "y.npy", "--backend", "spice", "--corner", "ss", "--wire-resistance", "40",
              "--device-variation", "--seed", "3")
    api = design.run(x, backend="spice", corner="ss", wire_resistance=40.0, variation=True, seed=3)[0]
    np.testing.assert_array_equal(cli, api)


def test_wire_resistance_changes_the_result(work, tmp_path):
    # 1e4 ohm per segment against ~kOhm cells: a large IR drop along 32 rows.
    no_wires = run(work, tmp_path / "a.npy", "--backend", "spice", "--wire-resistance", "0")
    heavy = run(work, tmp_path / "b.npy", "--backend", "spice", "--wire-resistance", "1e4")
    assert not np.array_equal(no_wires, heavy)


def test_device_variation_is_seeded(work, tmp_path):
    first = run(work, tmp_path / "a.npy", "--backend", "spice", "--device-variation", "--seed", "1")
    again = run(work, tmp_path / "b.npy", "--backend", "spice", "--device-variation", "--seed", "1")
    other = run(work, tmp_path / "c.npy", "--backend", "spice", "--device-variation", "--seed", "2")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("flags, words", [
    (["--backend", "sim", "--corner", "ff"], ["--corner", "--backend spice only"]),
    (["--backend", "rtl", "--device-variation", "--ideal-devices"],
     ["--ideal-devices", "--device-variation", "--backend spice only"]),
    (["--corner", "tt"], ["--corner", "--backend spice only"]),  # default backend is sim
    (["--backend", "sim", "--wire-resistance", "0"], ["--wire-resistance", "--backend spice only"]),  # 0.0 == False
    (["--backend", "spice", "--simulator", "icarus"], ["--simulator", "--backend rtl only"]),
    (["--backend", "spice", "--wire-resistance", "2e4"], ["--wire-resistance", "range"]),
    (["--backend", "spice", "--wire-resistance", "-1"], ["--wire-resistance", "range"]),
    (["--backend", "spice", "--wire-resistance", "nan"], ["--wire-resistance", "range"]),
    (["--backend", "spice", "--wire-resistance", "ohm"], ["--wire-resistance"]),
    (["--backend", "spice", "--corner", "xx"], ["--corner", "xx"]),
    (["--backend", "spice", "--ideal-devices", "--corner", "ff"], ["--ideal-devices", "--corner"]),
    (["--backend", "spice", "--device-variation", "--seed", "-1"], ["--seed", "0..2**64-1"]),
])
def test_misused_flags_are_one_line_errors(capsys, work, tmp_path, flags, words):
    argv = ["run", str(work / "bundle"), "--input", str(work / "x.npy"), "--output", str(tmp_path / "y.npy"),
            *flags]
    expect_error(capsys, argv, *words)
    assert not (tmp_path / "y.npy").exists()


def test_spice_flags_on_a_model_file_are_refused(capsys, work, tmp_path):
    argv = ["run", str(work / "model.onnx"), "--input", str(work / "x.npy"), "--output", str(tmp_path / "y.npy"),
            "--backend", "float", "--wire-resistance", "10"]
    expect_error(capsys, argv, "--wire-resistance", "--backend spice only")


def test_progress_names_every_tile_solved(work):
    """The run command passes a progress callback on a terminal: one line per tile solve."""
    from spintron_nn import load
    from spintron_nn.ir import spin

    design = load(work / "bundle")
    messages: list[str] = []
    x = np.load(work / "x.npy")
    np.testing.assert_array_equal(design.run(x, backend="spice", ideal=True, progress=messages.append)[0],
                                  design.run(x, backend="sim")[0])
    tiles = [op for op in design.spin_module.walk() if isinstance(op, spin.CrossbarTileOp)]
    assert len(messages) == len(tiles) and all("4 input vectors" in m for m in messages)
